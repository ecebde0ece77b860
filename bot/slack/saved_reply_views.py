"""The saved replies' modals: search as you type (an input that dispatches on each character, answered with
views.update), the preview filled in for the customer and editable before it is sent, and the form that adds or
edits a reply. Within Block Kit's limits: 10 radio options of 75 characters, inputs of 3,000, titles of 24."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.saved_replies import BODY_CHARS, TITLE_CHARS, VARIABLES
from bot.store.saved_replies import SavedReply

SHORTCUT = "saved_reply"  # the message shortcut's callback_id (config/slack-manifest.yml)
OPEN = "saved_reply_open"  # the button on the thread's first message (value: the conversation id)
SEARCH = "saved_reply_search"  # callback_id of the search modal
SEND = "saved_reply_send"  # callback_id of the preview
SAVE = "saved_reply_save"  # callback_id of the add / edit form
DELETE = "saved_reply_delete"  # callback_id of the deletion's confirmation
QUERY = "saved_reply_query"  # block_id and action_id of the search field
CHOICE = "saved_reply_choice"  # action_id of the results (block_id: CHOICE:<n>, new for every result list)
TEXT = "saved_reply_text"  # block_id and action_id of the preview's text
RESULTS = 10  # radio buttons hold 10 options
_OPTION_CHARS = 75
_LANGUAGES = {"ko": "Korean", "en": "English"}  # staff read English (bot.domain.i18n names them natively)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The modal's own state (private_metadata), {} when it is missing or not ours."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def search_view(conversation_id: int, query: str, found: list[SavedReply], generation: int) -> dict[str, Any]:
    """The search modal: the field, then the matching replies to choose from (or why there is none)."""
    field: dict[str, Any] = {
        "type": "input",
        "block_id": QUERY,
        "dispatch_action": True,
        "optional": True,
        "label": _plain("Search titles and texts"),
        "element": {
            "type": "plain_text_input",
            "action_id": QUERY,
            "placeholder": _plain("환불, refund, delivery…"),
            "dispatch_action_config": {"trigger_actions_on": ["on_character_entered", "on_enter_pressed"]},
            "max_length": 150,
        },
    }
    if query:
        field["element"]["initial_value"] = query
    blocks: list[dict[str, Any]] = [field]
    if found:
        options = [
            {
                "text": _plain(_cut(reply.title, _OPTION_CHARS)),
                "description": _plain(_cut(reply.body_ko or reply.body_en, _OPTION_CHARS)),
                "value": str(reply.id),
            }
            for reply in found[:RESULTS]
        ]
        blocks.append(
            {
                "type": "input",
                "block_id": f"{CHOICE}:{generation}",  # a new list: Slack forgets the old choice
                "label": _plain(f"{len(options)} saved repl{'y' if len(options) == 1 else 'ies'}"),
                "element": {"type": "radio_buttons", "action_id": CHOICE, "options": options},
            }
        )
    else:
        words = f" holds “{_cut(query, 100)}”" if query else " exists yet: add one in the app's Home tab"
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": f"No saved reply{words}."}})
    return {
        "type": "modal",
        "callback_id": SEARCH,
        "title": _plain("Saved replies"),
        "submit": _plain("Preview"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps({"c": conversation_id, "g": generation}),
        "blocks": blocks,
    }


def chosen(values: dict[str, Any]) -> int | None:
    """The reply picked in a search modal's submitted state."""
    for block_id, actions in values.items():
        if block_id.startswith(f"{CHOICE}:"):
            option = (actions.get(CHOICE) or {}).get("selected_option") or {}
            value = option.get("value")
            if isinstance(value, str) and value.isdigit():
                return int(value)
    return None


def choice_block(values: dict[str, Any]) -> str | None:
    return next((b for b in values if b.startswith(f"{CHOICE}:")), None)


def preview_view(
    conversation_id: int, reply: SavedReply, text: str, language: str, customer_language: str
) -> dict[str, Any]:
    """The reply as the customer will read it, editable: sending it posts it in the thread as the staff member's."""
    note = f"In {_LANGUAGES.get(language, language)}"
    if language != customer_language:
        note += f": the customer reads {_LANGUAGES.get(customer_language, customer_language)}, which this reply"
        note += " does not have"
    return {
        "type": "modal",
        "callback_id": SEND,
        "title": _plain("Send a saved reply"),
        "submit": _plain("Send"),
        "close": _plain("Back"),
        "private_metadata": json.dumps({"c": conversation_id, "r": reply.id}),
        "blocks": [
            {"type": "header", "text": _plain(_cut(reply.title, 150))},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": note + "."}]},
            {
                "type": "input",
                "block_id": TEXT,
                "label": _plain("What the customer reads (edit it if you like)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": TEXT,
                    "multiline": True,
                    "max_length": BODY_CHARS,
                    "initial_value": text[:BODY_CHARS],
                },
            },
        ],
    }


def edit_view(reply: SavedReply | None) -> dict[str, Any]:
    """The form that adds a reply (``reply`` None) or edits one."""

    def field(block_id: str, label: str, value: str, *, multiline: bool, limit: int, optional: bool) -> dict:
        element: dict[str, Any] = {
            "type": "plain_text_input", "action_id": block_id, "multiline": multiline, "max_length": limit,
        }  # fmt: skip
        if value:
            element["initial_value"] = value
        return {"type": "input", "block_id": block_id, "optional": optional, "label": _plain(label), "element": element}

    variables = ", ".join("{" + v + "}" for v in VARIABLES)
    return {
        "type": "modal",
        "callback_id": SAVE,
        "title": _plain("Edit saved reply" if reply else "New saved reply"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps({"r": reply.id if reply else None}),
        "blocks": [
            field("title", "Title", reply.title if reply else "", multiline=False, limit=TITLE_CHARS, optional=False),
            field("body_ko", "Korean", reply.body_ko if reply else "", multiline=True, limit=BODY_CHARS,
                  optional=True),
            field("body_en", "English", reply.body_en if reply else "", multiline=True, limit=BODY_CHARS,
                  optional=True),
            field("tags", "Categories or tags (comma-separated)", ", ".join(reply.tags) if reply else "",
                  multiline=False, limit=500, optional=True),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Variables: {variables}"}]},
        ],
    }


def delete_view(reply: SavedReply) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DELETE,
        "title": _plain("Delete saved reply"),
        "submit": _plain("Delete"),
        "close": _plain("Keep it"),
        "private_metadata": json.dumps({"r": reply.id}),
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": f"Delete “{_cut(reply.title, 150)}”? "
             "Messages already sent from it keep saying which reply they were."}},
        ],
    }


def form_values(values: dict[str, Any]) -> dict[str, str | None]:
    """The add / edit form's fields as submitted."""
    keys = ("title", "body_ko", "body_en", "tags")
    return {key: ((values.get(key) or {}).get(key) or {}).get("value") for key in keys}


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (what happened to a reply that is gone)."""
    return {
        "type": "modal",
        "title": _plain(title[:24]),
        "close": _plain("Close"),
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text[:3000]}}],
    }
