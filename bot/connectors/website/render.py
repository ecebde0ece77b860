"""What the team wrote, cut into the widget's parts: plain text, or staff formatting as runs the frame builds into
elements (bold, italic, code, quotes, links) with ``textContent``; never HTML."""

from __future__ import annotations

from typing import Any

from bot.connectors.base import Outgoing
from bot.domain.richtext import Run, plain_text, to_json
from bot.domain.textsplit import cluster_safe, split_text


def shown(runs: list[Run]) -> str:
    """The text a visitor reads of runs: every run's own text (a link shows its label)."""
    return "".join(run.text for run in runs)


def chunks(outgoing: Outgoing, limit: int) -> list[dict[str, Any]]:
    """The text parts of a send, each at most ``limit`` characters as the visitor reads it."""
    if outgoing.rich is None:
        text = outgoing.text
        return [{"text": text[a:b]} for a, b in split_text(text, limit, strict=cluster_safe(text), strip=True)]
    runs = list(outgoing.rich)
    whole = shown(runs)
    out: list[dict[str, Any]] = []
    for a, b in split_text(whole, limit, strict=cluster_safe(whole), strip=True):
        piece = _slice(runs, a, b)
        out.append({"text": plain_text(piece), "runs": to_json(piece)})
    return out


def _slice(runs: list[Run], start: int, end: int) -> list[Run]:
    """The runs covering characters ``start:end`` of their shown text, cut at the edges (styles and links kept)."""
    out: list[Run] = []
    at = 0
    for run in runs:
        a, b = max(start, at), min(end, at + len(run.text))
        if a < b:
            out.append(Run(run.text[a - at : b - at], run.styles, run.href))
        at += len(run.text)
    return out
