"""Business hours as arithmetic: is a team at work now, and when does a clock that only runs in hours run out.

Pure (no I/O), so the rules that decide when an inquiry is overdue are tested without a database or a clock.
``None`` for the hours means "always open": a team that configured no hours is treated as working around the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.models import BusinessHours

__all__ = ["add_business_time", "business_seconds", "is_open", "next_open", "open_intervals"]

_HORIZON_DAYS = 400  # a schedule with no open hour for more than a year is treated as never opening


def _local(day: datetime, minutes: int, zone: ZoneInfo) -> datetime:
    """The aware moment ``minutes`` after local midnight of ``day``'s date (24:00 is the next midnight)."""
    midnight = datetime.combine(day.date(), time(0), tzinfo=zone)
    if minutes >= 24 * 60:
        return datetime.combine(day.date() + timedelta(days=1), time(0), tzinfo=zone)
    # Wall-clock arithmetic on an aware datetime keeps the zone, so 09:00 stays 09:00 across a DST change.
    return midnight + timedelta(minutes=minutes)


def open_intervals(hours: BusinessHours, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The team's working intervals (UTC) from ``start`` on, the first one cut to begin no earlier than ``start``."""
    zone = ZoneInfo(hours.timezone)
    first = start.astimezone(zone)
    for offset in range(-1, _HORIZON_DAYS):
        day = first + timedelta(days=offset)
        if day.date() in hours.holidays:
            continue
        for begin, end in hours.weekly[day.weekday()]:
            a = _local(day, begin, zone).astimezone(UTC)
            b = _local(day, end, zone).astimezone(UTC)
            if b <= start:
                continue
            yield max(a, start), b


def is_open(hours: BusinessHours | None, at: datetime) -> bool:
    """Whether the team works at ``at``."""
    if hours is None:
        return True
    first = next(open_intervals(hours, at), None)
    return first is not None and first[0] <= at


def next_open(hours: BusinessHours | None, at: datetime) -> datetime | None:
    """``at`` itself when the team works then, else when it next starts; None if never within a year."""
    if hours is None:
        return at
    first = next(open_intervals(hours, at), None)
    return first[0] if first else None


def add_business_time(hours: BusinessHours | None, start: datetime, minutes: float) -> datetime | None:
    """When a clock started at ``start`` that runs only in working hours has counted ``minutes``.

    This is how a first-response target pauses outside business hours: an inquiry written on Friday night with a
    ten-minute target is due ten minutes after Monday's opening. None when the hours never open within a year.
    """
    if hours is None:
        return start + timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    for a, b in open_intervals(hours, start):
        if remaining <= b - a:
            return a + remaining
        remaining -= b - a
    return None


def business_seconds(hours: BusinessHours | None, start: datetime, end: datetime) -> float:
    """Working seconds between two moments: the paused clock's reading, e.g. for the archived first-response time."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds()
    total = 0.0
    for a, b in open_intervals(hours, start):
        if a >= end:
            break
        total += (min(b, end) - a).total_seconds()
    return total
