"""Record ids as people type them and buttons carry them back: plain digits that a row can have, or nothing.

Every id column is a 64-bit integer (SQLite INTEGER, PostgreSQL BIGINT). A bigger number is no row's id, but asking
the database for it fails instead of finding nothing (SQLite's driver raises OverflowError, asyncpg a DataError), so a
number is checked here, where it is read, before any query sees it.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(text: str) -> int | None:
    """``"12"`` as 12; None for anything but ASCII digits (``"²"`` passes ``str.isdigit``, not ``int``) and for a
    number beyond ``MAX_ID``."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS:  # also spares int() a number thousands of digits long
        return None
    number = int(digits)
    return number if number <= MAX_ID else None


def is_id(value: object) -> bool:
    """Whether a value read from JSON (a button's state, a form's metadata) is an int that a row can have."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID
