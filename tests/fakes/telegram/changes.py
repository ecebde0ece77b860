"""How the bot changes what it sent: editMessageText, editMessageReplyMarkup and deleteMessage.

Each is checked as Telegram checks it: a bot edits or deletes its own messages for 48 hours only, an edit that
changes nothing is refused ("message is not modified"), a deleted message cannot be edited or deleted again.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from .entities import ParseError, parse_entities, utf16_len
from .state import TelegramState
from .wire import bad, int_param

MAX_TEXT = 4096
EDIT_WINDOW = 48 * 3600  # a bot may edit or delete its own messages for 48 hours

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


class MessageChanges(TelegramState):
    """Edits and deletions of the bot's own messages, and the parameter checks the sending methods share."""

    @staticmethod
    def _required_chat(params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad("chat_id is empty")
        return chat_id

    @staticmethod
    def _render(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[dict[str, Any]]]:
        if entities:
            return text, list(entities) if isinstance(entities, list) else []
        if parse_mode and parse_mode.lower() != "html":  # the bot never sends Markdown: refused, never passed through
            raise bad(f"unsupported parse_mode {parse_mode!r} (this fake parses HTML only)")
        try:
            return parse_entities(text, parse_mode)
        except ParseError as exc:
            raise bad(f"can't parse entities: {exc}") from None

    @staticmethod
    def _inline_markup(markup: Any) -> dict[str, Any] | None:
        """An inline keyboard checked as Telegram does (callback_data 1-64 bytes, text non-empty); None if absent."""
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                    raise bad("BUTTON_TEXT_EMPTY")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad("BUTTON_DATA_INVALID")
        return {"inline_keyboard": copy.deepcopy(rows)}

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        message_id = int_param(params.get("message_id"))
        record = next((r for r in self._sent.get(chat_id, []) if r["message_id"] == message_id), None)
        if record is None or record.get("deleted"):
            raise bad("message to edit not found")
        markup = self._inline_markup(params.get("reply_markup"))
        message = record["message"]
        if markup == message.get("reply_markup"):
            raise bad(_NOT_MODIFIED)
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self.markup_edits.append({"chat_id": chat_id, "message_id": message_id, "reply_markup": markup})
        return message

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        message_id = int_param(params.get("message_id"))
        record = next((r for r in self._sent.get(chat_id, []) if r["message_id"] == message_id), None)
        if record is None or record.get("deleted"):
            raise bad("message to edit not found")
        if record["kind"] != "text":
            raise bad("there is no text in the message to edit")
        if time.time() - record["message"]["date"] > EDIT_WINDOW:
            raise bad("message can't be edited")
        text = str(params.get("text") or "")
        if not text:
            raise bad("message text is empty")
        parse_mode = params.get("parse_mode") or None
        visible, entities = self._render(text, parse_mode, params.get("entities"))
        if not visible.strip():
            raise bad("message text is empty")
        if utf16_len(visible) > MAX_TEXT:
            raise bad("message is too long")
        if visible == record["visible_text"] and entities == record["entities"]:
            raise bad(_NOT_MODIFIED)
        record.setdefault("versions", [record["visible_text"]]).append(visible)
        record.update({"text": text, "parse_mode": parse_mode, "visible_text": visible, "entities": entities})
        message = record["message"]
        message["text"] = visible
        message["edit_date"] = int(time.time())
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        self.edits.append({"chat_id": chat_id, "message_id": message_id, "text": text, "visible_text": visible})
        return message

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._required_chat(params)
        message_id = int_param(params.get("message_id"))
        found = None if message_id is None else self._find_message(chat_id, message_id)
        if found is None or (chat_id, message_id) in self.deleted:
            raise bad("message to delete not found")
        if time.time() - found["date"] > EDIT_WINDOW:
            raise bad("message can't be deleted for everyone")
        self.deleted.append((chat_id, message_id))
        for record in self._sent.get(chat_id, []):
            if record["message_id"] == message_id:
                record["deleted"] = True
        return True
