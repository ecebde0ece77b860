"""Rich text (what staff wrote, as styled runs) rendered as Telegram messages.

Telegram counts its 4,096-character limit in UTF-16 code units of the text it shows, after parsing the HTML; so
the runs are split by visible length, and each chunk is rendered as HTML that stands on its own (tags closed at the
end of a chunk and reopened at the start of the next).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as html_escape
from html.parser import HTMLParser
from typing import NamedTuple

from bot.domain.richtext import Run, link_text, plain_text, same_target
from bot.domain.textsplit import cluster_safe, split_text

__all__ = [
    "TELEGRAM_CAPTION_LIMIT",
    "TELEGRAM_TEXT_LIMIT",
    "rich_to_html",
    "rich_to_plain",
    "split_utf16",
    "utf16_len",
    "visible_text",
]

TELEGRAM_TEXT_LIMIT = 4096  # counted in UTF-16 code units AFTER entity parsing
TELEGRAM_CAPTION_LIMIT = 1024


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for its limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_width(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _check_limit(limit: int) -> None:
    if limit < 2:  # one astral code point (an emoji) is already 2 units
        raise ValueError("limit must be at least 2 UTF-16 units")


def split_utf16(text: str, limit: int) -> list[str]:
    """Split plain text into chunks of at most `limit` UTF-16 units, preferring paragraph > line > space.

    Cuts fall between code points (so never inside a surrogate pair) and avoid breaking emoji/combining
    clusters. Whitespace at a cut and at both ends is dropped, since Telegram trims it anyway and rejects an
    empty message; a blank text gives [].
    """
    _check_limit(limit)
    spans = split_text(text, limit, strict=cluster_safe(text), width=_utf16_width, strip=True)
    return [text[a:b] for a, b in spans]


class _Tag(NamedTuple):
    open: str
    close: str


# Nesting order, outermost first: Telegram lets b/i/s wrap a link, and only a blockquote wrap code.
_STYLE_TAGS = (
    ("quote", _Tag("<blockquote>", "</blockquote>")),
    ("b", _Tag("<b>", "</b>")),
    ("i", _Tag("<i>", "</i>")),
    ("s", _Tag("<s>", "</s>")),
)
_CODE_TAGS = (("code", _Tag("<code>", "</code>")), ("pre", _Tag("<pre>", "</pre>")))


class _Segment(NamedTuple):
    text: str  # visible text, not yet HTML-escaped
    tags: tuple[_Tag, ...]


def _is_web(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _segments(runs: Sequence[Run]) -> list[_Segment]:
    """Map runs to visible text plus the tags that wrap it.

    Only http(s) links become <a href>, and only when the label says something the address does not; other
    links are shown as plain text shows them, so Telegram can never refuse the message for a strange
    href.
    """
    segments: list[_Segment] = []
    for run in runs:
        tags = [tag for style, tag in _STYLE_TAGS if style in run.styles]
        if run.href is not None and _is_web(run.href) and not same_target(run.text, run.href):
            text = run.text
            tags.append(_Tag(f'<a href="{html_escape(run.href, quote=True)}">', "</a>"))
        else:
            text = link_text(run)
        tags.extend(tag for style, tag in _CODE_TAGS if style in run.styles)
        segments.append(_Segment(text, tuple(tags)))
    return segments


def _render(segments: Sequence[_Segment]) -> str:
    """Render segments as HTML, opening and closing only the tags that change, and closing all at the end."""
    out: list[str] = []
    stack: tuple[_Tag, ...] = ()
    for text, tags in segments:
        if not text:
            continue
        common = 0
        while common < min(len(stack), len(tags)) and stack[common] == tags[common]:
            common += 1
        out.extend(tag.close for tag in reversed(stack[common:]))
        out.extend(tag.open for tag in tags[common:])
        stack = tags
        out.append(html_escape(text, quote=False))
    out.extend(tag.close for tag in reversed(stack))
    return "".join(out)


def rich_to_html(runs: Sequence[Run], *, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Rich text as Telegram HTML (parse_mode="HTML") chunks.

    Bold -> <b>, italic -> <i>, strike -> <s>, code -> <code>, code blocks -> <pre>, quotes -> <blockquote>, links
    -> <a href> (or the bare url). Each chunk's visible text is at most `limit` UTF-16 units, each chunk is
    well-formed on its own, and the chunks' visible texts concatenate to the whole message except for whitespace
    dropped at the cuts. Blank input gives [].
    """
    _check_limit(limit)
    segments = _segments(runs)
    visible = "".join(segment.text for segment in segments)
    starts: list[int] = []
    offset = 0
    for segment in segments:
        starts.append(offset)
        offset += len(segment.text)
    chunks: list[str] = []
    for a, b in split_text(visible, limit, strict=cluster_safe(visible), width=_utf16_width, strip=True):
        part: list[_Segment] = []
        for start, segment in zip(starts, segments, strict=True):
            end = start + len(segment.text)
            if end <= a or start >= b:
                continue
            part.append(_Segment(segment.text[max(a, start) - start : min(b, end) - start], segment.tags))
        chunks.append(_render(part))
    return chunks


def rich_to_plain(runs: Sequence[Run], *, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Fallback for when Telegram refuses the HTML: plain text, split by the same rules."""
    return split_utf16(plain_text(runs), limit)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(html: str) -> str:
    """What Telegram shows for HTML (tags stripped, entities unescaped): for limits and for archiving."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return "".join(collector.parts)
