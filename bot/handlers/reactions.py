"""Emoji on a thread's first message act on the inquiry: :eyes: claims it, :white_check_mark: closes it (the YAML's
``reactions`` names them). Reaction events are not interactions, so the staff check the other handlers get from
bot.handlers.access is made here: a reaction by anyone else changes nothing, and the attempt is recorded."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.config.behaviour import Reactions
from bot.handlers.buttons import Whisper
from bot.slack.staff import Access, StaffDirectory
from bot.usecases.conversations import Conversations
from bot.usecases.crm import Customers

log = logging.getLogger(__name__)


def reaction_name(raw: object) -> str:
    """A reaction as the configuration names it: ``+1::skin-tone-2`` is ``+1``."""
    return str(raw or "").split("::", 1)[0].strip(":").lower()


def register(
    app: AsyncApp,
    service: Conversations,
    staff: StaffDirectory,
    customers: Customers,
    config: Reactions,
    whisper: Whisper,
) -> None:
    @app.event("reaction_added")
    async def on_reaction(event: dict[str, Any], context: Any) -> None:
        item = event.get("item") or {}
        user = event.get("user")
        name = reaction_name(event.get("reaction"))
        act = "claim" if name in config.claim else "close" if name in config.close else None
        if act is None or item.get("type") != "message" or not user or user == context.get("bot_user_id"):
            return
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        conversation = await service.by_thread(channel, ts)
        if conversation is None or conversation.thread_ts != ts:  # only the thread's first message acts
            return
        access = await staff.check(str(user))
        if access != Access.STAFF:
            log.info("ignored :%s: on an inquiry by %s (%s)", name, user, access.value)
            await customers.refused(str(user), f"reaction:{name} ({access.value})")
            return
        if act == "close":
            await service.close(conversation.id, str(user))
            return
        outcome = await service.claim(conversation.id, str(user))
        if not outcome.ok and outcome.holder:
            whisper(channel, str(user), f"<@{outcome.holder}> already holds this inquiry.", ts)
