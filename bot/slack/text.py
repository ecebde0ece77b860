"""Text going into Slack (escaping, splitting) and Slack mrkdwn coming out of it (parsing).

Everything here is pure: no I/O, no Slack client. Customer text is escaped before it reaches Slack so it can
never ping or forge a link; staff text is parsed into styled runs that both the plain-text and the Telegram
HTML renderers share, so the two can never disagree about what a message says.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "BLOCKS_PER_MESSAGE",
    "MESSAGE_CHAR_BUDGET",
    "SECTION_LIMIT",
    "Run",
    "cluster_safe",
    "escape",
    "link_text",
    "mentioned_user_ids",
    "parse_mrkdwn",
    "same_target",
    "split_messages",
    "split_sections",
    "split_text",
    "to_plain",
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


# ----------------------------------------------------------------------------------------------------
# Boundary-preferring splitting (shared with telegram_text)
# ----------------------------------------------------------------------------------------------------

_ZWJ = "\u200d"
# Any HTML-ish entity is kept whole, not only Slack's three: cheap insurance against a half `&#128512;`.
_ANY_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_CONTROL_RE = re.compile(r"<[^<>\n]*>")
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


def _mark_spans(safe: bytearray, pattern: re.Pattern[str], text: str) -> None:
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
    _mark_spans(loose, _ANY_ENTITY_RE, text)
    strict = cluster_safe(text)
    for p, ok in enumerate(loose):
        if not ok:
            strict[p] = 0
    _mark_spans(strict, _CONTROL_RE, text)
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


# ----------------------------------------------------------------------------------------------------
# Slack text coming out: mentions, control sequences, mrkdwn
# ----------------------------------------------------------------------------------------------------

_USER_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_MARKERS = {"*": "b", "_": "i", "~": "s"}
_SPECIAL_MENTIONS = {"here", "channel", "everyone"}


def mentioned_user_ids(text: str) -> set[str]:
    """User ids mentioned as <@U123>, <@W123> (Enterprise Grid) or <@U123|name>."""
    return set(_USER_MENTION_RE.findall(text))


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of visible text with one set of styles.

    `styles` holds any of "b", "i", "s", "code", "pre", "quote". `href` is set for a link, whose `text` is the
    label (or the address when there is no label). Renderers decide how to show links via `link_text`.
    """

    text: str
    styles: frozenset[str] = frozenset()
    href: str | None = None


def _strip_scheme(url: str) -> str:
    lowered = url.lower()
    for scheme in ("https://", "http://", "mailto:", "tel:"):
        if lowered.startswith(scheme):
            return url[len(scheme) :]
    return url


def same_target(label: str, url: str) -> bool:
    """True when a label only repeats its link's target, so showing both would say the same thing twice."""
    a, b = label.strip().rstrip("/").lower(), url.strip().rstrip("/").lower()
    return a == b or _strip_scheme(a) == _strip_scheme(b)


def _display_target(url: str) -> str:
    """A link target as a person would write it: mailto:/tel: targets without their scheme."""
    lowered = url.lower()
    for scheme in ("mailto:", "tel:"):
        if lowered.startswith(scheme):
            return url[len(scheme) :]
    return url


def link_text(run: Run) -> str:
    """Plain rendering of a link run: the label alone when it repeats the target, else 'label (target)'.

    `mailto:`/`tel:` targets are shown without their scheme, as a person would write them.
    """
    if run.href is None:
        return run.text
    if same_target(run.text, run.href):
        return run.text
    return f"{run.text} ({_display_target(run.href)})"


def _at(name: str) -> str:
    return "@" + name.lstrip("@")


def _format_date(body: str, label: str) -> str:
    if label:
        return label
    try:  # <!date^1392734382^{date}> without a fallback: show the instant in UTC
        stamp = int(body.split("^")[1])
        return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (IndexError, ValueError, OverflowError, OSError):
        return body


def _control(raw: str, user_names: Mapping[str, str] | None) -> Run:
    """Resolve one control sequence (the text between < and >, still escaped) to a Run."""
    body, _, label = raw.partition("|")
    body, label = unescape(body), unescape(label)
    if body.startswith("@"):
        user_id = body[1:]
        name = (user_names or {}).get(user_id) or label or user_id
        return Run(_at(name))
    if body.startswith("#"):
        return Run("#" + (label.lstrip("#") or body[1:]))
    if body.startswith("!"):
        command = body[1:]
        word = command.split("^", 1)[0]
        if word in _SPECIAL_MENTIONS:
            return Run("@" + word)
        if word == "subteam":
            return Run(_at(label or command.partition("^")[2] or word))
        if word == "date":
            return Run(_format_date(command, label))
        return Run(label or "@" + word)
    if not label:
        return Run(_display_target(body), href=body)
    return Run(label, href=body)


@dataclass(frozen=True, slots=True)
class _Code:
    text: str
    block: bool


_Atom = str | Run | _Code  # a single character, a resolved control sequence, or a code span/block


def _plain(atoms: Sequence[_Atom]) -> str:
    """Text of atoms inside code: markers are literal, control sequences show as plain text."""
    out: list[str] = []
    for a in atoms:
        out.append(a if isinstance(a, str) else link_text(a) if isinstance(a, Run) else a.text)
    return "".join(out)


def _tokenize(text: str, user_names: Mapping[str, str] | None) -> list[_Atom]:
    """Unescape text into single characters and resolve <...> control sequences into Runs."""
    atoms: list[_Atom] = []
    pos = 0
    for m in _CONTROL_RE.finditer(text):
        if m.end() - m.start() <= 2:  # "<>" is not a control sequence
            continue
        atoms.extend(unescape(text[pos : m.start()]))
        atoms.append(_control(m.group()[1:-1], user_names))
        pos = m.end()
    atoms.extend(unescape(text[pos:]))
    return atoms


def _find_pre_blocks(atoms: list[_Atom]) -> list[_Atom]:
    """Fold ```...``` into code-block atoms; an unclosed ``` stays literal."""
    out: list[_Atom] = []
    i, n = 0, len(atoms)

    def fence_at(k: int) -> bool:
        return k + 2 < n and atoms[k] == "`" and atoms[k + 1] == "`" and atoms[k + 2] == "`"

    while i < n:
        if fence_at(i):
            j = i + 3
            while j < n and not fence_at(j):
                j += 1
            if j < n and j > i + 3:
                content = atoms[i + 3 : j]
                # The line breaks right inside the fences only lay the block out; Slack does not show them.
                if content and content[0] == "\n":
                    content = content[1:]
                if content and content[-1] == "\n":
                    content = content[:-1]
                out.append(_Code(_plain(content), block=True))
                i = j + 3
                continue
        out.append(atoms[i])
        i += 1
    return out


def _is_space(a: _Atom | None) -> bool:
    return isinstance(a, str) and a.isspace()


def _is_word(a: _Atom | None) -> bool:
    return isinstance(a, str) and a.isalnum()


def _can_open(line: Sequence[_Atom], i: int, marker: str) -> bool:
    """Slack opens a marker after a non-word character, before a non-space (`2*3*4`, `a_b_c` stay literal)."""
    before = line[i - 1] if i > 0 else None
    after = line[i + 1] if i + 1 < len(line) else None
    return after is not None and not _is_word(before) and before != marker and not _is_space(after) and after != marker


def _can_close(line: Sequence[_Atom], j: int, marker: str) -> bool:
    """Slack closes a marker after a non-space and before a non-word character (or the end of the line)."""
    before = line[j - 1] if j > 0 else None
    after = line[j + 1] if j + 1 < len(line) else None
    return before is not None and not _is_space(before) and before != marker and not _is_word(after) and after != marker


def _closers(line: Sequence[_Atom], marker: str) -> list[int]:
    return [j for j, a in enumerate(line) if a == marker and _can_close(line, j, marker)]


def _fold_inline_code(line: list[_Atom]) -> list[_Atom]:
    """Fold `code` spans (single line, Slack's word-boundary rules) into code atoms."""
    closers = _closers(line, "`")
    out: list[_Atom] = []
    i = 0
    while i < len(line):
        if line[i] == "`" and _can_open(line, i, "`"):
            k = bisect.bisect_left(closers, i + 2)
            if k < len(closers):
                j = closers[k]
                out.append(_Code(_plain(line[i + 1 : j]), block=False))
                i = j + 1
                continue
        out.append(line[i])
        i += 1
    return out


def _inline_runs(
    line: Sequence[_Atom], lo: int, hi: int, styles: frozenset[str], closers: Mapping[str, list[int]]
) -> list[Run]:
    """Runs for line[lo:hi] under `styles`, opening *bold* _italic_ ~strike~ where Slack would."""
    runs: list[Run] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            runs.append(Run("".join(buf), styles))
            buf.clear()

    i = lo
    while i < hi:
        a = line[i]
        if isinstance(a, str):
            style = _MARKERS.get(a)
            if style is not None and style not in styles and _can_open(line, i, a):
                positions = closers[a]
                k = bisect.bisect_left(positions, i + 2)
                if k < len(positions) and positions[k] < hi:
                    j = positions[k]
                    flush()
                    runs.extend(_inline_runs(line, i + 1, j, styles | {style}, closers))
                    i = j + 1
                    continue
            buf.append(a)
        else:
            flush()
            if isinstance(a, Run):
                runs.append(Run(a.text, styles, a.href))
            else:
                kind = "pre" if a.block else "code"
                # Telegram lets nothing but a blockquote wrap code, and a pre block stands on its own.
                keep = frozenset() if a.block else styles & {"quote"}
                runs.append(Run(a.text, keep | {kind}))
        i += 1
    flush()
    return runs


def _merge(runs: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in runs:
        if not run.text:
            continue
        last = merged[-1] if merged else None
        if last and last.href is None and run.href is None and last.styles == run.styles:
            merged[-1] = Run(last.text + run.text, run.styles)
        else:
            merged.append(run)
    return merged


def parse_mrkdwn(text: str, user_names: Mapping[str, str] | None = None) -> list[Run]:
    """Parse Slack mrkdwn (as Slack sends it: escaped, with control sequences) into styled runs.

    Code blocks and code spans are taken first so markers inside them stay literal; then each line may be a
    quote (`&gt; ` at its start, or everything after `&gt;&gt;&gt;`) and gets bold/italic/strike spans by
    Slack's word-boundary rules. Markers never span lines; unclosed markers stay literal.
    """
    atoms = _find_pre_blocks(_tokenize(text, user_names))
    lines: list[list[_Atom]] = [[]]
    for a in atoms:
        if a == "\n":
            lines.append([])
        else:
            lines[-1].append(a)

    runs: list[Run] = []
    quoted_rest = False
    previous_quoted = False
    for index, line in enumerate(lines):
        quoted = quoted_rest
        if not quoted and line[:3] == [">", ">", ">"]:
            quoted_rest = quoted = True
            line = line[3:]
        elif line[:1] == [">"]:
            quoted = True
            line = line[1:]
        if quoted and line[:1] == [" "]:
            line = line[1:]
        if index:
            runs.append(Run("\n", frozenset({"quote"}) if quoted and previous_quoted else frozenset()))
        line = _fold_inline_code(line)
        closers = {m: _closers(line, m) for m in _MARKERS}
        base = frozenset({"quote"}) if quoted else frozenset()
        line_runs = _inline_runs(line, 0, len(line), base, closers)
        runs.extend(line_runs)
        previous_quoted = quoted
    return _merge(runs)


def to_plain(text: str, user_names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn from a staff member -> plain text for a customer.

    Mentions become @Name (from `user_names`, else the label, else the id), channels #name, special mentions
    @here/@channel/@everyone, user groups @handle, dates their fallback, links 'label (url)' or the bare url;
    formatting markers disappear (the words stay), quoted lines keep a '> ' prefix, and entities are
    unescaped.
    """
    out: list[str] = []
    at_line_start = True
    for run in parse_mrkdwn(text, user_names):
        piece = link_text(run)
        if "quote" not in run.styles:
            out.append(piece)
            at_line_start = piece.endswith("\n")
        else:
            lines = piece.split("\n")
            for k, line in enumerate(lines):
                if k:
                    out.append("\n")
                    at_line_start = True
                if at_line_start and (line or k < len(lines) - 1):
                    out.append("> " if line else ">")
                out.append(line)
                if line:
                    at_line_start = False
    return "".join(out)
