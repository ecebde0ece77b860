"""Cutting text into pieces that fit a limit, at the best boundary, never inside a character a person sees as one.

Pure and channel-neutral: Slack sections and Telegram messages are both cut with it, each with its own unit of
length (code points, UTF-16 units).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable

_ZWJ = "\u200d"
_WHITESPACE_RE = re.compile(r"\s+")


def _is_extender(ch: str) -> bool:
    """True for code points that join the preceding grapheme (marks, ZWJ, selectors, skin tones, tags)."""
    cp = ord(ch)
    if ch == _ZWJ or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:  # ZWJ, variation selectors
        return True
    if 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:  # emoji skin tones, emoji tag sequences
        return True
    if 0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF:  # conjoining Hangul vowel/final jamo
        return True
    if 0xDC00 <= cp <= 0xDFFF:  # a low surrogate (only in strings decoded with surrogatepass)
        return True
    return unicodedata.category(ch) in ("Mn", "Me", "Mc")


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def cluster_safe(text: str) -> bytearray:
    """`safe[p]` is 1 when cutting `text` before index p keeps grapheme-like clusters whole.

    An approximation of UAX #29 that needs no third-party package: it keeps combining marks, ZWJ emoji
    sequences, skin tones, flags (regional indicator pairs), keycaps, conjoining jamo and CRLF together.
    """
    n = len(text)
    safe = bytearray(b"\x01") * (n + 1)
    ri_run = 0
    for p in range(1, n):
        prev, cur = text[p - 1], text[p]
        ri_run = ri_run + 1 if _is_regional_indicator(prev) else 0
        if (
            _is_extender(cur)
            or prev == _ZWJ
            or (prev == "\r" and cur == "\n")
            or (ri_run % 2 == 1 and _is_regional_indicator(cur))
        ):
            safe[p] = 0
    return safe



def mark_spans(safe: bytearray, pattern: re.Pattern[str], text: str) -> None:
    for m in pattern.finditer(text):
        for p in range(m.start() + 1, m.end()):
            safe[p] = 0


def _prefix_widths(text: str, width: Callable[[str], int] | None) -> list[int]:
    prefix = [0] * (len(text) + 1)
    total = 0
    for i, ch in enumerate(text):
        total += 1 if width is None else width(ch)
        prefix[i + 1] = total
    return prefix


def split_text(
    text: str,
    limit: int,
    *,
    strict: bytearray,
    loose: bytearray | None = None,
    width: Callable[[str], int] | None = None,
    strip: bool = False,
) -> list[tuple[int, int]]:
    """Return (start, end) index pairs cutting `text` into pieces of at most `limit` width.

    Cuts prefer a paragraph break, then a line break, then any whitespace, then any position `strict` allows,
    then any position `loose` allows, and only then any code point. With `strip=False` the pieces tile the
    text exactly (Slack sections must rejoin to the original); with `strip=True` the whitespace around each
    cut and at both ends is dropped and no piece is empty (Telegram trims messages and refuses empty ones).
    `width` gives a code point's width (default 1; telegram_text passes UTF-16 units).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    n = len(text)
    prefix = _prefix_widths(text, width)
    spans: list[tuple[int, int]] = []
    start, end_of_text = 0, n
    if strip:
        while start < n and text[start].isspace():
            start += 1
        while end_of_text > start and text[end_of_text - 1].isspace():
            end_of_text -= 1
    while start < end_of_text:
        if prefix[end_of_text] - prefix[start] <= limit:
            spans.append((start, end_of_text))
            break
        # hi: the largest end index whose piece text[start:hi] fits in the limit.
        hi = bisect.bisect_right(prefix, prefix[start] + limit, start, end_of_text + 1) - 1
        piece_end, next_start = _best_cut(text, start, hi, strict, loose, strip)
        if strip:
            while text[piece_end - 1].isspace():  # text[start] is not whitespace, so this stops
                piece_end -= 1
            while next_start < end_of_text and text[next_start].isspace():
                next_start += 1
        spans.append((start, piece_end))
        start = next_start
    return spans


def _best_cut(
    text: str, start: int, hi: int, strict: bytearray, loose: bytearray | None, strip: bool
) -> tuple[int, int]:
    """Pick (piece_end, next_start) for one cut; see split_text for the order of preference."""
    best: list[tuple[int, int] | None] = [None, None, None]  # paragraph, line, space
    if strip:
        # A cut sits at the start q of a whitespace run; the run [q, r) is dropped.
        for m in _WHITESPACE_RE.finditer(text, start + 1, hi + 1):
            q = m.start()
            if not strict[q]:
                continue
            r = _WHITESPACE_RE.match(text, q)
            assert r is not None
            run = r.group()
            kind = 0 if run.count("\n") >= 2 else 1 if "\n" in run else 2
            best[kind] = (q, r.end())
    else:
        # A cut sits at the end of a whitespace run (cut short at hi); the run stays with the earlier piece.
        for m in _WHITESPACE_RE.finditer(text, start, hi):
            if m.start() == start:  # would leave a whitespace-only piece
                continue
            p = m.end()
            if not strict[p]:
                continue
            run = m.group()
            kind = 0 if run.count("\n") >= 2 else 1 if "\n" in run else 2
            best[kind] = (p, p)
    for candidate in best:
        if candidate is not None:
            return candidate
    for allowed in (strict, loose):
        if allowed is None:
            continue
        for p in range(hi, start, -1):
            if allowed[p]:
                return p, p
    p = max(hi, start + 1)  # a single code point wider than the limit: take it anyway, never loop forever
    return p, p

