"""What ``/report`` was asked for: a period in the team's time zone and, optionally, one category or one person.

Pure, so the words a team types are tested without Slack. Periods are half-open ``[start, end)`` in UTC; weeks start
on Monday at local midnight, and a date range includes both of its days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

USAGE = (
    "Usage: `/report [this week | last week | 30d | 90d | YYYY-MM-DD..YYYY-MM-DD] [category | @person]`, "
    "e.g. `/report last week billing` or `/report 2026-11-01..2026-11-30 @jiwoo`."
)
MAX_DAYS = 366  # a longer range is refused: the report is about recent work, not the whole archive
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_DAYS = re.compile(r"^(\d{1,3})d$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^@?([UW][A-Z0-9]{2,})$")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str  # as the report's title says it: "this week (2026-11-23 – 2026-11-29)"


@dataclass(frozen=True)
class ReportRequest:
    period: Period
    category: str | None = None
    person: str | None = None  # a Slack user id


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_of(at: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The Monday that starts ``at``'s week in ``zone``, and the Monday after."""
    monday = at.astimezone(zone).date() - timedelta(days=at.astimezone(zone).weekday())
    return monday, monday + timedelta(days=7)


def week_period(monday: date, zone: ZoneInfo, label: str) -> Period:
    sunday = monday + timedelta(days=6)
    start, end = local_midnight(monday, zone), local_midnight(monday + timedelta(days=7), zone)
    return Period(start, end, f"{label} ({monday.isoformat()} – {sunday.isoformat()})")


def iso_week(monday: date) -> str:
    """The digest's key for a week, e.g. 2026-W48."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_period(words: list[str], now: datetime, zone: ZoneInfo) -> tuple[Period, list[str]] | str:
    """The period the words start with (default: this week) and the words left; or what is wrong with them."""
    folded = [w.casefold() for w in words]
    if folded[:2] in (["this", "week"], ["last", "week"]):
        monday, _ = week_of(now, zone)
        if folded[0] == "last":
            return week_period(monday - timedelta(days=7), zone, "last week"), words[2:]
        start = local_midnight(monday, zone)
        return Period(start, now, f"this week ({monday.isoformat()} – today)"), words[2:]
    if folded and (days := _DAYS.match(folded[0])):
        count = int(days.group(1))
        if not 1 <= count <= MAX_DAYS:
            return f"A period of 1 to {MAX_DAYS} days, e.g. `30d`."
        return Period(now - timedelta(days=count), now, f"the last {count} days"), words[1:]
    if folded and (span := _RANGE.match(folded[0])):
        try:
            first, last = date.fromisoformat(span.group(1)), date.fromisoformat(span.group(2))
        except ValueError:
            return f"“{words[0]}” is not a range of real dates (YYYY-MM-DD..YYYY-MM-DD)."
        if last < first:
            return f"“{words[0]}” ends before it starts."
        if (last - first).days + 1 > MAX_DAYS:
            return f"A range of at most {MAX_DAYS} days."
        start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
        return Period(start, end, f"{first.isoformat()} – {last.isoformat()}"), words[1:]
    monday, _ = week_of(now, zone)
    return Period(local_midnight(monday, zone), now, f"this week ({monday.isoformat()} – today)"), words


def parse_request(text: str, now: datetime, zone: ZoneInfo, categories: list[str]) -> ReportRequest | str:
    """The command's text as a request, or a one-line complaint that ends with the usage."""
    parsed = parse_period(text.split(), now, zone)
    if isinstance(parsed, str):
        return f"{parsed} {USAGE}"
    period, rest = parsed
    if not rest:
        return ReportRequest(period)
    if len(rest) > 1:
        return f"Only one category or person after the period, not “{' '.join(rest)}”. {USAGE}"
    word = rest[0]
    if mention := _MENTION.match(word) or _USER_ID.match(word):
        return ReportRequest(period, person=mention.group(1))
    by_folded = {c.casefold(): c for c in categories}
    if word.casefold() in by_folded:
        return ReportRequest(period, category=by_folded[word.casefold()])
    known = ", ".join(sorted(categories)) or "none configured"
    hint = " Pick the person from Slack's list after @, so the command knows who." if word.startswith("@") else ""
    return f"“{word}” is neither a period, a category ({known}) nor a person.{hint} {USAGE}"
