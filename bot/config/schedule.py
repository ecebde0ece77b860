"""The ``business_hours`` section: when each team works, in its own time zone, minus holidays."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.errors import ConfigError
from bot.config.fields import KEY, check_keys
from bot.config.texts import localized
from bot.domain.models import BusinessHours

_HOURS_KEYS = ("timezone", "weekly", "holidays", "auto_reply")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_business_hours(node: object) -> dict[str, BusinessHours]:
    """Named weekly schedules; the one called "default" applies to categories that name none."""
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ConfigError("business_hours", "a mapping of team name to timezone, weekly and holidays")
    result: dict[str, BusinessHours] = {}
    for name, spec in node.items():
        if not isinstance(name, str) or not KEY.match(name):
            raise ConfigError(f"business_hours.{name}", "a name of letters, digits, _ and - (e.g. default, dev)")
        result[name] = _schedule(name, spec)
    return result


def _schedule(name: str, spec: object) -> BusinessHours:
    path = f"business_hours.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(path, "a mapping with timezone, weekly and holidays")
    check_keys(spec, f"{path}.", _HOURS_KEYS)

    zone = spec.get("timezone")
    if not isinstance(zone, str) or not zone.strip():
        raise ConfigError(f"{path}.timezone", "an IANA time zone such as Asia/Seoul")
    zone = zone.strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{path}.timezone", f'an IANA time zone such as Asia/Seoul, not "{zone}"') from None

    weekly_raw = spec.get("weekly")
    if not isinstance(weekly_raw, Mapping) or not weekly_raw:
        raise ConfigError(f"{path}.weekly", 'a mapping of days to hours, e.g. {mon-fri: "09:00-18:00"}')
    days: list[list[tuple[int, int]]] = [[] for _ in _DAYS]
    for day_key, ranges_raw in weekly_raw.items():
        where = f"{path}.weekly.{day_key}"
        for day in _day_span(day_key, where):
            days[day].extend(_ranges(ranges_raw, where))
    weekly: list[tuple[tuple[int, int], ...]] = []
    for day, ranges in enumerate(days):
        ranges.sort()
        for (s1, e1), (s2, e2) in itertools.pairwise(ranges):
            if s2 < e1:
                both = f"{_hhmm(s1)}-{_hhmm(e1)} and {_hhmm(s2)}-{_hhmm(e2)}"
                raise ConfigError(f"{path}.weekly", f"hours that do not overlap, but {_DAYS[day]} has {both}")
        merged: list[tuple[int, int]] = []
        for start, end in ranges:
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        weekly.append(tuple(merged))
    if not any(weekly):
        raise ConfigError(f"{path}.weekly", "hours on at least one day")

    holidays: set[date] = set()
    holidays_raw = spec.get("holidays")
    if holidays_raw is not None:
        if not isinstance(holidays_raw, list):
            raise ConfigError(f"{path}.holidays", "a list of dates (YYYY-MM-DD)")
        for i, value in enumerate(holidays_raw):
            holidays.add(_date(value, f"{path}.holidays[{i}]"))

    raw_reply = spec.get("auto_reply")
    replies = MappingProxyType(localized(raw_reply, f"{path}.auto_reply")) if raw_reply is not None else None
    auto_reply = raw_reply if isinstance(raw_reply, str) else None
    return BusinessHours(
        name=name, timezone=zone, weekly=tuple(weekly), holidays=frozenset(holidays), auto_reply=auto_reply,
        auto_replies=replies or MappingProxyType({}),
    )  # fmt: skip


def _day_span(key: object, where: str) -> list[int]:
    """ "mon" or "mon-fri" as weekday numbers (Monday is 0)."""
    expected = "a day (mon, tue, wed, thu, fri, sat, sun) or a span of days such as mon-fri"
    if not isinstance(key, str):
        raise ConfigError(where, expected)
    first, sep, last = key.strip().lower().partition("-")
    if first not in _DAYS or (sep and last not in _DAYS):
        raise ConfigError(where, expected)
    start, end = _DAYS.index(first), _DAYS.index(last) if sep else _DAYS.index(first)
    if end < start:
        raise ConfigError(where, f"{expected}, Monday to Sunday in order")
    return list(range(start, end + 1))


def _ranges(value: object, where: str) -> list[tuple[int, int]]:
    """ "09:00-18:00", a list of such ranges, or "closed"/[] for none; minutes after local midnight."""
    expected = 'a time range "HH:MM-HH:MM" (24-hour clock), a list of them, or "closed"'
    if value is None or value == [] or (isinstance(value, str) and value.strip().lower() == "closed"):
        return []
    items = value if isinstance(value, list) else [value]
    ranges: list[tuple[int, int]] = []
    for item in items:
        if not isinstance(item, str) or (match := _TIME_RANGE.match(item)) is None:
            raise ConfigError(where, expected)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start >= 24 * 60 or end > 24 * 60:
            raise ConfigError(where, expected)
        if end <= start:
            night = "split a night: 22:00-24:00 and 00:00-06:00"
            raise ConfigError(where, f"a range ending after it starts, not {item.strip()} ({night})")
        ranges.append((start, end))
    return ranges


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _date(value: object, key: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ConfigError(key, f'a date that exists ("{text}" is not in the calendar)') from None
    raise ConfigError(key, "a date YYYY-MM-DD")
