"""Channel-neutral rich text: what staff wrote, as styled runs that every customer channel renders its own way.

Staff write Slack mrkdwn; ``bot.slack.mrkdwn`` parses it once into runs, and each connector turns the runs into its
own format (Telegram HTML, the website's DOM, plain text). Nothing here knows any platform's syntax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

STYLES = frozenset({"b", "i", "s", "code", "pre", "quote"})


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


def display_target(url: str) -> str:
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
    return f"{run.text} ({display_target(run.href)})"



def plain_text(runs: Iterable[Run]) -> str:
    """Rich text as plain text for a customer: styles disappear (the words stay), links read 'label (url)',
    quoted lines keep a '> ' prefix."""
    out: list[str] = []
    at_line_start = True
    for run in runs:
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


def to_json(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Runs as JSON, to travel in a delivery job."""
    out: list[dict[str, Any]] = []
    for run in runs:
        item: dict[str, Any] = {"t": run.text}
        if run.styles:
            item["s"] = sorted(run.styles)
        if run.href is not None:
            item["h"] = run.href
        out.append(item)
    return out


def from_json(data: Any) -> list[Run]:
    """Runs back from ``to_json``; anything malformed is dropped rather than trusted."""
    runs: list[Run] = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("t"), str):
            continue
        styles = frozenset(s for s in item.get("s") or () if s in STYLES)
        href = item.get("h")
        runs.append(Run(item["t"], styles, href if isinstance(href, str) else None))
    return runs
