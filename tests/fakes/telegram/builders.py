"""The update builders tests use to play a customer: each queues one update as Telegram would deliver it.

A builder returns the update_id; the update waits for getUpdates (or `deliver_webhook`) like a real one, with the
chat, the sender and the message ids Telegram would give it, and files downloadable through getFile.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from .entities import utf16_len
from .state import TelegramState


class UpdateBuilders(TelegramState):
    """push_text, push_photo, ...: a customer writing, editing, tapping a button; push_raw for anything else."""

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        message_id: int | None = None,
        reply_to: int | None = None,
        date: int | None = None,
    ) -> int:
        """Queue a text message from a customer; "/cmd" gets its bot_command entity like Telegram adds."""
        message = self._incoming_message(chat_id, user, message_id, date, reply_to)
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            message["entities"] = [{"offset": 0, "length": utf16_len(command), "type": "bot_command"}]
        return self._push_message(message)

    def push_photo(
        self,
        chat_id: int,
        content: bytes,
        caption: str | None = None,
        *,
        user: dict[str, Any] | None = None,
        message_id: int | None = None,
        width: int = 1280,
        height: int = 960,
    ) -> int:
        """Queue a photo: like Telegram, `photo` lists sizes smallest first; the last holds `content`."""
        message = self._incoming_message(chat_id, user, message_id, None, None)
        thumb = self._register_file("photo", b"\xff\xd8\xff\xe0 thumbnail", file_name=None, mime_type="image/jpeg")
        full = self._register_file("photo", content, file_name=None, mime_type="image/jpeg")
        tw, th = 90, max(1, round(90 * height / max(1, width)))
        message["photo"] = [
            {**self._file_ref(thumb), "width": tw, "height": th},
            {**self._file_ref(full), "width": width, "height": height},
        ]
        if caption is not None:
            message["caption"] = caption
        return self._push_message(message)

    def push_document(
        self,
        chat_id: int,
        content: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        *,
        user: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> int:
        """Queue a document (any file sent "as file")."""
        message = self._incoming_message(chat_id, user, message_id, None, None)
        record = self._register_file("document", content, file_name=file_name, mime_type=mime_type)
        message["document"] = {"file_name": file_name, "mime_type": mime_type, **self._file_ref(record)}
        if caption is not None:
            message["caption"] = caption
        return self._push_message(message)

    def push_voice(
        self,
        chat_id: int,
        content: bytes,
        duration: int = 1,
        *,
        user: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> int:
        """Queue a voice note (OGG/Opus)."""
        message = self._incoming_message(chat_id, user, message_id, None, None)
        record = self._register_file("voice", content, file_name=None, mime_type="audio/ogg")
        message["voice"] = {"duration": duration, "mime_type": "audio/ogg", **self._file_ref(record)}
        return self._push_message(message)

    def push_sticker(
        self,
        chat_id: int,
        content: bytes,
        emoji: str = "👍",
        *,
        user: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> int:
        """Queue a (static, regular) sticker."""
        message = self._incoming_message(chat_id, user, message_id, None, None)
        record = self._register_file("sticker", content, file_name=None, mime_type="image/webp")
        message["sticker"] = {
            "width": 512,
            "height": 512,
            "emoji": emoji,
            "set_name": "ThreadBridgeTest",
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            **self._file_ref(record),
        }
        return self._push_message(message)

    def push_edited_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        edit_date: int | None = None,
    ) -> int:
        """Queue an `edited_message` for a message the customer sent earlier."""
        original = self._incoming.get(chat_id, {}).get(message_id)
        date = original["date"] if original else int(time.time()) - 60
        message = self._incoming_message(chat_id, user, message_id, date, None)
        message["edit_date"] = edit_date or int(time.time())
        message["text"] = text
        self._incoming.setdefault(chat_id, {})[message_id] = message
        return self._enqueue({"edited_message": message})

    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue an update dict as given (an update_id is assigned when missing)."""
        update = copy.deepcopy(update)
        if "update_id" in update:
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        else:
            self._last_update_id += 1
            update = {"update_id": self._last_update_id, **update}
        self._history[update["update_id"]] = copy.deepcopy(update)
        self._pending.append(update)
        self._pending.sort(key=lambda u: u["update_id"])
        self._notify()
        return int(update["update_id"])

    def push_callback(self, chat_id: int, message_id: int, data: str, *, user: dict[str, Any] | None = None) -> int:
        """Queue a `callback_query`: the customer tapped an inline button under a message the bot sent."""
        record = next((r for r in self._sent.get(chat_id, []) if r["message_id"] == message_id), None)
        if record is None:
            raise ValueError(f"the bot sent no message {message_id} to chat {chat_id}")
        query_id = f"{next(self._file_seq):04d}{abs(chat_id) % 10**6:06d}{secrets.token_hex(4)}"
        self._callback_ids.add(query_id)
        query = {
            "id": query_id,
            "from": user or self.default_user(chat_id),
            "message": copy.deepcopy(record["message"]),
            "chat_instance": str(-(abs(chat_id) * 7919 % 10**12)),
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def push_duplicate(self, update_id: int) -> int:
        """Deliver an already queued/delivered update once more with the same id (even if confirmed)."""
        if update_id not in self._history:
            raise ValueError(f"no update {update_id} was ever pushed")
        self._redeliver.append(copy.deepcopy(self._history[update_id]))
        self._notify()
        return update_id
