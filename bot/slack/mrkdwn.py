"""Slack mrkdwn coming out of Slack (as staff wrote it: escaped, with control sequences) parsed into rich text.

Code blocks and spans first, then quotes, then *bold* _italic_ ~strike~ by Slack's word-boundary rules; mentions,
channels, user groups, dates and links resolved into runs a customer can read. Pure.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.richtext import Run, display_target, link_text, plain_text
from bot.slack.text import CONTROL_RE, unescape

_USER_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_MARKERS = {"*": "b", "_": "i", "~": "s"}
_SPECIAL_MENTIONS = {"here", "channel", "everyone"}


def mentioned_user_ids(text: str) -> set[str]:
    """User ids mentioned as <@U123>, <@W123> (Enterprise Grid) or <@U123|name>."""
    return set(_USER_MENTION_RE.findall(text))



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
        return Run(display_target(body), href=body)
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
    for m in CONTROL_RE.finditer(text):
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
    """Slack mrkdwn from a staff member -> plain text for a customer (and for the archive and search).

    Mentions become @Name (from `user_names`, else the label, else the id), channels #name, special mentions
    @here/@channel/@everyone, user groups @handle, dates their fallback, links 'label (url)' or the bare url;
    formatting markers disappear (the words stay), quoted lines keep a '> ' prefix, and entities are unescaped.
    """
    return plain_text(parse_mrkdwn(text, user_names))
