"""Which staff messages in a thread go to the customer, and what of them.

By default every thread reply goes out and one that starts with ``note:`` or ``private:`` stays internal. In
explicit-send mode (for teams afraid that a slip reaches the customer) only a reply that starts with the send prefix
goes out, without the prefix; everything else stays internal. Edits are judged by the same rule, so an edit can
tell whether it turned a reply into a note or the other way round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.richtext import Run

_NOTE_PREFIX = re.compile(r"^\s*(note|private)\s*:", re.IGNORECASE)


def is_internal_note(text: str) -> bool:
    """Staff text that starts with ``note:`` or ``private:`` (any case) stays in Slack."""
    return bool(_NOTE_PREFIX.match(text))


@dataclass(frozen=True)
class ReplyPolicy:
    explicit: bool = False
    prefix: str = "send:"

    def _send_prefix(self, text: str) -> re.Match[str] | None:
        return re.match(r"\s*" + re.escape(self.prefix.strip()) + r"\s*", text, re.IGNORECASE)

    def internal(self, text: str) -> bool:
        """Whether a staff message (its words as plain text, or as written) stays in Slack."""
        if is_internal_note(text):
            return True
        return self.explicit and self._send_prefix(text) is None

    def to_send(self, runs: tuple[Run, ...]) -> tuple[Run, ...]:
        """What of a reply the customer reads: in explicit mode, the reply without its send prefix."""
        if not self.explicit:
            return runs
        text = "".join(r.text for r in runs)
        found = self._send_prefix(text)
        return _drop(runs, found.end()) if found else runs

    def without_note_prefix(self, runs: tuple[Run, ...]) -> tuple[Run, ...]:
        """A note sent on purpose (the message shortcut): its words without ``note:``, or the send prefix."""
        text = "".join(r.text for r in runs)
        found = _NOTE_PREFIX.match(text) or self._send_prefix(text)
        if not found:
            return runs
        cut = found.end()
        while cut < len(text) and text[cut].isspace():
            cut += 1
        return _drop(runs, cut)


def _drop(runs: tuple[Run, ...], count: int) -> tuple[Run, ...]:
    """The runs without their first ``count`` characters."""
    kept: list[Run] = []
    for run in runs:
        if count >= len(run.text):
            count -= len(run.text)
            continue
        kept.append(Run(run.text[count:], run.styles, run.href) if count else run)
        count = 0
    return tuple(kept)
