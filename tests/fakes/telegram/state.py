"""What the fake Telegram knows: its bot, the chats, the messages both ways, the files, and the update queue.

`TelegramState` holds it for the parts that act on it (the API methods the bot calls, the update builders tests use,
the server) and offers the views tests read: what a chat was sent, which buttons it shows, what an update held.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from typing import Any

from ..faults import FakeServer
from .wire import chat_key

_FILE_KINDS = {
    # kind: (folder, default extension, default mime type); the bot sends photos and documents, customers also
    # voice notes and stickers
    "photo": ("photos", ".jpg", "image/jpeg"),
    "document": ("documents", "", "application/octet-stream"),
    "voice": ("voice", ".oga", "audio/ogg"),
    "sticker": ("stickers", ".webp", "image/webp"),
}


class TelegramState(FakeServer):
    """The fake's memory, shared by the Bot API methods, the update builders and the server."""

    def __init__(self, *, token: str = "123456:TEST", bot_username: str = "threadbridge_bot") -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "ThreadBridge",
            "username": bot_username,
        }
        self.chats: dict[int | str, dict[str, Any]] = {}
        """Chat objects seen in pushed updates (private chats carry the user's names)."""
        self.files: dict[str, dict[str, Any]] = {}
        """file_id -> {file_id, file_unique_id, file_path, content, file_size, kind, ...}."""
        self.webhook: dict[str, Any] | None = None
        self.webhook_proxy: str | None = None
        self.confirmed_offset: int | None = None
        """The last offset a getUpdates call passed (everything below it was dropped)."""
        self.delivered_update_ids: list[int] = []
        """update_ids in the order getUpdates returned them (a redelivery appears again)."""
        self.allowed_updates: list[str] | None = None
        self.callback_answers: list[dict[str, Any]] = []
        """answerCallbackQuery calls, in order (callback_query_id, text, show_alert)."""
        self.markup_edits: list[dict[str, Any]] = []
        """editMessageReplyMarkup calls that changed a message: chat_id, message_id, reply_markup (None: removed)."""
        self.edits: list[dict[str, Any]] = []
        """editMessageText calls that changed a message: chat_id, message_id, text, visible_text."""
        self.deleted: list[tuple[int | str, int]] = []
        """(chat_id, message_id) of every message the bot deleted."""
        self._callback_ids: set[str] = set()
        self._sent: dict[int | str, list[dict[str, Any]]] = {}
        self._incoming: dict[int | str, dict[int, dict[str, Any]]] = {}
        self._message_ids: dict[int | str, int] = {}
        self._pending: list[dict[str, Any]] = []
        self._redeliver: list[dict[str, Any]] = []
        self._history: dict[int, dict[str, Any]] = {}
        self._last_update_id = 100_000_000
        self._file_seq = itertools.count(1)
        self._poll_generation = 0
        self._changed = asyncio.Event()

    # -- what tests read -----------------------------------------------------------------------

    def sent(self, chat_id: int | str) -> list[dict[str, Any]]:
        """What the bot sent to one chat, in order (text and media records)."""
        return list(self._sent.get(chat_key(chat_id), []))

    def sent_texts(self, chat_id: int | str) -> list[str]:
        """The text messages of one chat as the customer sees them (after HTML parsing)."""
        return [m["visible_text"] for m in self.sent(chat_id) if m["kind"] == "text"]

    def buttons(self, chat_id: int | str) -> list[tuple[int, list[list[dict[str, Any]]]]]:
        """(message_id, inline keyboard rows) of every message in the chat that currently shows buttons."""
        found = []
        for record in self.sent(chat_id):
            markup = record["message"].get("reply_markup") or {}
            if markup.get("inline_keyboard"):
                found.append((record["message_id"], markup["inline_keyboard"]))
        return found

    def backdate(self, chat_id: int | str, message_id: int, seconds: float) -> None:
        """Make a message the bot sent ``seconds`` older, e.g. past the 48 hours a bot may edit or delete it."""
        record = next(r for r in self._sent.get(chat_key(chat_id), []) if r["message_id"] == message_id)
        record["message"]["date"] = record["date"] = int(record["message"]["date"] - seconds)

    def update(self, update_id: int) -> dict[str, Any]:
        """A copy of a pushed update, e.g. to learn the message_id Telegram gave a customer message."""
        return copy.deepcopy(self._history[update_id])

    @property
    def polls_started(self) -> int:
        """How many getUpdates calls have reached the fake (a test waits on it rather than sleeping)."""
        return self._poll_generation

    @property
    def pending_update_ids(self) -> list[int]:
        """Updates queued and not yet confirmed by an offset."""
        return [u["update_id"] for u in self._pending]

    @property
    def redeliveries_waiting(self) -> int:
        """Updates pushed again with push_duplicate that getUpdates has not handed out yet."""
        return len(self._redeliver)

    # -- chats, messages, files, the queue -----------------------------------------------------

    def default_user(self, chat_id: int) -> dict[str, Any]:
        """The customer who writes in `chat_id` when a builder is given no user."""
        return {
            "id": chat_id if chat_id > 0 else 700_000_001,
            "is_bot": False,
            "first_name": "Min",
            "last_name": "Kim",
            "username": "minkim",
            "language_code": "ko",
        }

    def _notify(self) -> None:
        """Wake every long poll (new update, competing poll, webhook change, stop)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _chat(self, chat_id: int | str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """The chat object of `chat_id`: a private chat named after its user, a group (negative ids) or a channel."""
        if chat_id in self.chats:
            return self.chats[chat_id]
        if isinstance(chat_id, int) and chat_id > 0:
            u = user or self.default_user(chat_id)
            chat = {"id": chat_id, "first_name": u.get("first_name", "")}
            for key in ("last_name", "username"):
                if u.get(key):
                    chat[key] = u[key]
            chat["type"] = "private"
        elif isinstance(chat_id, int):
            chat = {
                "id": chat_id,
                "title": "Customers",
                "type": "supergroup" if str(chat_id).startswith("-100") else "group",
            }
        else:
            chat = {"id": -1001000000001, "title": str(chat_id).lstrip("@"), "username": str(chat_id).lstrip("@"),
                    "type": "channel"}  # fmt: skip
        self.chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int | str, wanted: int | None = None) -> int:
        """Message ids count up per chat, shared by both directions (a builder may ask for a given one)."""
        current = self._message_ids.get(chat_id, 0)
        value = wanted if wanted is not None else current + 1
        self._message_ids[chat_id] = max(current, value)
        return value

    def _find_message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """A message of the chat, the customer's or the bot's, e.g. the one a reply points at."""
        if message_id in self._incoming.get(chat_id, {}):
            return self._incoming[chat_id][message_id]
        for record in self._sent.get(chat_id, []):
            if record["message_id"] == message_id:
                return record["message"]
        return None

    def _incoming_message(
        self,
        chat_id: int,
        user: dict[str, Any] | None,
        message_id: int | None,
        date: int | None,
        reply_to: int | None,
    ) -> dict[str, Any]:
        """The skeleton of a customer's message: id, sender, chat, date and the message it replies to."""
        sender = user or self.default_user(chat_id)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id, message_id),
            "from": sender,
            "chat": self._chat(chat_id, sender),
            "date": date or int(time.time()),
        }
        if reply_to is not None:
            target = self._find_message(chat_id, reply_to)
            if target is None:
                raise ValueError(f"no message {reply_to} in chat {chat_id} to reply to")
            message["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        return message

    def _push_message(self, message: dict[str, Any]) -> int:
        chat_id = message["chat"]["id"]
        self._incoming.setdefault(chat_id, {})[message["message_id"]] = message
        return self._enqueue({"message": message})

    def _enqueue(self, body: dict[str, Any]) -> int:
        """Queue an update under the next update_id and wake the long polls; returns the update_id."""
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **copy.deepcopy(body)}
        self._history[update["update_id"]] = copy.deepcopy(update)
        self._pending.append(update)
        self._notify()
        return self._last_update_id

    def _register_file(
        self, kind: str, content: bytes, *, file_name: str | None, mime_type: str | None
    ) -> dict[str, Any]:
        """Keep a file (a customer's or one the bot sent) under a new file_id, downloadable by its file_path."""
        n = next(self._file_seq)
        folder, ext, default_mime = _FILE_KINDS.get(kind, ("documents", "", "application/octet-stream"))
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[-1]
        record = {
            "file_id": f"{'BQACAgUAAxkBAAI' if kind == 'document' else 'AgACAgUAAxkBAAI'}{n:06d}x{kind[:3]}Q",
            "file_unique_id": f"AgAD{n:04d}",
            "file_path": f"{folder}/file_{n}{ext}",
            "content": content,
            "file_size": len(content),
            "kind": kind,
            "file_name": file_name,
            "mime_type": mime_type or default_mime,
        }
        self.files[record["file_id"]] = record
        return record

    @staticmethod
    def _file_ref(record: dict[str, Any]) -> dict[str, Any]:
        return {
            "file_id": record["file_id"],
            "file_unique_id": record["file_unique_id"],
            "file_size": record["file_size"],
        }

    def _store_sent(self, chat_id: int | str, message: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        """Give a message the bot sends its id and keep it, with what the bot asked for, for `sent()` and replies."""
        message["message_id"] = self._next_message_id(chat_id)
        record.update(
            {
                "chat_id": chat_id,
                "message_id": message["message_id"],
                "date": message["date"],
                "reply_to_message_id": (message.get("reply_to_message") or {}).get("message_id"),
                "message": message,
            }
        )
        self._sent.setdefault(chat_id, []).append(record)
        return message
