"""Telegram's text rules: HTML parsed as tdlib parses it, into visible text and entities, lengths in UTF-16 units.

The fake applies these to every text and caption the bot sends, so a message Telegram would refuse (a stray "<", an
unknown tag, more than 4,096 units once the tags are gone) is refused in tests too, with Telegram's own error text.
The bot sends HTML or plain text only: other parse modes are not parsed here.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ParseError", "parse_entities", "utf16_len"]


class ParseError(Exception):
    """Entity parsing failed; str() is the text after "Bad Request: can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


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


def parse_entities(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and entities for a text/caption as Telegram would show it; raises ParseError."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode:
        raise ValueError(f"unsupported parse_mode {parse_mode!r}: the bot sends HTML or plain text only")
    return text, []
