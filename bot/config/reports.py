"""The ``reports`` section: the time zone reports count days and weeks in, the font charts are drawn with, and the
weekly digest (which channel, which day, what time). Optional; without it ``/report`` still works and no digest
is posted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.errors import ConfigError
from bot.config.fields import channel_id, check_keys
from bot.domain.models import BusinessHours

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_KEYS = ("timezone", "font", "digest")
_DIGEST_KEYS = ("channel", "day", "time")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Digest:
    """Last week's report, posted to ``channel`` every ``weekday`` (0 = Monday) at ``minute`` after local midnight."""

    channel: str
    weekday: int = 0
    minute: int = 9 * 60


@dataclass(frozen=True)
class Reports:
    timezone: str | None = None  # None: the default business hours' zone, else UTC
    font: str | None = None  # a font family or a .ttf/.otf path; None: the first installed font that has Hangul
    digest: Digest | None = None

    def zone(self, hours: Mapping[str, BusinessHours]) -> ZoneInfo:
        """Where a team's days and weeks start: this section's zone, the default business hours', or UTC."""
        if self.timezone:
            return ZoneInfo(self.timezone)
        team = hours.get("default") or next(iter(hours.values()), None)
        return ZoneInfo(team.timezone if team else "UTC")


def parse_reports(node: object) -> Reports:
    if node is None:
        return Reports()
    if not isinstance(node, Mapping):
        raise ConfigError("reports", "a mapping with timezone, font and digest")
    check_keys(node, "reports.", _KEYS)
    zone = node.get("timezone")
    if zone is not None:
        if not isinstance(zone, str) or not zone.strip():
            raise ConfigError("reports.timezone", "an IANA time zone such as Asia/Seoul")
        try:
            ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("reports.timezone", f'an IANA time zone such as Asia/Seoul, not "{zone}"') from None
        zone = zone.strip()
    font = node.get("font")
    if font is not None and (not isinstance(font, str) or not font.strip()):
        raise ConfigError("reports.font", "a font family name (e.g. NanumGothic) or the path of a .ttf/.otf file")
    return Reports(timezone=zone, font=font.strip() if font else None, digest=_digest(node.get("digest")))


def _digest(node: object) -> Digest | None:
    if node is None:
        return None
    if not isinstance(node, Mapping):
        raise ConfigError("reports.digest", "a mapping with channel, day and time")
    check_keys(node, "reports.digest.", _DIGEST_KEYS)
    channel = channel_id(node.get("channel"), "reports.digest.channel")
    day = node.get("day", "monday")
    if not isinstance(day, str) or day.strip().lower() not in WEEKDAYS:
        raise ConfigError("reports.digest.day", f"a day of the week ({', '.join(WEEKDAYS)}); default monday")
    at = node.get("time", "09:00")
    match = _TIME.match(at.strip()) if isinstance(at, str) else None
    if match is None:
        raise ConfigError("reports.digest.time", 'a time of day "HH:MM" in the reports\' time zone; default "09:00"')
    minute = int(match.group(1)) * 60 + int(match.group(2))
    return Digest(channel=channel, weekday=WEEKDAYS.index(day.strip().lower()), minute=minute)
