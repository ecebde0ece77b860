"""What customers do on their channel besides writing, and how a run of it reads in one line.

A channel reports activities (``bot.connectors.base.Activity``): pages a visitor viewed, an email address left for
the answer. They are kept on the customer's timeline; views are summed up on the next thread's first message, e.g.
"viewed /pricing 3×, then /signup", short enough for a Slack context line.
"""

from __future__ import annotations

from collections.abc import Sequence

VIEWED = "viewed"  # the customer looked at something (a page): label = its short form, e.g. "/pricing"
LEFT_CONTACT = "left_contact"  # the customer left a way to be answered outside the chat: label = the address
KINDS = (VIEWED, LEFT_CONTACT)

LABEL_LIMIT = 80  # characters of one label in a summary
SUMMARY_LIMIT = 300  # characters of a whole summary (a context line, well inside Slack's limits)


def _short(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= LABEL_LIMIT else label[: LABEL_LIMIT - 1] + "…"


def runs(labels: Sequence[str]) -> list[tuple[str, int]]:
    """Consecutive repeats folded: [a, a, a, b] -> [(a, 3), (b, 1)]."""
    out: list[tuple[str, int]] = []
    for label in labels:
        short = _short(label)
        if not short:
            continue
        if out and out[-1][0] == short:
            out[-1] = (short, out[-1][1] + 1)
        else:
            out.append((short, 1))
    return out


def summarize_views(labels: Sequence[str], limit: int = SUMMARY_LIMIT) -> str:
    """Views in the order they happened as one plain line ("viewed /pricing 3×, then /signup"); the latest kept
    when they do not all fit ("viewed … /a, then /b"). "" for none. Plain text: escape it where it is shown."""
    folded = [f"{label} {count}×" if count > 1 else label for label, count in runs(labels)]
    if not folded:
        return ""
    kept: list[str] = []
    for piece in reversed(folded):
        candidate = ", then ".join([piece, *kept])
        if kept and len("viewed … " + candidate) > limit:
            break
        kept.insert(0, piece)
    line = ", then ".join(kept)
    prefix = "viewed " if len(kept) == len(folded) else "viewed … "
    return (prefix + line)[:limit]
