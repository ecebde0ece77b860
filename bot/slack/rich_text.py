"""Slack ``rich_text`` blocks -> the Slack mrkdwn the rest of the pipeline reads.

Slack may deliver a person's message with an empty ``text`` while its ``rich_text`` blocks carry the words. Turned
into mrkdwn here (pure, no I/O), such a message takes the same road as a typed one: ``to_plain`` for the archive,
the connector's renderer for the customer. Text inside blocks is NOT escaped by Slack (the event ``text`` is), so
every piece of it is escaped on the way in; mentions and links become control sequences (``<@U1>``,
``<https://x|label>``) that the mrkdwn parser resolves as it does for a typed reply.

mrkdwn opens ``*bold*`` only after a non-word character and closes it only before one; a style that cannot be
written at its spot (inside a word, glued to another styled piece) is dropped: the words always arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.slack.text import escape

__all__ = ["rich_text_to_mrkdwn"]

_MARKERS = (("bold", "*"), ("italic", "_"), ("strike", "~"), ("code", "`"))  # outermost first
_MARKER_CHARS = frozenset("*_~`")
_BROADCASTS = frozenset({"here", "channel", "everyone"})
_BULLETS = ("•", "◦", "▪")
_QUOTE = "&gt; "  # a quoted line, as it stands in Slack's (escaped) text
_INDENT = "    "


@dataclass(frozen=True)
class _Piece:
    """One inline element as mrkdwn; ``raw`` is the visible text of a text element (None for anything else)."""

    body: str
    markers: tuple[str, ...] = ()
    raw: str | None = None


def rich_text_to_mrkdwn(blocks: Sequence[Mapping[str, Any]] | None) -> str:
    """The mrkdwn of every ``rich_text`` block in ``blocks`` ("" when there is none); other blocks are ignored."""
    parts = [_join(_block_element(e) for e in _list(b.get("elements"))) for b in blocks or [] if _is_rich_text(b)]
    return _join(parts).rstrip()


def _is_rich_text(block: Any) -> bool:
    return isinstance(block, Mapping) and block.get("type") == "rich_text"


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _join(parts: Iterable[str]) -> str:
    """Block-level parts one below the other: a part that already ends its line gets no second line break."""
    out = ""
    for part in parts:
        if not part:
            continue
        if out and not out.endswith("\n"):
            out += "\n"
        out += part
    return out


def _block_element(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    children = _list(element.get("elements"))
    if kind == "rich_text_section":
        return _inline(children)
    if kind == "rich_text_quote":
        return _prefix_lines(_inline(children).rstrip("\n"), _QUOTE)
    if kind == "rich_text_preformatted":
        code = "".join(p.body for p in _pieces(children, styled=False))
        return f"```{code}```" if code else ""
    if kind == "rich_text_list":
        return _rich_list(element, children)
    return ""


def _rich_list(element: Mapping[str, Any], items: list[Mapping[str, Any]]) -> str:
    indent = _int(element.get("indent"))
    offset = _int(element.get("offset"))
    ordered = element.get("style") == "ordered"
    lines = []
    for number, item in enumerate(items, start=offset + 1):
        point = f"{_ordinal(number, indent)}." if ordered else _BULLETS[indent % len(_BULLETS)]
        words = _inline(_list(item.get("elements"))).rstrip("\n")
        lines.append(f"{_INDENT * indent}{point} {words}")
    text = "\n".join(lines)
    return _prefix_lines(text, _QUOTE) if _int(element.get("border")) else text


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _ordinal(number: int, indent: int) -> str:
    """Numbers, then letters, then roman numerals for deeper levels, as Slack shows nested ordered lists."""
    level = indent % 3
    if level == 0:
        return str(number)
    if level == 1:
        letters = ""
        while number > 0:
            number, rest = divmod(number - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters
    roman = ""
    for value, numeral in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                           (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):  # fmt: skip
        count, number = divmod(number, value)
        roman += numeral * count
    return roman


def _prefix_lines(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.split("\n")) if text else ""


# --- inline elements ---------------------------------------------------------------------------------------


def _inline(elements: list[Mapping[str, Any]]) -> str:
    pieces = _pieces(elements, styled=True)
    out = []
    for i, piece in enumerate(pieces):
        if not piece.markers:
            out.append(piece.body)
            continue
        left = _neighbour_allows(pieces[i - 1] if i else None, at_end=True)
        right = _neighbour_allows(pieces[i + 1] if i + 1 < len(pieces) else None, at_end=False)
        out.append(_styled(piece, left, right))
    return "".join(out)


def _pieces(elements: list[Mapping[str, Any]], *, styled: bool) -> list[_Piece]:
    """Each element as mrkdwn; neighbouring texts of one style are joined, so their markers wrap them once."""
    pieces: list[_Piece] = []
    for element in elements:
        piece = _piece(element)
        if piece is None:
            continue
        if not styled:
            piece = _Piece(piece.body, (), piece.raw)
        last = pieces[-1] if pieces else None
        if last and last.raw is not None and piece.raw is not None and last.markers == piece.markers:
            pieces[-1] = _Piece(last.body + piece.body, piece.markers, last.raw + piece.raw)
        else:
            pieces.append(piece)
    return pieces


def _piece(element: Mapping[str, Any]) -> _Piece | None:
    style = element.get("style")
    markers = tuple(m for name, m in _MARKERS if isinstance(style, Mapping) and style.get(name))
    kind = element.get("type")
    if kind == "text":
        raw = str(element.get("text") or "")
        return _Piece(escape(raw), markers, raw) if raw else None
    if kind == "link":
        url, label = str(element.get("url") or ""), str(element.get("text") or "")
        if not url:
            return _Piece(escape(label), markers, label) if label else None
        body = f"<{escape(url)}|{escape(label)}>" if label and label != url else f"<{escape(url)}>"
        return _Piece(body, markers)
    sequence = _control_sequence(element)
    if sequence is not None:
        return _Piece(sequence, markers)
    if kind == "emoji":
        return _Piece(_emoji(element), markers)
    fallback = str(element.get("text") or element.get("fallback") or element.get("value") or "")
    return _Piece(escape(fallback), markers, fallback) if fallback else None


def _control_sequence(element: Mapping[str, Any]) -> str | None:
    """Mentions and dates, written as Slack writes them in a message's text."""
    kind = element.get("type")
    if kind == "user" and element.get("user_id"):
        return f"<@{escape(str(element['user_id']))}>"
    if kind == "usergroup" and element.get("usergroup_id"):
        return f"<!subteam^{escape(str(element['usergroup_id']))}>"
    if kind == "channel" and element.get("channel_id"):
        return f"<#{escape(str(element['channel_id']))}>"
    if kind == "broadcast" and element.get("range") in _BROADCASTS:
        return f"<!{element['range']}>"
    if kind == "date" and isinstance(element.get("timestamp"), int | float):
        body = f"!date^{int(element['timestamp'])}^{escape(str(element.get('format') or '{date}'))}"
        if element.get("url"):
            body += f"^{escape(str(element['url']))}"
        fallback = element.get("fallback")
        return f"<{body}|{escape(str(fallback))}>" if fallback else f"<{body}>"
    return None


def _emoji(element: Mapping[str, Any]) -> str:
    """The emoji itself when Slack gives its code points ("1f44d", "1f469-200d-1f4bb"), else its :name:."""
    code = str(element.get("unicode") or "")
    try:
        return "".join(chr(int(point, 16)) for point in code.split("-")) if code else _emoji_name(element)
    except (ValueError, OverflowError):
        return _emoji_name(element)


def _emoji_name(element: Mapping[str, Any]) -> str:
    name = str(element.get("name") or "")
    tone = element.get("skin_tone")
    if isinstance(tone, int) and "::skin-tone-" not in name:
        name += f"::skin-tone-{tone}"
    return f":{escape(name)}:" if name else ""


def _neighbour_allows(piece: _Piece | None, *, at_end: bool) -> bool:
    """May a styled piece touch this neighbour? Edges of lines, spaces and punctuation allow it; a letter or
    digit of plain text, or another styled piece glued on, would keep Slack from reading the markers."""
    if piece is None or not piece.body:
        return True
    if piece.markers:
        edge = piece.body[-1] if at_end else piece.body[0]
        return edge.isspace()
    if piece.raw is None:  # a mention or link: a control sequence, never part of a word
        return True
    edge = piece.raw[-1] if at_end else piece.raw[0]
    return edge.isspace() or not (edge.isalnum() or edge in _MARKER_CHARS)


def _styled(piece: _Piece, left: bool, right: bool) -> str:
    """Wrap each line of the piece in its markers, spaces kept outside (mrkdwn markers never span lines)."""
    opening, closing = "".join(piece.markers), "".join(reversed(piece.markers))
    lines = piece.body.split("\n")
    out = []
    for k, line in enumerate(lines):
        core = line.strip()
        lead, trail = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()) :]
        fits = (
            bool(core)
            and (k > 0 or left or bool(lead))
            and (k < len(lines) - 1 or right or bool(trail))
            and core[0] not in _MARKER_CHARS
            and core[-1] not in _MARKER_CHARS
            and not ("`" in piece.markers and "`" in core)
        )
        out.append(f"{lead}{opening}{core}{closing}{trail}" if fits else line)
    return "\n".join(out)
