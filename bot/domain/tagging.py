"""Keyword rules that tag a conversation by themselves: a rule matches when a customer message holds any of its
keywords, case aside (NFC-normalised, so a Korean word matches wherever it stands: "환불" in "환불이요")."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar


class Rule(Protocol):
    @property
    def keywords(self) -> Sequence[str]: ...


R = TypeVar("R", bound=Rule)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def matching_rules(text: str, rules: Iterable[R]) -> list[R]:
    """The rules whose keywords ``text`` holds, in the order configured."""
    folded = _folded(text)
    if not folded.strip():
        return []
    return [rule for rule in rules if any(_folded(word) in folded for word in rule.keywords)]


def tag_name(value: str | None, names: Sequence[str]) -> str | None:
    """A ``tag:`` filter's value as the tag is configured (case aside); a retired tag as typed."""
    if value is None:
        return None
    folded = value.strip().casefold()
    return next((name for name in names if name.casefold() == folded), value.strip())
