"""``/history`` queries: free words and ``key:value`` filters, dates, and the cursor that pages through results."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.domain.ids import is_id
from bot.store.search_results import Hit
from bot.usecases.errors import CrmError

MAX_QUERY_CHARS = 500  # the query travels in a "more" button's value (2,000 characters at most)
PAGE_SIZE = 10
FILTER_KEYS = ("customer", "category", "channel", "from", "to", "tag")
_TOKEN = re.compile(r'(?P<key>[A-Za-z]+):(?:"(?P<qvalue>[^"]*)"|(?P<value>\S+))|"(?P<phrase>[^"]+)"|(?P<word>\S+)')


@dataclass(frozen=True)
class ParsedQuery:
    """``/history`` text split into free terms and ``key:value`` filters (values as typed)."""

    terms: tuple[str, ...]
    filters: dict[str, str]


def parse_query(text: str) -> ParsedQuery:
    """Split a query: ``"two words"`` is one term, ``customer:@ana`` / ``from:2026-01-31`` are filters; any other
    ``word:thing`` (a time, a URL) is an ordinary term."""
    terms: list[str] = []
    filters: dict[str, str] = {}
    for m in _TOKEN.finditer(text):
        key = (m.group("key") or "").lower()
        if key:
            value = m.group("qvalue") if m.group("qvalue") is not None else m.group("value")
            if key in FILTER_KEYS and value:
                filters[key] = value
                continue
            terms.append(m.group(0))
        elif m.group("phrase"):
            terms.append(m.group("phrase"))
        else:
            word = m.group("word").strip('"')
            if word:
                terms.append(word)
    return ParsedQuery(terms=tuple(dict.fromkeys(terms)), filters=filters)


def parse_day(value: str, *, end: bool = False) -> datetime:
    """``2026-11``, ``2026-11-24`` or ``2026`` as the UTC start of that period (``end``: the start of the next)."""
    parts = value.strip().split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 1:
            start, after = date(numbers[0], 1, 1), date(numbers[0] + 1, 1, 1)
        elif len(numbers) == 2:
            start = date(numbers[0], numbers[1], 1)
            after = date(numbers[0] + (numbers[1] == 12), numbers[1] % 12 + 1, 1)
        elif len(numbers) == 3:
            start = date(numbers[0], numbers[1], numbers[2])
            after = start + timedelta(days=1)
        else:
            raise ValueError(value)
    except (ValueError, OverflowError):
        raise CrmError(f"“{value}” is not a date: write it as 2026-11-24 (or 2026-11, or 2026).") from None
    day = after if end else start
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: below these ids in each source; 0 means that source is exhausted."""

    messages_before: int | None = None
    notes_before: int | None = None
    page: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"m": self.messages_before, "a": self.notes_before, "p": self.page}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cursor:
        def number(value: Any) -> int | None:
            return value if is_id(value) else None  # a page boundary no row can have starts from the newest

        page = data.get("p")
        return cls(number(data.get("m")), number(data.get("a")), page if isinstance(page, int) and page > 0 else 1)


def merge_by_time(first: Sequence[Hit], second: Sequence[Hit], limit: int) -> tuple[list[Hit], int, int]:
    """The newest ``limit`` of two newest-first lists, taking from their heads only (so each source's taken part is
    a prefix and keyset paging stays exact); returns the page and how many came from each list."""
    page: list[Hit] = []
    i = j = 0
    while len(page) < limit and (i < len(first) or j < len(second)):
        if j >= len(second) or (i < len(first) and first[i].created_at >= second[j].created_at):
            page.append(first[i])
            i += 1
        else:
            page.append(second[j])
            j += 1
    return page, i, j
