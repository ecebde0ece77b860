"""Proactive pacing, so the platforms' rate limits are rarely hit rather than hit and retried.

A target is where a job's API calls land ("slack:C123", "telegram:42"). Each target has a token bucket; some
targets also share a bucket with their whole family (Telegram's ~30 messages per second across all chats).
``reserve`` never refuses: it books the next free slot and says how long to wait for it, so the caller can sleep
without holding anything a different target needs.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Protocol

from bot.domain.models import Rate


class _Bucket:
    def __init__(self, rate: Rate, now: float, headroom: float) -> None:
        self.burst = rate.burst
        self.per_second = rate.per_second * headroom
        self.tokens = float(rate.burst)
        self.updated = now

    def reserve(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.per_second

    def full_by(self, now: float) -> bool:
        """Refilled to its burst: the same as a new bucket, so it can be forgotten without changing any wait."""
        return self.tokens + (now - self.updated) * self.per_second >= self.burst


# Slack: chat.postMessage ~1/s per channel ("short bursts tolerated", but how short is not said: a burst of 3 drew
# 429s in the burst benchmark, so none is assumed); chat.update is Tier 3 (50+/min per workspace).
# Customer channels bring their own rates (bot.connectors.base.Limits: per chat and overall).
SLACK_RATES: dict[str, Rate] = {
    "slack": Rate(1.0, 1),
    "slack-update": Rate(0.8, 10),
}


EVICT_PER_CALL = 2  # idle targets forgotten per reservation, oldest first: more than a reservation can add


class UnpacedTarget(KeyError):
    """A job for a target no rate was declared for: refused rather than sent unpaced."""


class Paced(Protocol):
    """What a customer channel declares about its pace (bot.connectors.base.Limits)."""

    @property
    def per_chat(self) -> Rate: ...

    @property
    def overall(self) -> Rate | None: ...


def rates_for(
    slack_posts_per_second: float, channels: Mapping[str, Paced]
) -> tuple[dict[str, Rate], dict[str, Rate]]:
    """The buckets: Slack's (per channel at the operator's rate) and every customer channel's declared limits;
    returns (per-target rates, per-family rates)."""
    rates = {**SLACK_RATES, "slack": Rate(slack_posts_per_second, SLACK_RATES["slack"].burst)}
    families: dict[str, Rate] = {}
    for channel, limits in channels.items():
        rates[channel] = limits.per_chat
        if limits.overall is not None:
            families[channel] = limits.overall
    return rates, families


class Pacer:
    def __init__(
        self,
        rates: dict[str, Rate] | None = None,
        family_rates: dict[str, Rate] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        headroom: float = 0.9,
        strict: bool = True,
    ) -> None:
        """``headroom`` < 1 spaces calls a little wider than the limit: two calls sent exactly one interval apart
        can arrive a hair closer together, and a strict limiter answers that with a 429."""
        self.headroom = headroom
        self.rates = SLACK_RATES if rates is None else rates
        self.family_rates = {} if family_rates is None else family_rates
        self.strict = strict
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently used first
        self._blocked_until: dict[str, float] = {}
        self._last_call: OrderedDict[str, float] = OrderedDict()  # least recently called first

    @classmethod
    def unlimited(cls, *, clock: Callable[[], float] = time.monotonic) -> Pacer:
        """No buckets at all (tests about something else, benchmarks of the bare path); 429s still block."""
        return cls({}, {}, clock=clock, strict=False)

    @staticmethod
    def family(target: str) -> str:
        return target.split(":", 1)[0]

    def _bucket(self, key: str, rate: Rate | None, now: float) -> _Bucket | None:
        if rate is None:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:  # full as of the reservation's now: a later reading would leave it a hair short
            bucket = self._buckets[key] = _Bucket(rate, now, self.headroom)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def tracked(self) -> int:
        """How many targets the pacer remembers anything about (buckets, last calls, 429 blocks)."""
        return len(self._buckets.keys() | self._last_call.keys() | self._blocked_until.keys())

    def _forget_idle(self, now: float) -> None:
        """Forget, least recently used first, what no longer changes any wait: a bucket refilled to its burst is
        the same as a new one, a last call more than an interval ago spaces nothing. Without this every chat that
        ever wrote keeps its bucket for ever. Both maps are kept in order of use, so this is O(1) per call."""
        for _ in range(EVICT_PER_CALL):
            if not self._buckets:
                break
            key, bucket = next(iter(self._buckets.items()))
            if not bucket.full_by(now):
                break
            del self._buckets[key]
        for _ in range(EVICT_PER_CALL):
            if not self._last_call:
                break
            target, at = next(iter(self._last_call.items()))
            if self._spacing_from(target, at, now) > 0:
                break
            del self._last_call[target]

    def reserve(self, target: str) -> float:
        """Book the next slot for ``target``; returns the seconds to wait before using it."""
        now = self.clock()
        self._forget_idle(now)
        family = self.family(target)
        if self.strict and family not in self.rates:
            raise UnpacedTarget(f"no rate is declared for {family} targets ({target})")
        waits = [max(0.0, self._blocked_until.get(target, 0.0) - now)]
        for key, rate in ((target, self.rates.get(family)), (f"{family}:*", self.family_rates.get(family))):
            bucket = self._bucket(key, rate, now)
            if bucket is not None:
                waits.append(bucket.reserve(now))
        return max(waits)

    def spacing(self, target: str) -> float:
        """For a target allowed no burst (a Slack channel): seconds still to wait so that one interval separates this
        call from the last one actually made. Slots are booked ahead; a call held up past its slot (a stalled event
        loop, a slow database read) would otherwise go out right behind the next one, which a strict platform
        counts as a burst."""
        last = self._last_call.get(target)
        return 0.0 if last is None else self._spacing_from(target, last, self.clock())

    def _spacing_from(self, target: str, last: float, now: float) -> float:
        rate = self.rates.get(self.family(target))
        if rate is None or rate.burst > 1:
            return 0.0
        return max(0.0, last + 1.0 / (rate.per_second * self.headroom) - now)

    def called(self, target: str) -> None:
        """A call to ``target`` goes out now (see ``spacing``); only targets allowed no burst need remembering."""
        rate = self.rates.get(self.family(target))
        if rate is not None and rate.burst <= 1:
            self._last_call[target] = self.clock()
            self._last_call.move_to_end(target)

    def block(self, target: str, seconds: float) -> None:
        """The platform said 429: nothing more goes to this target until Retry-After has passed."""
        until = self.clock() + seconds
        self._blocked_until[target] = max(until, self._blocked_until.get(target, 0.0))

    def blocked_for(self, target: str) -> float:
        """Seconds until a 429's Retry-After for ``target`` has passed (0 when it is not blocked)."""
        return max(0.0, self._blocked_until.get(target, 0.0) - self.clock())

    def blocked(self) -> set[str]:
        now = self.clock()
        self._blocked_until = {t: until for t, until in self._blocked_until.items() if until > now}  # passed: gone
        return set(self._blocked_until)


_pace: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("threadbridge_pace", default=None)


async def paced() -> None:
    """Wait for the current delivery's next slot. Called right before each API call, so the time a job spends
    reading the database never eats into the spacing between two calls; a no-op outside a delivery."""
    pace = _pace.get()
    if pace is not None:
        await pace()


def pace_with(pace: Callable[[], Awaitable[None]]) -> object:
    """Make ``paced()`` use ``pace`` in this task (the delivery worker sets it around each job)."""
    return _pace.set(pace)
