"""Customers' names as staff can read them.

A messenger name can look blank: people pick the Hangul filler ``ㅤ`` or zero-width characters on purpose, so a
thread would start "New inquiry from **" and ``/customer`` would list nobody. Such a name is replaced by one that
says who it is (the @username, else the channel's id for the person).
"""

from __future__ import annotations

import unicodedata

_BLANK_LETTERS = frozenset(
    {
        "\u115f",  # HANGUL CHOSEONG FILLER
        "\u1160",  # HANGUL JUNGSEONG FILLER
        "\u3164",  # HANGUL FILLER (ㅤ), the favourite "empty" name
        "\uffa0",  # HALFWIDTH HANGUL FILLER
        "\u2800",  # BRAILLE PATTERN BLANK, drawn as an empty space
    }
)
"""Characters Unicode counts as letters or symbols that draw nothing."""

_INVISIBLE_CATEGORIES = ("Z", "Cc", "Cf", "Cs", "M")
"""White space and separators, controls, format characters (zero-width space and joiners, word joiner, BOM,
directional marks, ...), lone surrogates, and combining marks, which show nothing without a base character.
Unassigned code points (Cn) count as visible: they may be characters newer than this Python knows (a new emoji)."""


def is_visible(text: str) -> bool:
    """Whether ``text`` draws at least one character a reader can see."""
    for char in text:
        if char in _BLANK_LETTERS:
            continue
        if unicodedata.category(char).startswith(_INVISIBLE_CATEGORIES):
            continue
        return True
    return False


def readable_name(display_name: str, username: str | None, fallback: str) -> str:
    """``display_name`` when it shows anything, else ``@username``, else ``fallback`` (e.g. "Telegram user 42")."""
    if is_visible(display_name):
        return display_name
    if username and is_visible(username):
        return f"@{username}"
    return fallback
