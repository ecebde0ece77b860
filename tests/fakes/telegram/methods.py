"""The Bot API methods the bot calls, each checked the way Telegram checks it.

getMe, getUpdates (long polling: offsets confirm and drop, one poll at a time, 409 beside a webhook), setWebhook
(https only, a valid secret token), deleteWebhook, sendMessage, sendPhoto and sendDocument (4,096 / 1,024 UTF-16 units
after HTML parsing, 50 MB uploads, inline keyboards within their limits), answerCallbackQuery and getFile (20 MB
downloads); editMessageText, editMessageReplyMarkup and deleteMessage are in changes.py. Any other method is not
served: the server answers 404, as Telegram answers a method it does not know, so a bot that starts calling
something new fails loudly here until the fake learns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..faults import UploadedFile
from .changes import MAX_TEXT, MessageChanges
from .entities import utf16_len
from .wire import ApiError, bad, float_param, int_param, truthy

MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024

SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
"""The methods the bot delivers with: what a block by the user refuses and Telegram's flood limits count."""

_SENT_MEDIA = ("photo", "document")
"""What the bot sends besides text (sendPhoto, sendDocument)."""

_DEFAULT_ALLOWED = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
        "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
        "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
        "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
        "chat_boost", "removed_chat_boost",
    }
)  # fmt: skip
"""Update types delivered when allowed_updates is not set (Telegram leaves out chat_member & reactions)."""

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


class BotApiMethods(MessageChanges):
    """The handlers of the methods the bot calls, by name; each takes the request's parameters."""

    def _handler(self, method: str) -> Callable[[dict[str, Any]], Awaitable[Any]] | None:
        """The handler of a method (names compare case-insensitively, as the Bot API does), None if not served."""
        name = method.lower()
        if name.startswith("send") and name[len("send") :] in _SENT_MEDIA:
            return functools.partial(self._send_media, name[len("send") :])
        handlers: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "getfile": self._get_file,
            "answercallbackquery": self._answer_callback_query,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
        }
        return handlers.get(name)

    # -- updates ---------------------------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = set(self.allowed_updates) if self.allowed_updates else _DEFAULT_ALLOWED
        batch = sorted(self._redeliver, key=lambda u: u["update_id"])
        batch += [u for u in self._pending if _update_type(u) in allowed]
        return batch[:limit]

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int_param(params.get("offset"))
        limit = min(100, max(1, int_param(params.get("limit"), 100) or 100))
        timeout = float_param(params.get("timeout"), 0.0)
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = list(params["allowed_updates"]) or None
        if offset is not None:
            self.confirmed_offset = offset
            if offset > 0:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            elif offset < 0:
                self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # a poll that is still waiting is terminated with 409, as Telegram does
        deadline = time.monotonic() + timeout
        while True:
            batch = self._deliverable(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._stopping.is_set():
                break
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self.webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        self._redeliver = [u for u in self._redeliver if not any(u is b for b in batch)]
        result = [copy.deepcopy(u) for u in batch]
        self.delivered_update_ids.extend(u["update_id"] for u in result)
        return result

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise bad("secret token contains unallowed characters")
        if truthy(params.get("drop_pending_updates")):
            self._pending.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = list(allowed) or None
        self.webhook = {"url": url, "secret_token": secret}
        self._notify()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """What Telegram says of the webhook (check-config --online asks): its URL, what waits, the last error."""
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        for key in ("last_error_date", "last_error_message"):
            if self.webhook and key in self.webhook:
                info[key] = self.webhook[key]
        return info

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if truthy(params.get("drop_pending_updates")):
            self._pending.clear()
        self.webhook = None
        return True

    # -- sending -----------------------------------------------------------------------------------

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode") or None
        if not text:
            raise bad("message text is empty")
        visible, entities = self._render(text, parse_mode, params.get("entities"))
        if not visible.strip():
            raise bad("message text is empty")
        if utf16_len(visible) > MAX_TEXT:
            raise bad("message is too long")
        message = self._outgoing(chat_id, params)
        message["text"] = visible
        if entities:
            message["entities"] = entities
        if (markup := self._inline_markup(params.get("reply_markup"))) is not None:
            message["reply_markup"] = markup
        record = {
            "kind": "text",
            "text": text,
            "parse_mode": parse_mode,
            "visible_text": visible,
            "entities": entities,
            "params": params,
        }
        return self._store_sent(chat_id, message, record)

    async def _send_media(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        value = params.get(kind)
        if isinstance(value, UploadedFile):
            if not value.content:
                raise bad("file must be non-empty")
            if len(value.content) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            file_name = value.filename if kind == "document" else None
            record = self._register_file(kind, value.content, file_name=file_name, mime_type=value.content_type)
            filename, content, mime_type = value.filename, value.content, value.content_type
        elif isinstance(value, str) and value:  # a file_id (a URL, which the bot never sends, is no file_id here)
            record = self.files.get(value)
            if record is None:
                raise bad("wrong file identifier/HTTP URL specified")
            filename, content, mime_type = record["file_name"], record["content"], record["mime_type"]
        else:
            raise bad(f"there is no {kind} in the request")
        caption = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        visible_caption: str | None = None
        entities: list[dict[str, Any]] = []
        if caption:
            visible_caption, entities = self._render(str(caption), parse_mode, params.get("caption_entities"))
            if utf16_len(visible_caption) > MAX_CAPTION:
                raise bad("message caption is too long")
        message = self._outgoing(chat_id, params)
        ref = self._file_ref(record)
        if kind == "photo":
            message["photo"] = [{**ref, "width": 1280, "height": 960}]
        else:
            message["document"] = {"file_name": filename, "mime_type": mime_type, **ref}
        if visible_caption:
            message["caption"] = visible_caption
            if entities:
                message["caption_entities"] = entities
        out = {
            "kind": kind,
            "text": None,
            "caption": caption,
            "parse_mode": parse_mode,
            "visible_caption": visible_caption,
            "entities": entities,
            "filename": filename,
            "content": content,
            "mime_type": mime_type,
            "file_id": record["file_id"],
            "params": params,
        }
        return self._store_sent(chat_id, message, out)

    def _outgoing(self, chat_id: int | str, params: dict[str, Any]) -> dict[str, Any]:
        """Message skeleton for something the bot sends, with reply validation like Telegram's."""
        reply: dict[str, Any] | None = None
        rp = params.get("reply_parameters")
        reply_id = (
            int_param(rp.get("message_id")) if isinstance(rp, dict) else int_param(params.get("reply_to_message_id"))
        )
        allow_missing = truthy(rp.get("allow_sending_without_reply")) if isinstance(rp, dict) else False
        allow_missing = allow_missing or truthy(params.get("allow_sending_without_reply"))
        if reply_id is not None:
            reply = self._find_message(chat_id, reply_id)
            if reply is None and not allow_missing:
                raise bad("message to be replied not found")
        message: dict[str, Any] = {
            "message_id": 0,
            "from": dict(self.bot_user),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        if reply is not None:
            message["reply_to_message"] = {k: v for k, v in reply.items() if k != "reply_to_message"}
        return message

    # -- buttons and files -------------------------------------------------------------------------

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        self._callback_ids.discard(query_id)  # a query is answered once
        self.callback_answers.append(
            {"callback_query_id": query_id, "text": params.get("text"), "show_alert": truthy(params.get("show_alert"))}
        )
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self.files.get(str(params.get("file_id") or ""))
        if record is None:
            raise bad("invalid file_id")
        if record["file_size"] > MAX_DOWNLOAD:
            raise bad("file is too big")
        return {
            "file_id": record["file_id"],
            "file_unique_id": record["file_unique_id"],
            "file_size": record["file_size"],
            "file_path": record["file_path"],
        }
