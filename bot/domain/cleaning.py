"""Text from outside made storable the same way on every database, losing nothing a person could see.

PostgreSQL refuses NUL in text, and no database can store a lone UTF-16 surrogate (which JSON can carry); SQLite
would take the NUL, so without this the two databases would keep different archives.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

_NUL = "\x00"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

T = TypeVar("T")


def clean_text(text: str) -> str:
    """``text`` without NUL characters, lone surrogates shown as U+FFFD."""
    if _NUL in text:
        text = text.replace(_NUL, "")
    return _LONE_SURROGATE.sub("\ufffd", text)


def clean(value: T) -> T:
    """Every string inside a frozen dataclass (and its nested dataclasses and tuples) cleaned."""
    return _clean(value)  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, tuple):
        return tuple(_clean(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value
