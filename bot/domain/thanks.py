"""Telling a short thanks from a new question: after Close, "감사합니다!", "thanks 🙏" or a thumbs-up sticker is
archived into the closed thread, while anything more opens a new inquiry."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

_DROPPED = ("P", "Z", "Sk", "Mn", "Cf")  # punctuation, spaces, skin tones, joiners and variation selectors
_DROPPED_SYMBOLS = set("~^:;)(-=<>")  # and the emoticons people end a thanks with: "감사합니다~", "thanks :)"
SHORT = 200  # characters: a message longer than this is more than a thanks, whatever it says


def _folded(text: str) -> str:
    kept = (
        ch
        for ch in unicodedata.normalize("NFC", text).casefold()
        if not unicodedata.category(ch).startswith(_DROPPED) and ch not in _DROPPED_SYMBOLS
    )
    return "".join(kept)


def is_thanks(text: str, sticker: str | None, phrases: Iterable[str]) -> bool:
    """Whether a message is only one of ``phrases`` (punctuation, spacing, case and trailing emoticons aside), or
    a sticker standing for one of them. "Thank you 🙏" is a thanks when both "thank you" and "🙏" are."""
    wanted = {_folded(p) for p in phrases} - {""}
    if not wanted or len(text) > SHORT:
        return False
    words = _folded(text)
    if not words:
        return sticker is not None and _folded(sticker) in wanted
    return _only(words, wanted)


def _only(words: str, wanted: set[str]) -> bool:
    """``words`` is one or more of the phrases, one after the other, and nothing else."""
    longest = max(len(w) for w in wanted)
    reachable = {0}
    for end in range(1, len(words) + 1):
        starts = range(max(0, end - longest), end)
        if any(start in reachable and words[start:end] in wanted for start in starts):
            reachable.add(end)
    return len(words) in reachable
