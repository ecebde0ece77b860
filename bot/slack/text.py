"""Text going into Slack: escaping customer text so it can never ping or forge a link, and splitting it within
Block Kit's limits. Pure: no I/O, no Slack client."""

from __future__ import annotations

import re

from bot.domain.textsplit import cluster_safe, mark_spans, split_text

__all__ = [
    "BLOCKS_PER_MESSAGE",
    "MESSAGE_CHAR_BUDGET",
    "SECTION_LIMIT",
    "escape",
    "split_messages",
    "split_sections",
    "unescape",
]

SECTION_LIMIT = 3000  # Block Kit section text
BLOCKS_PER_MESSAGE = 50
MESSAGE_CHAR_BUDGET = 11000  # stay under the undocumented ~12k msg_blocks_too_long total
_RESERVED_BLOCKS = 2  # the caller may add e.g. a context and an actions block to each message


# ----------------------------------------------------------------------------------------------------
# Escaping
# ----------------------------------------------------------------------------------------------------

_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_UNESCAPE = {"amp": "&", "lt": "<", "gt": ">"}


def escape(text: str) -> str:
    """Escape & < > so customer text can never ping (<!channel>, <@U1>) or forge a link (<https://x|y>).

    Slack only treats `<...>` as control sequences; with every `<` and `>` escaped and `link_names` off,
    nothing the customer types can become a mention or a masked link. `&` goes first so existing entities stay
    literal.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping (&lt; &gt; &amp;) in one pass, so `&amp;lt;` becomes `&lt;` and never `<`."""
    return _ENTITY_RE.sub(lambda m: _UNESCAPE[m.group(1)], text)


# Any HTML-ish entity is kept whole, not only Slack's three: cheap insurance against a half `&#128512;`.
_ANY_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
CONTROL_RE = re.compile(r"<[^<>\n]*>")


def split_sections(text: str, *, limit: int = SECTION_LIMIT) -> list[str]:
    """Split ALREADY ESCAPED mrkdwn into pieces of at most `limit` characters (code points).

    Prefers paragraph, then line, then whitespace boundaries; never cuts inside an entity (&amp; &lt; &gt;;
    any limit >= 5 leaves room for one), and avoids cutting inside a control sequence or a grapheme cluster
    (surrogate pair, combining marks, ZWJ emoji) unless no other cut fits. ''.join(pieces) == text always
    holds, so nothing the customer wrote is lost. An empty text gives []; a piece is whitespace-only only
    when the text has a whitespace run longer than `limit`.
    """
    if not text:
        return []
    loose = bytearray(b"\x01") * (len(text) + 1)
    mark_spans(loose, _ANY_ENTITY_RE, text)
    strict = cluster_safe(text)
    for p, ok in enumerate(loose):
        if not ok:
            strict[p] = 0
    mark_spans(strict, CONTROL_RE, text)
    return [text[a:b] for a, b in split_text(text, limit, strict=strict, loose=loose)]


def split_messages(
    text: str,
    *,
    section_limit: int = SECTION_LIMIT,
    max_blocks: int = BLOCKS_PER_MESSAGE,
    budget: int = MESSAGE_CHAR_BUDGET,
) -> list[list[str]]:
    """Group sections into Slack messages: each inner list is one message's section texts.

    Each message has at most `max_blocks - 2` sections (room for two blocks the caller adds) and at most
    `budget` characters in total, which keeps it clear of `msg_blocks_too_long`. Sections are filled greedily,
    in order, so joining every section of every message gives back `text`.
    """
    per_message = max_blocks - _RESERVED_BLOCKS
    if per_message < 1:
        raise ValueError(f"max_blocks must be at least {_RESERVED_BLOCKS + 1}")
    messages: list[list[str]] = []
    current: list[str] = []
    used = 0
    for section in split_sections(text, limit=min(section_limit, budget)):
        if current and (len(current) >= per_message or used + len(section) > budget):
            messages.append(current)
            current, used = [], 0
        current.append(section)
        used += len(section)
    if current:
        messages.append(current)
    return messages

