"""The first message's controls for how the inquiry waits and which language the customer reads: a status menu
(active, waiting on the customer, on hold for a while) and a language menu, in one actions block
``controls:<conversation id>``. Block Kit limits kept: option texts of at most 75 characters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.i18n import LANGUAGE_NAMES
from bot.domain.models import Conversation, Status
from bot.slack.routing_blocks import slack_date

STATUS_SELECT = "conversation_status"
LANGUAGE_SELECT = "conversation_language"
CONTROLS_PREFIX = "controls:"

_STATUSES = (
    ("active", "Active"),
    ("waiting", "Waiting on the customer"),
    ("hold:60", "On hold for 1 hour"),
    ("hold:240", "On hold for 4 hours"),
    ("hold:1440", "On hold for 1 day"),
    ("hold:4320", "On hold for 3 days"),
    ("hold:10080", "On hold for 1 week"),
)


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def status_note(hold: str | None, until: datetime | None) -> str:
    """What the status line adds while the inquiry waits ("" while it is active)."""
    if hold == "waiting":
        return " · waiting on the customer"
    if hold == "on_hold":
        return f" · on hold until {slack_date(until)}" if until else " · on hold"
    return ""


def controls(conversation: Conversation, hold: str | None, language: str) -> dict[str, Any]:
    """The status menu (an open inquiry only) and the customer's language, showing the current choices."""
    elements: list[dict[str, Any]] = []
    if conversation.status == Status.OPEN:
        options = [_option(v, t) for v, t in _STATUSES]
        menu: dict[str, Any] = {
            "type": "static_select",
            "action_id": STATUS_SELECT,
            "placeholder": {"type": "plain_text", "text": "Set status…"},
            "options": options,
        }
        current = {"waiting": "waiting", None: "active"}.get(hold)
        if current is not None:  # on hold: the menu shows its placeholder; the status line says until when
            menu["initial_option"] = next(o for o in options if o["value"] == current)
        elements.append(menu)
    languages = [_option(code, f"Customer reads {name}") for code, name in LANGUAGE_NAMES.items()]
    elements.append(
        {
            "type": "static_select",
            "action_id": LANGUAGE_SELECT,
            "placeholder": {"type": "plain_text", "text": "Customer's language"},
            "options": languages,
            "initial_option": next(o for o in languages if o["value"] == language),
        }
    )
    return {"type": "actions", "block_id": f"{CONTROLS_PREFIX}{conversation.id}", "elements": elements}
