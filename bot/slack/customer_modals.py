"""The forms staff fill in about a customer: a note, a contact attempt, tags (Slack modals, 24-character titles)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.slack.customer_blocks import CONTACT_VIEW, NOTE_VIEW, TAGS_VIEW, _context
from bot.slack.text import escape
from bot.usecases.customer_records import CONTACT_METHODS


def _modal(callback_id: str, title: str, submit: str, blocks: list[dict[str, Any]], meta: dict[str, Any]) -> dict:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": submit[:24]},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(meta)[:3000],
        "blocks": blocks,
    }


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": optional,
    }


def note_modal(customer_name: str, meta: dict[str, Any]) -> dict[str, Any]:
    return _modal(
        NOTE_VIEW,
        "Add a note",
        "Save",
        [
            _context(f"About {escape(customer_name)}; the team sees it on the profile and finds it with /history."),
            _input(
                "note",
                "Note",
                {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 3000},
            ),
        ],
        meta,
    )


def contact_modal(customer_name: str, meta: dict[str, Any]) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": m}, "value": m} for m in CONTACT_METHODS]
    return _modal(
        CONTACT_VIEW,
        "Log a contact attempt",
        "Save",
        [
            _context(f"With {escape(customer_name)}."),
            _input(
                "method",
                "How",
                {"type": "static_select", "action_id": "method", "options": options, "initial_option": options[0]},
            ),
            _input(
                "outcome",
                "What came of it",
                {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "placeholder": {"type": "plain_text", "text": "no answer; call back Tuesday"},
                    "max_length": 3000,
                },
            ),
        ],
        meta,
    )


def tags_modal(customer_name: str, tags: Sequence[str], meta: dict[str, Any]) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "text",
        "placeholder": {"type": "plain_text", "text": "vip, wholesale, 서울"},
        "max_length": 1500,
    }
    if tags:
        element["initial_value"] = ", ".join(tags)
    return _modal(
        TAGS_VIEW,
        "Tags",
        "Save",
        [
            _context(f"Tags of {escape(customer_name)}, separated by commas."),
            _input("tags", "Tags", element, optional=True),
        ],
        meta,
    )


