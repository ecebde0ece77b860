"""Rate limits kept in memory: token buckets per visitor and per IP address, and open connections per IP."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_KEYS = 50_000  # buckets kept at most; idle (full) ones are dropped first


class Buckets:
    """``per_minute`` on average for each key, a quarter of it (at least 3) at once."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(3.0, per_minute / 4)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """0 when the key may go on now (one token taken), else the whole seconds until it may."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_KEYS:
                self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return float(max(1, math.ceil((1 - tokens) / self.rate)))

    def _prune(self, now: float) -> None:
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


class Connections:
    """Open connections per IP address, up to ``limit`` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def enter(self, ip: str) -> bool:
        if self._open.get(ip, 0) >= self.limit:
            return False
        self._open[ip] = self._open.get(ip, 0) + 1
        return True

    def leave(self, ip: str) -> None:
        left = self._open.get(ip, 1) - 1
        if left > 0:
            self._open[ip] = left
        else:
            self._open.pop(ip, None)
