"""SQLite's index of short grams: what lets ``/history`` rule out a one- or two-character term without a scan.

A trigram index cannot hold a term shorter than three characters, and Korean words of two syllables (``환불``,
``결제``) are common search terms; PostgreSQL serves them with a GIN index over ``threadbridge_grams(text)``
(migration 0003). SQLite gets the same through contentless FTS5 tables (migration 0012), one token per distinct
one- and two-character gram of the text. A gram becomes an ASCII token (each character's code point in hex, ended
by ``y``: ``"환"`` -> ``"gd658y"``) so no tokenizer can split, fold or drop it, and the index agrees with LIKE
exactly: ASCII letters are folded, nothing else is.

The tables are written by triggers, which call ``threadbridge_grams`` on every connection the bot opens
(``register``). A connection opened elsewhere (the ``sqlite3`` shell) can read the archive; writing a message there
fails with "no such function: threadbridge_grams" instead of leaving the index behind. The tokens are part of the
stored index: a change to how they are made needs a migration that rebuilds the tables.
"""

from __future__ import annotations

import sqlite3
from typing import Any

FUNCTION = "threadbridge_grams"
LONGEST = 2
"""Grams of up to this many characters are indexed: a longer term is the trigram index's."""

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _token(gram: str) -> str:
    return "g" + "".join(f"{ord(ch):x}y" for ch in gram)


def term_token(term: str) -> str | None:
    """The index token a search term of one or two characters is found by; None when the index cannot serve it
    (too long, or holding whitespace, which no gram does)."""
    if not 0 < len(term) <= LONGEST or any(ch.isspace() for ch in term):
        return None
    return _token(term.translate(_ASCII_LOWER))


def grams(*texts: Any) -> str:
    """Every distinct gram token of ``texts`` (each on its own: no gram spans two), separated by spaces."""
    found: dict[str, None] = {}
    for value in texts:
        if not value:
            continue
        text = str(value).translate(_ASCII_LOWER)
        previous = ""
        for ch in text:
            if ch.isspace():
                previous = ""
                continue
            found[_token(ch)] = None
            if previous:
                found[_token(previous + ch)] = None
            previous = ch
    return " ".join(found)


def register(connection: sqlite3.Connection | Any) -> None:
    """Give a SQLite connection the function the gram tables' triggers call (the DB-API connection, or the
    aiosqlite adapter SQLAlchemy hands to its ``connect`` event)."""
    connection.create_function(FUNCTION, -1, grams, deterministic=True)
