"""How people appear in the bot's Slack posts: mentioned (notified) by id, and durations as staff read them."""

from __future__ import annotations

from collections.abc import Iterable


def mention(owner_id: str) -> str:
    """Slack's control sequence that notifies a user (U…/W…) or a user group (S…)."""
    return f"<!subteam^{owner_id}>" if owner_id.startswith("S") else f"<@{owner_id}>"


def mentions(owner_ids: Iterable[str]) -> str:
    """Every owner's mention, separated by spaces."""
    return " ".join(mention(owner) for owner in owner_ids)


def place(target: str) -> str:
    """A channel (C…/G…) linked, or a person mentioned."""
    return f"<#{target}>" if target[:1] in "CG" else mention(target)


def who(actor: str | None) -> str:
    """An actor of an event as staff read it: a Slack user is mentioned, a customer is "the customer"."""
    if actor and actor[:1] in "UW" and ":" not in actor:
        return f"<@{actor}>"
    return "the customer" if actor and ":" in actor else "the bot"


def duration(seconds: float) -> str:
    """A short human duration for staff: "4 min", "2 h 5 min", "3 days"."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"
