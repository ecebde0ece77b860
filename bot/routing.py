"""Which category an inquiry belongs to, from its words: pure, so it is tested without Slack or a database."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config import Category


def categorize(text: str, categories: Mapping[str, Category], default: str | None = None) -> str | None:
    """The first category (in config order) with a keyword contained in ``text``, else ``default``."""
    folded = text.casefold()
    for key, category in categories.items():
        if any(keyword.casefold() in folded for keyword in category.keywords if keyword):
            return key
    return default


def mention(owner_id: str) -> str:
    """Slack's control sequence that notifies a user (U…/W…) or a user group (S…)."""
    return f"<!subteam^{owner_id}>" if owner_id.startswith("S") else f"<@{owner_id}>"
