"""A report's figures, as every surface shows them (the Slack message, the charts, the digest, the CSV).

Pure: the numbers are added up from per-group counts and per-conversation durations, so the arithmetic is tested
without a database. Percentiles are nearest-rank: the value at rank ceil(p/100 * n) of the sorted durations, one
that actually occurred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.periods import Period


def percentile(values: Sequence[int], p: float) -> int | None:
    """The nearest-rank ``p``th percentile of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Figures:
    """The numbers of one slice of a period: the whole, one category or one person."""

    opened: int = 0
    closed: int = 0
    answered: int = 0
    targeted: int = 0
    within_target: int = 0
    first_response_p50: int | None = None  # seconds of business time, holds excluded
    first_response_p90: int | None = None
    resolution_p50: int | None = None  # wall-clock seconds
    resolution_p90: int | None = None
    surveys_asked: int = 0
    surveys_rated: int = 0
    rating_sum: int = 0

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.targeted if self.targeted else None

    @property
    def rating_average(self) -> float | None:
        return self.rating_sum / self.surveys_rated if self.surveys_rated else None

    @property
    def response_rate(self) -> float | None:
        return self.surveys_rated / self.surveys_asked if self.surveys_asked else None


@dataclass
class Report:
    period: Period
    scope: str  # "everyone", a category's label, or a person's mention
    total: Figures
    by_category: dict[str, Figures] = field(default_factory=dict)  # key ("" for none) -> figures
    by_person: dict[str, Figures] = field(default_factory=dict)  # Slack user id ("" for nobody) -> figures
    hours: list[int] = field(default_factory=lambda: [0] * 24)  # conversations opened per local hour of day
    top_tags: list[tuple[str, int]] = field(default_factory=list)
    saved_replies: list[tuple[str, int]] = field(default_factory=list)

    def busiest_hours(self, count: int = 3) -> list[int]:
        """The local hours of day most conversations opened in, busiest first (ties: earlier first)."""
        ranked = sorted(range(24), key=lambda h: (-self.hours[h], h))
        return [h for h in ranked[:count] if self.hours[h]]


def minutes_text(seconds: int | None) -> str:
    """A duration as people read it in a report: "–", "45 s", "12 min", "3.5 h", "2.1 d"."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def share_text(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"
