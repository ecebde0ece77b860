"""A local server that speaks the Telegram Bot API, for driving the real python-telegram-bot client.

Point `telegram.Bot(token, base_url=fake.base_url, base_file_url=fake.file_base_url)` (or
`ApplicationBuilder().base_url(...).base_file_url(...)`) at it. Wire format as PTB 22 sends it: POST
form fields (JSON-encoded when not plain strings), multipart/form-data when a file is uploaded.
Answers are `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description"}`, which PTB
maps to BadRequest / Forbidden / RetryAfter / Conflict / InvalidToken / NetworkError.

Text rules are enforced the way Telegram does: 4096 (text) / 1024 (caption) UTF-16 code units
counted after entity parsing, tdlib-style HTML parsing with the same error texts, empty text
refused. Updates are queued for getUpdates (long polling, offsets confirm and drop) or can be
POSTed to a registered webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import secrets
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web

from .faults import Decision, FakeServer, UploadedFile

__all__ = ["FakeTelegram", "ParseError", "parse_entities", "utf16_len"]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024

SEND_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendVideo", "sendSticker",
        "sendAnimation", "sendVideoNote", "sendMediaGroup", "sendLocation", "sendContact", "sendPoll",
        "copyMessage", "forwardMessage", "sendChatAction",
    )
)  # fmt: skip
"""Methods that deliver something to a chat: what a block by the user refuses."""

FLOOD_METHODS = SEND_METHODS - {"sendchataction"}
"""Methods counted by Telegram's flood limits (global_limit / per_chat_limit default to these)."""

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

_JSON_PARAMS = frozenset(
    {
        "entities", "caption_entities", "reply_parameters", "reply_markup", "allowed_updates",
        "link_preview_options", "media", "commands", "reaction", "scope",
    }
)  # fmt: skip

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)  # fmt: skip

_MEDIA = {
    # kind: (folder, default extension, default mime type)
    "photo": ("photos", ".jpg", "image/jpeg"),
    "document": ("documents", "", "application/octet-stream"),
    "voice": ("voice", ".oga", "audio/ogg"),
    "audio": ("music", ".mp3", "audio/mpeg"),
    "video": ("videos", ".mp4", "video/mp4"),
    "sticker": ("stickers", ".webp", "image/webp"),
}

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ParseError(Exception):
    """Entity parsing failed; str() is the text after "Bad Request: can't parse entities: "."""


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# -- entity parsing ----------------------------------------------------------------------------

_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "span": "spoiler", "code": "code", "pre": "pre", "a": "text_link", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}  # fmt: skip


class _Out:
    """Visible text under construction, with its length in UTF-16 units for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.length += utf16_len(s)

    def text(self) -> str:
        return "".join(self.parts)


def _decode_html_entity(text: str, i: int) -> tuple[str, int] | None:
    m = _HTML_ENTITY_RE.match(text, i)
    if not m:
        return None
    name = m.group(1)
    if name[0] == "#":
        try:
            code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            return chr(code), m.end() - i
        except (ValueError, OverflowError):
            return None
    if name in _NAMED:
        return _NAMED[name], m.end() - i
    return None


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """tdlib's HTML rules: only the supported tags, properly nested; stray "<" is an error."""
    out = _Out()
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def offset(idx: int) -> int:
        return len(text[:idx].encode())

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.add(decoded[0])
                i += decoded[1]
                continue
            out.add("&")
            i += 1
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            j = text.find(">", i + 2)
            if j == -1:
                raise ParseError(f"Can't find end tag at byte offset {offset(begin)}")
            name = text[i + 2 : j].strip().lower()
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {offset(begin)}")
            tag, start, attrs = stack[-1]
            if name != tag:
                raise ParseError(
                    f'Unmatched end tag at byte offset {offset(begin)}, expected "</{tag}>", found "</{name}>"'
                )
            stack.pop()
            _close_entity(tag, start, out.length, attrs, stack, entities)
            i = j + 1
            continue
        j = i + 1
        while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "-"):
            j += 1
        name = text[i + 1 : j].lower()
        if name not in _HTML_TYPES:
            raise ParseError(f'Unsupported start tag "{name}" at byte offset {offset(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise ParseError(f"Unclosed start tag at byte offset {offset(begin)}")
            if text[j] == ">":
                j += 1
                break
            k = j
            while k < n and text[k].isascii() and (text[k].isalnum() or text[k] in "-_"):
                k += 1
            attr = text[j:k].lower()
            if not attr:
                raise ParseError(f'Empty attribute name in the tag "{name}" at byte offset {offset(begin)}')
            j = k
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != "=":
                attrs[attr] = ""
                continue
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] in "\"'":
                end = text.find(text[j], j + 1)
                if end == -1:
                    raise ParseError(f"Unclosed start tag at byte offset {offset(begin)}")
                raw, j = text[j + 1 : end], end + 1
            else:
                k = j
                while k < n and not text[k].isspace() and text[k] != ">":
                    k += 1
                raw, j = text[j:k], k
            attrs[attr] = _unescape_attr(raw)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset(begin)}')
        stack.append((name, out.length, attrs))
        i = j
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text(), sorted(entities, key=lambda e: e["offset"])


def _unescape_attr(raw: str) -> str:
    parts: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "&" and (decoded := _decode_html_entity(raw, i)) is not None:
            parts.append(decoded[0])
            i += decoded[1]
        else:
            parts.append(raw[i])
            i += 1
    return "".join(parts)


def _close_entity(
    tag: str,
    start: int,
    end: int,
    attrs: dict[str, str],
    stack: list[tuple[str, int, dict[str, str]]],
    entities: list[dict[str, Any]],
) -> None:
    if end <= start:
        return
    kind = _HTML_TYPES[tag]
    entity: dict[str, Any] = {"offset": start, "length": end - start, "type": kind}
    if tag == "a":
        if not attrs.get("href"):
            return
        entity["url"] = attrs["href"]
    elif tag == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][2]["language"] = language[len("language-") :]
        return
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    entities.append(entity)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl",
}  # fmt: skip


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """MarkdownV2 as Telegram reads it: every reserved character outside an entity needs a "\\"."""
    out = _Out()
    stack: list[tuple[str, int, int]] = []  # kind, start (utf-16), byte offset of the marker
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def offset(idx: int) -> int:
        return len(text[:idx].encode())

    def toggle(kind: str, at: int) -> None:
        if stack and stack[-1][0] == kind:
            _, start, _ = stack.pop()
            if out.length > start:
                entities.append({"offset": start, "length": out.length - start, "type": kind})
        else:
            stack.append((kind, out.length, offset(at)))

    while i < n:
        c = text[i]
        in_code = bool(stack) and stack[-1][0] in ("code", "pre")
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) < 127:
            out.add(text[i + 1])
            i += 2
            continue
        if in_code:
            kind = stack[-1][0]
            if kind == "pre" and text.startswith("```", i):
                toggle("pre", i)
                i += 3
            elif kind == "code" and c == "`":
                toggle("code", i)
                i += 1
            else:
                out.add(c)
                i += 1
            continue
        if c not in _MDV2_RESERVED:
            out.add(c)
            i += 1
            continue
        if c == "*":
            toggle("bold", i)
        elif c == "_":
            if text.startswith("__", i):
                toggle("underline", i)
                i += 1
            else:
                toggle("italic", i)
        elif c == "~":
            toggle("strikethrough", i)
        elif c == "|" and text.startswith("||", i):
            toggle("spoiler", i)
            i += 1
        elif c == "`":
            if text.startswith("```", i):
                end_line = text.find("\n", i + 3)
                stack.append(("pre", out.length, offset(i)))
                i = end_line + 1 if end_line != -1 else n
                continue
            toggle("code", i)
        elif c == "[":
            stack.append(("text_link", out.length, offset(i)))
        elif c == "]" and stack and stack[-1][0] == "text_link":
            if not text.startswith("(", i + 1):
                raise ParseError(f"Can't find end of TextUrl entity at byte offset {stack[-1][2]}")
            end = i + 2
            url: list[str] = []
            while end < n and text[end] != ")":
                if text[end] == "\\" and end + 1 < n:
                    end += 1
                url.append(text[end])
                end += 1
            if end >= n:
                raise ParseError(f"Can't find end of a URL at byte offset {offset(i + 1)}")
            _, start, _ = stack.pop()
            if out.length > start:
                entities.append(
                    {"offset": start, "length": out.length - start, "type": "text_link", "url": "".join(url)}
                )
            i = end + 1
            continue
        elif c == ">" and (i == 0 or text[i - 1] == "\n"):
            pass  # blockquote marker at line start
        else:
            raise ParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        i += 1
    if stack:
        kind, _, at = stack[-1]
        raise ParseError(f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {at}")
    return out.text(), sorted(entities, key=lambda e: e["offset"])


def _parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url); unclosed markers fail."""
    out = _Out()
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    markers = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "*_`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c in markers or c == "[":
            at = len(text[:i].encode())
            if c == "`" and text.startswith("```", i):
                end = text.find("```", i + 3)
                if end == -1:
                    raise ParseError(f"Can't find end of the entity starting at byte offset {at}")
                body = text[i + 3 : end]
                start = out.length
                out.add(body)
                entities.append({"offset": start, "length": out.length - start, "type": "pre"})
                i = end + 3
                continue
            if c == "[":
                close = text.find("](", i)
                end = text.find(")", close + 2) if close != -1 else -1
                if close == -1 or end == -1:
                    raise ParseError(f"Can't find end of the entity starting at byte offset {at}")
                start = out.length
                out.add(text[i + 1 : close])
                if out.length > start:
                    entities.append(
                        {"offset": start, "length": out.length - start, "type": "text_link",
                         "url": text[close + 2 : end]}
                    )  # fmt: skip
                i = end + 1
                continue
            end = text.find(c, i + 1)
            if end == -1:
                raise ParseError(f"Can't find end of the entity starting at byte offset {at}")
            start = out.length
            out.add(text[i + 1 : end])
            if out.length > start:
                entities.append({"offset": start, "length": out.length - start, "type": markers[c]})
            i = end + 1
            continue
        out.add(c)
        i += 1
    return out.text(), entities


def parse_entities(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and entities for a text/caption as Telegram would show it; raises ParseError."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    if mode:
        raise ValueError(f"unsupported parse_mode {parse_mode!r}")
    return text, []


# -- helpers -----------------------------------------------------------------------------------


def _int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"wrong parameter value {value!r}") from None


def _float(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"wrong parameter value {value!r}") from None


def _truthy(value: Any) -> bool:
    return value in (True, "true", "True", "1", 1)


def _update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


class FakeTelegram(FakeServer):
    """Fake Telegram Bot API with an update queue, webhook delivery, file storage and faults."""

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
        self.all_sent: list[dict[str, Any]] = []
        """Every message the bot sent, across chats, in order."""
        self.edits: list[dict[str, Any]] = []
        self.deleted: list[tuple[int | str, int]] = []
        self.chat_actions: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        """file_id -> {file_id, file_unique_id, file_path, content, file_size, kind, ...}."""
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.confirmed_offset: int | None = None
        """The last offset a getUpdates call passed (everything below it was dropped)."""
        self.delivered_update_ids: list[int] = []
        """update_ids in the order getUpdates returned them (a redelivery appears again)."""
        self.allowed_updates: list[str] | None = None
        self.callback_answers: list[dict[str, Any]] = []
        """answerCallbackQuery calls, in order (callback_query_id, text, show_alert)."""
        self.markup_edits: list[dict[str, Any]] = []
        """editMessageReplyMarkup calls that changed a message: chat_id, message_id, reply_markup (None: removed)."""
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
        self._handlers = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
            "setmycommands": self._true,
            "deletemycommands": self._true,
            "answercallbackquery": self._answer_callback_query,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "setmessagereaction": self._true,
            "close": self._true,
            "logout": self._true,
        }
        for kind in _MEDIA:
            self._handlers[f"send{kind}"] = self._media_handler(kind)

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def stop(self) -> None:
        """Release long polls first so shutdown does not wait for their timeouts."""
        self._stopping.set()
        self._notify()
        await super().stop()

    # -- public: addresses and accessors -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For Bot(base_url=...): PTB appends the token and "/method"."""
        return f"{self.origin}/bot"

    @property
    def file_base_url(self) -> str:
        """For Bot(base_file_url=...): PTB appends the token and "/file_path"."""
        return f"{self.origin}/file/bot"

    def sent(self, chat_id: int | str) -> list[dict[str, Any]]:
        """What the bot sent to one chat, in order (text and media records)."""
        return list(self._sent.get(_chat_key(chat_id), []))

    def sent_texts(self, chat_id: int | str) -> list[str]:
        """The text messages of one chat as the customer sees them (after HTML/Markdown parsing)."""
        return [m["visible_text"] for m in self.sent(chat_id) if m["kind"] == "text"]

    def update(self, update_id: int) -> dict[str, Any]:
        """A copy of a pushed update, e.g. to learn the message_id Telegram gave a customer message."""
        return copy.deepcopy(self._history[update_id])

    @property
    def pending_update_ids(self) -> list[int]:
        """Updates queued and not yet confirmed by an offset."""
        return [u["update_id"] for u in self._pending]

    @property
    def polls_started(self) -> int:
        """How many getUpdates calls have reached the fake (a test waits on it rather than sleeping)."""
        return self._poll_generation

    # -- public: fault helpers -----------------------------------------------------------------

    def blocked(self, chat_id: int | str) -> None:
        """The user blocked the bot: every send to the chat answers 403 until unblocked."""
        self.api_error(
            SEND_METHODS, "Forbidden: bot was blocked by the user", times=None, code=403,
            where={"chat_id": chat_id},
        )  # fmt: skip

    def unblock(self, chat_id: int | str) -> None:
        """Undo blocked(chat_id)."""
        key = str(chat_id)
        self._rules = [r for r in self._rules if not (r.kind == "api_error" and r.where.get("chat_id") == key)]

    def global_limit(
        self,
        per_second: float,
        *,
        burst: int | None = None,
        retry_after: int | None = 1,
        methods: Iterable[str] | None = FLOOD_METHODS,
    ) -> None:
        """Telegram's overall flood limit: shared by every message-sending method by default."""
        super().global_limit(per_second, burst=burst, retry_after=retry_after, methods=methods)

    def per_chat_limit(
        self, per_second: float, burst: int = 1, retry_after: int | None = 1, methods: Iterable[str] = FLOOD_METHODS
    ) -> None:
        """Telegram's per-chat flood limit: one token bucket per chat_id over the sending methods."""
        self.per_key_limit(methods, "chat_id", per_second, burst=burst, retry_after=retry_after)

    # -- public: update builders ---------------------------------------------------------------

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

    def buttons(self, chat_id: int | str) -> list[tuple[int, list[list[dict[str, Any]]]]]:
        """(message_id, inline keyboard rows) of every message in the chat that currently shows buttons."""
        found = []
        for record in self.sent(chat_id):
            markup = record["message"].get("reply_markup") or {}
            if markup.get("inline_keyboard"):
                found.append((record["message_id"], markup["inline_keyboard"]))
        return found

    def push_duplicate(self, update_id: int) -> int:
        """Deliver an already queued/delivered update once more with the same id (even if confirmed)."""
        if update_id not in self._history:
            raise ValueError(f"no update {update_id} was ever pushed")
        self._redeliver.append(copy.deepcopy(self._history[update_id]))
        self._notify()
        return update_id

    # -- public: webhook -----------------------------------------------------------------------

    async def deliver_webhook(self, update: dict[str, Any] | int, timeout: float = 10) -> int:
        """POST one update to the registered webhook as Telegram does; returns the HTTP status.

        Accepts an update dict or the id of a pushed update. A 2xx answer removes the update from
        the queue (Telegram would not send it again); 0 means the connection failed.
        """
        if self.webhook is None:
            raise RuntimeError("no webhook is set (call setWebhook through the bot first)")
        if isinstance(update, int):
            update = self._history[update]
        headers = {"Content-Type": "application/json"}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        status = 0
        error = ""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.post(self.webhook["url"], data=json.dumps(update), headers=headers) as response,
            ):
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        uid = update.get("update_id")
        self.webhook_deliveries.append({"update_id": uid, "status": status, "error": error})
        if 200 <= status < 300:
            self._pending = [u for u in self._pending if u["update_id"] != uid]
        else:
            self.webhook["last_error_date"] = int(time.time())
            self.webhook["last_error_message"] = error or f"Wrong response from the webhook: {status}"
        return status

    async def deliver_pending(self) -> list[int]:
        """Deliver queued updates in order, stopping at the first failure (Telegram retries it)."""
        statuses: list[int] = []
        for update in list(self._pending):
            status = await self.deliver_webhook(update)
            statuses.append(status)
            if not 200 <= status < 300:
                break
        return statuses

    # -- routing -------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    def _fault_response(self, decision: Decision) -> web.Response:
        if decision.kind == "rate_limit":
            n = decision.retry_after
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {n}",
                "parameters": {"retry_after": n},
            }
            return web.json_response(body, status=429, headers={"Retry-After": str(n)})
        if decision.kind == "api_error":
            code = decision.code or 400
            return web.json_response({"ok": False, "error_code": code, "description": decision.error}, status=code)
        body = decision.body
        if body is None:
            body = {"ok": False, "error_code": decision.status, "description": _phrase(decision.status)}
        if isinstance(body, (dict, list)):
            return web.json_response(body, status=decision.status)
        if isinstance(body, bytes):
            return web.Response(body=body, status=decision.status, content_type="application/octet-stream")
        return web.Response(text=str(body), status=decision.status, content_type="text/html")

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                    else:
                        params[key] = value
        for key in _JSON_PARAMS & params.keys():
            if isinstance(params[key], str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        if "chat_id" in params:
            params["chat_id"] = _chat_key(params["chat_id"])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        params = await self._read_params(request)
        decision = await self.evaluate(method, params)
        if decision is not None:
            response = self._fault_response(decision)
        elif request.match_info["token"] != self.token:
            response = _error_response(401, "Unauthorized")
        elif (handler := self._handlers.get(method.lower())) is None:
            response = _error_response(404, "Not Found")
        else:
            try:
                result = await handler(params)
                response = web.json_response({"ok": True, "result": result})
            except _ApiError as exc:
                response = _error_response(exc.code, exc.description, exc.parameters)
        self._record(method, params, at, response.status)
        return response

    async def _download(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        path = request.match_info["path"]
        params = {"file_path": path}
        decision = await self.evaluate("download", params)
        record = next((f for f in self.files.values() if f["file_path"] == path), None)
        if decision is not None:
            response = self._fault_response(decision)
        elif request.match_info["token"] != self.token or record is None or record["content"] is None:
            response = _error_response(404, "Not Found")
        else:
            response = web.Response(body=record["content"], content_type="application/octet-stream")
        self._record("download", params, at, response.status)
        return response

    # -- internals: chats, messages, files -----------------------------------------------------

    def _notify(self) -> None:
        """Wake every long poll (new update, competing poll, webhook change, stop)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _chat(self, chat_id: int | str, user: dict[str, Any] | None = None) -> dict[str, Any]:
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
        current = self._message_ids.get(chat_id, 0)
        value = wanted if wanted is not None else current + 1
        self._message_ids[chat_id] = max(current, value)
        return value

    def _find_message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
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
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **copy.deepcopy(body)}
        self._history[update["update_id"]] = copy.deepcopy(update)
        self._pending.append(update)
        self._notify()
        return self._last_update_id

    def _register_file(
        self, kind: str, content: bytes | None, *, file_name: str | None, mime_type: str | None
    ) -> dict[str, Any]:
        n = next(self._file_seq)
        folder, ext, default_mime = _MEDIA.get(kind, ("documents", "", "application/octet-stream"))
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[-1]
        record = {
            "file_id": f"{'BQACAgUAAxkBAAI' if kind == 'document' else 'AgACAgUAAxkBAAI'}{n:06d}x{kind[:3]}Q",
            "file_unique_id": f"AgAD{n:04d}",
            "file_path": f"{folder}/file_{n}{ext}",
            "content": content,
            "file_size": len(content) if content is not None else 0,
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

    def _outgoing(self, chat_id: int | str, params: dict[str, Any]) -> dict[str, Any]:
        """Message skeleton for something the bot sends, with reply validation like Telegram's."""
        reply: dict[str, Any] | None = None
        rp = params.get("reply_parameters")
        reply_id = _int(rp.get("message_id")) if isinstance(rp, dict) else _int(params.get("reply_to_message_id"))
        allow_missing = _truthy(rp.get("allow_sending_without_reply")) if isinstance(rp, dict) else False
        allow_missing = allow_missing or _truthy(params.get("allow_sending_without_reply"))
        if reply_id is not None:
            reply = self._find_message(chat_id, reply_id)
            if reply is None and not allow_missing:
                raise _bad("message to be replied not found")
        message: dict[str, Any] = {
            "message_id": 0,
            "from": dict(self.bot_user),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        if reply is not None:
            message["reply_to_message"] = {k: v for k, v in reply.items() if k != "reply_to_message"}
        return message

    def _store(self, chat_id: int | str, message: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
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
        self.all_sent.append(record)
        return message

    @staticmethod
    def _required_chat(params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        return chat_id

    @staticmethod
    def _render(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[dict[str, Any]]]:
        if entities:
            return text, list(entities) if isinstance(entities, list) else []
        if parse_mode and parse_mode.lower() not in ("html", "markdown", "markdownv2"):
            raise _bad("unsupported parse_mode")
        try:
            return parse_entities(text, parse_mode)
        except ParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None

    # -- methods -------------------------------------------------------------------------------

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

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
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params.get("offset"))
        limit = min(100, max(1, _int(params.get("limit"), 100) or 100))
        timeout = _float(params.get("timeout"), 0.0)
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
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self.webhook is not None:
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        self._redeliver = [u for u in self._redeliver if not any(u is b for b in batch)]
        result = [copy.deepcopy(u) for u in batch]
        self.delivered_update_ids.extend(u["update_id"] for u in result)
        return result

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        local = url.startswith(("http://127.0.0.1", "http://localhost"))
        if not url.startswith("https://") and not local:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if _truthy(params.get("drop_pending_updates")):
            self._pending.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = list(allowed) or None
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed if isinstance(allowed, list) else None,
            "max_connections": _int(params.get("max_connections"), 40),
        }
        self._notify()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if _truthy(params.get("drop_pending_updates")):
            self._pending.clear()
        self.webhook = None
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if "last_error_date" in self.webhook:
                info["last_error_date"] = self.webhook["last_error_date"]
                info["last_error_message"] = self.webhook["last_error_message"]
        return info

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode") or None
        if not text:
            raise _bad("message text is empty")
        visible, entities = self._render(text, parse_mode, params.get("entities"))
        if not visible.strip():
            raise _bad("message text is empty")
        if utf16_len(visible) > MAX_TEXT:
            raise _bad("message is too long")
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
        return self._store(chat_id, message, record)

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        message_id = _int(params.get("message_id"))
        record = next((r for r in self._sent.get(chat_id, []) if r["message_id"] == message_id), None)
        if record is None or record.get("deleted"):
            raise _bad("message to edit not found")
        if record["kind"] != "text":
            raise _bad("there is no text in the message to edit")
        text = str(params.get("text") or "")
        if not text:
            raise _bad("message text is empty")
        parse_mode = params.get("parse_mode") or None
        visible, entities = self._render(text, parse_mode, params.get("entities"))
        if not visible.strip():
            raise _bad("message text is empty")
        if utf16_len(visible) > MAX_TEXT:
            raise _bad("message is too long")
        if visible == record["visible_text"] and entities == record["entities"]:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
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

    @staticmethod
    def _inline_markup(markup: Any) -> dict[str, Any] | None:
        """An inline keyboard checked as Telegram does (callback_data 1-64 bytes, text non-empty); None if absent."""
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                    raise _bad("BUTTON_TEXT_EMPTY")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        return {"inline_keyboard": copy.deepcopy(rows)}

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._callback_ids.discard(query_id)  # a query is answered once
        self.callback_answers.append(
            {"callback_query_id": query_id, "text": params.get("text"), "show_alert": _truthy(params.get("show_alert"))}
        )
        return True

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        message_id = _int(params.get("message_id"))
        record = next((r for r in self._sent.get(chat_id, []) if r["message_id"] == message_id), None)
        if record is None or record.get("deleted"):
            raise _bad("message to edit not found")
        markup = self._inline_markup(params.get("reply_markup"))
        message = record["message"]
        if markup == message.get("reply_markup"):
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self.markup_edits.append({"chat_id": chat_id, "message_id": message_id, "reply_markup": markup})
        return message

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._required_chat(params)
        message_id = _int(params.get("message_id"))
        if message_id is None or self._find_message(chat_id, message_id) is None:
            raise _bad("message to delete not found")
        if (chat_id, message_id) in self.deleted:
            raise _bad("message to delete not found")
        self.deleted.append((chat_id, message_id))
        for record in self._sent.get(chat_id, []):
            if record["message_id"] == message_id:
                record["deleted"] = True
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat_id = self._required_chat(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append({"chat_id": chat_id, "action": action, "at": time.monotonic()})
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self.files.get(str(params.get("file_id") or ""))
        if record is None:
            raise _bad("invalid file_id")
        if record["file_size"] > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": record["file_id"],
            "file_unique_id": record["file_unique_id"],
            "file_size": record["file_size"],
            "file_path": record["file_path"],
        }

    def _media_handler(self, kind: str) -> Any:
        async def handler(params: dict[str, Any]) -> dict[str, Any]:
            return await self._send_media(kind, params)

        return handler

    async def _send_media(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._required_chat(params)
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _bad("file must be non-empty")
            if len(value.content) > MAX_UPLOAD:
                raise _ApiError(413, "Request Entity Too Large")
            file_name = value.filename if kind in ("document", "audio", "video") else None
            record = self._register_file(kind, value.content, file_name=file_name, mime_type=value.content_type)
            filename, content, mime_type = value.filename, value.content, value.content_type
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or None
            record = self._register_file(kind, None, file_name=name, mime_type=None)
            filename, content, mime_type = name, None, record["mime_type"]
        elif isinstance(value, str) and value:
            record = self.files.get(value)
            if record is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            filename, content, mime_type = record["file_name"], record["content"], record["mime_type"]
        else:
            raise _bad(f"there is no {kind} in the request")
        caption = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        visible_caption: str | None = None
        entities: list[dict[str, Any]] = []
        if caption:
            visible_caption, entities = self._render(str(caption), parse_mode, params.get("caption_entities"))
            if utf16_len(visible_caption) > MAX_CAPTION:
                raise _bad("message caption is too long")
        message = self._outgoing(chat_id, params)
        ref = self._file_ref(record)
        duration = _int(params.get("duration"), 1)
        if kind == "photo":
            message["photo"] = [{**ref, "width": 1280, "height": 960}]
        elif kind == "document":
            message["document"] = {"file_name": filename, "mime_type": mime_type, **ref}
        elif kind == "voice":
            message["voice"] = {"duration": duration, "mime_type": "audio/ogg", **ref}
        elif kind == "audio":
            message["audio"] = {"duration": duration, "file_name": filename, "mime_type": mime_type, **ref}
        elif kind == "video":
            message["video"] = {"duration": duration, "width": 1280, "height": 720, "mime_type": mime_type, **ref}
        elif kind == "sticker":
            message["sticker"] = {"width": 512, "height": 512, "is_animated": False, "is_video": False,
                                  "type": "regular", **ref}  # fmt: skip
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
        return self._store(chat_id, message, out)


def _chat_key(value: Any) -> int | str:
    """chat_id arrives as "5" in forms and 5 in JSON; "@channel" names stay strings."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error_response(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)
