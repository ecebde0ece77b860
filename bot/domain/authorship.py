"""Who answered, as the customer reads it: the staff member's name before the reply, a signature line after it, or
nothing; a channel that shows authors natively (a website widget) shows the name its own way instead.

Applied where a reply is handed to its channel, identically for the first send and for every later edit, so an
edited reply is split into the same parts as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.richtext import Run

NAME = "name"
SIGNATURE = "signature"
NONE = "none"


@dataclass(frozen=True)
class Signed:
    text: str
    rich: tuple[Run, ...] | None
    author: str | None  # for a channel that shows authors natively


def signed(
    text: str, rich: tuple[Run, ...] | None, *, style: str, author: str | None, signature: str | None, native: bool
) -> Signed:
    """``text``/``rich`` as the customer reads them. ``style`` is the team's choice (``replies.author``);
    ``signature`` the line already worded in the customer's language, with the author's name in it."""
    if style == NONE or not author:
        return Signed(text, rich, None)
    if style == SIGNATURE and signature:
        line = f"\n\n{signature}"
        return Signed(text + line, (*rich, Run(line)) if rich is not None else None, author)
    if native:
        return Signed(text, rich, author)
    prefix = f"{author}: "
    return Signed(prefix + text, (Run(prefix), *rich) if rich is not None else None, author)
