"""The website channel as the tests run it: enabled beside Telegram for the team's site, with its secrets."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.connectors.website.connector import WebsiteConnector
from bot.connectors.website.tokens import identity_hash
from tests.conftest import BOT_YAML, Bot, BotFactory
from tests.fakes.visitor import PAGE_ORIGIN, Visitor

TOKEN_SECRET = "test-website-token-secret-0123456789abcdef"
IDENTITY_SECRET = "test-identity-secret-of-the-shop"
WEBSITE_ENV = {"WEBSITE_TOKEN_SECRET": TOKEN_SECRET, "WEBSITE_IDENTITY_SECRET": IDENTITY_SECRET}


def website_yaml(**settings: Any) -> dict[str, Any]:
    section = {"allowed_origins": [PAGE_ORIGIN], **settings}
    # The widget shows who answered beside each reply (Limits.authors): the team's default, named replies.
    return {**BOT_YAML, "replies": {"author": "name"}, "channels": {"telegram": {}, "website": section}}


def website_bot(
    bot_factory: BotFactory, *, yaml: dict[str, Any] | None = None, **settings: Any
) -> AbstractAsyncContextManager[Bot]:
    return bot_factory(bot_yaml=yaml or website_yaml(**settings), **WEBSITE_ENV)


def website(bot: Bot) -> WebsiteConnector:
    connector = bot.rt.connectors["website"]
    assert isinstance(connector, WebsiteConnector)
    return connector


def visitor(bot: Bot, **kwargs: Any) -> Visitor:
    return Visitor(bot.http, bot.rt.url, **kwargs)


def signed_user(user_id: str, name: str = "Kim Mina", email: str = "mina@example.com") -> dict[str, str]:
    """What the team's site puts in the page for a logged-in user (its server computed the hash)."""
    return {"id": user_id, "name": name, "email": email, "hash": identity_hash(IDENTITY_SECRET, user_id)}
