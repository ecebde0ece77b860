"""The routing part of a thread's first message: how the category was decided, the first-reply clock, where the
thread came from, and the two menus staff use to change the category or hand the inquiry to someone.

Block Kit limits respected here: an option's text is at most 75 characters, a static_select at most 100 options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.models import Category, Conversation, Status
from bot.slack.text import escape
from bot.store.timers import InquiryState

CATEGORY_SELECT = "conversation_category"
REASSIGN_SELECT = "conversation_reassign"
ROUTING_BLOCK_PREFIX = "routing:"
OPTION_TEXT_LIMIT = 75
MAX_OPTIONS = 100

_SOURCES = {
    "customer": "chosen by the customer",
    "rules": "matched keywords",
    "default": "default category",
    "none": "no rule matched",
}


@dataclass(frozen=True)
class RoutingView:
    """What the first message shows about routing and timing (read from the inquiry state at delivery)."""

    source: str | None = None
    set_by: str | None = None
    due: datetime | None = None
    first_response_seconds: int | None = None
    answered: bool = False
    moved_from: str | None = None  # a permalink to the thread this one continues after a move

    @classmethod
    def of(cls, state: InquiryState | None, moved_from: str | None = None) -> RoutingView:
        if state is None:
            return cls(moved_from=moved_from)
        return cls(
            source=state.category_source,
            set_by=state.category_set_by,
            due=state.first_response_due,
            first_response_seconds=state.first_response_seconds,
            answered=state.first_response_at is not None,
            moved_from=moved_from,
        )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(moment: datetime) -> str:
    """A time every reader sees in their own time zone (Slack's date formatting), with a UTC fallback."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def routing_context(view: RoutingView) -> list[dict[str, Any]]:
    """Context lines: how the category was decided and the first-reply clock; where the thread moved from."""
    if view.source == "staff":
        routed = f"set by <@{view.set_by}>" if view.set_by else "set by staff"
    else:
        routed = _SOURCES.get(view.source or "", "not yet")
    if view.answered:
        reply = "answered"
        if view.first_response_seconds is not None:
            reply += f" after {max(0, view.first_response_seconds) // 60} min (business time)"
    elif view.due is not None:
        reply = f"due {slack_date(view.due)}"
    else:
        reply = "no target"
    lines = [f"*Routing:* {routed}   *First reply:* {reply}"]
    if view.moved_from:
        lines.append(f"Moved here from <{view.moved_from}|the original thread>.")
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": line}]} for line in lines]


def routing_actions(conversation: Conversation, categories: Mapping[str, Category]) -> dict[str, Any] | None:
    """The category menu and the person picker, for an open conversation."""
    if conversation.status != Status.OPEN:
        return None
    elements: list[dict[str, Any]] = []
    options = [
        {"text": {"type": "plain_text", "text": _cut(category.label, OPTION_TEXT_LIMIT)}, "value": key}
        for key, category in list(categories.items())[:MAX_OPTIONS]
    ]
    if options:
        menu: dict[str, Any] = {
            "type": "static_select",
            "action_id": CATEGORY_SELECT,
            "placeholder": {"type": "plain_text", "text": "Change category"},
            "options": options,
        }
        current = next((o for o in options if o["value"] == conversation.category), None)
        if current is not None:  # a retired category is not an option: the menu then shows its placeholder
            menu["initial_option"] = current
        elements.append(menu)
    people: dict[str, Any] = {
        "type": "users_select",
        "action_id": REASSIGN_SELECT,
        "placeholder": {"type": "plain_text", "text": "Hand to…"},
    }
    if conversation.holder:
        people["initial_user"] = conversation.holder
    elements.append(people)
    return {"type": "actions", "block_id": f"{ROUTING_BLOCK_PREFIX}{conversation.id}", "elements": elements}


def moved_notice(channel: str, link: str | None, category_label: str) -> str:
    """What the original thread says once the inquiry moved (``category_label`` is escaped here)."""
    place = f"<{link}|its new thread> in <#{channel}>" if link else f"<#{channel}>"
    return f":arrow_right: This inquiry ({escape(category_label)}) moved to {place}; continue there."
