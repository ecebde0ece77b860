"""The bot's metrics, in a registry of its own (several bots can run in one process, as the tests do).

Counters and the histogram move as the bot works (the intake, the delivery worker, the timers and the HTTP layer
call the methods below); the queue and the open conversations are read from the database when /metrics is scraped,
at most every few seconds, so that every process shows the same numbers without keeping them itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX = "threadbridge_"
# Slack wants an answer within 3 s; the buckets around it say how close the bot comes.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)


def channel_of(target: str) -> str:
    """A delivery target's channel label: ``slack`` for every Slack target, else the customer channel's name."""
    family = target.split(":", 1)[0]
    return "slack" if family.startswith("slack") else family


def queue_label(target: str) -> str:
    """What the queue gauges are labelled with: a Slack target as it is (a few channels), a customer channel's
    targets together (one per customer chat would be a series per customer)."""
    return target if target.startswith("slack") else channel_of(target)


@dataclass(frozen=True)
class QueueTarget:
    jobs: int
    oldest_age: float  # seconds since the oldest of them was queued


@dataclass(frozen=True)
class State:
    """What the database says at scrape time."""

    queue: dict[str, QueueTarget] = field(default_factory=dict)  # by queue_label
    open_conversations: dict[str, int] = field(default_factory=dict)  # claimed / unclaimed
    overdue: int = 0  # open, unanswered, past their first-response target

    @property
    def oldest_pending_age(self) -> float:
        return max((t.oldest_age for t in self.queue.values()), default=0.0)


StateReader = Callable[[], Awaitable[State]]


class _StateCollector(Collector):
    """Yields the last state read (a custom collector, so a target whose queue emptied simply disappears)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        state = self.metrics.state
        jobs = GaugeMetricFamily(
            f"{PREFIX}outbox_pending_jobs", "Deliveries queued or under way, per target", labels=["target"]
        )
        age = GaugeMetricFamily(
            f"{PREFIX}outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery not yet done, per target",
            labels=["target"],
        )
        for target, queued in sorted(state.queue.items()):
            jobs.add_metric([target], queued.jobs)
            age.add_metric([target], queued.oldest_age)
        oldest = GaugeMetricFamily(
            f"{PREFIX}outbox_oldest_pending_age_max_seconds", "Age of the oldest delivery not yet done, any target"
        )
        oldest.add_metric([], state.oldest_pending_age)
        conversations = GaugeMetricFamily(
            f"{PREFIX}open_conversations", "Open conversations, by whether someone holds them", labels=["status"]
        )
        for status in ("unclaimed", "claimed"):
            conversations.add_metric([status], state.open_conversations.get(status, 0))
        overdue = GaugeMetricFamily(
            f"{PREFIX}open_conversations_overdue", "Open conversations past their first-response target, unanswered"
        )
        overdue.add_metric([], state.overdue)
        yield from (jobs, age, oldest, conversations, overdue)


class Metrics:
    def __init__(self, read_state: StateReader | None = None, *, cache_seconds: float = 5.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.read_state = read_state
        self.cache_seconds = cache_seconds
        self.state = State()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()
        r = self.registry
        self._received = Counter(
            f"{PREFIX}messages_received", "Customer messages stored, per channel", ["channel"], registry=r
        )
        self._delivered = Counter(
            f"{PREFIX}messages_delivered",
            "Messages delivered: into Slack (channel=slack) or to customers (their channel)",
            ["channel"],
            registry=r,
        )
        self._attempts = Counter(
            f"{PREFIX}delivery_attempts", "Delivery jobs run (a batch counts once)", ["kind", "channel"], registry=r
        )
        self._failures = Counter(
            f"{PREFIX}delivery_failures",
            "Delivery attempts that failed: temporary (retried), permanent (given up), crashed (a bug; retried)",
            ["kind", "channel", "failure"],
            registry=r,
        )
        self._rate_limited = Counter(
            f"{PREFIX}rate_limited", "429 answers (Slack, a customer channel)", ["channel"], registry=r
        )
        self._rate_limit_wait = Counter(
            f"{PREFIX}rate_limit_wait_seconds", "Seconds the platforms told the bot to wait (Retry-After)",
            ["channel"], registry=r,
        )  # fmt: skip
        self._ack = Histogram(
            f"{PREFIX}ack_latency_seconds",
            "Time from a request's arrival to its answer (Slack events, commands, interactions; channel webhooks)",
            ["route"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self._breaches = Counter(
            f"{PREFIX}sla_breaches", "Escalations fired: an inquiry unanswered past its target", ["level"], registry=r
        )
        self._draining = Gauge(f"{PREFIX}draining", "1 while the bot is stopping and takes no new work", registry=r)
        r.register(_StateCollector(self))

    # --- what the parts report ------------------------------------------------------------------------------

    def received(self, channel: str, count: int = 1) -> None:
        if count:
            self._received.labels(channel).inc(count)

    def delivered(self, target: str, messages: int) -> None:
        if messages:
            self._delivered.labels(channel_of(target)).inc(messages)

    def attempt(self, kind: str, target: str) -> None:
        self._attempts.labels(kind, channel_of(target)).inc()

    def failed(self, kind: str, target: str, failure: str) -> None:
        self._failures.labels(kind, channel_of(target), failure).inc()

    def rate_limited(self, target: str, retry_after: float) -> None:
        channel = channel_of(target)
        self._rate_limited.labels(channel).inc()
        self._rate_limit_wait.labels(channel).inc(max(0.0, retry_after))

    def acknowledged(self, route: str, seconds: float) -> None:
        self._ack.labels(route).observe(seconds)

    def sla_breach(self, level: str) -> None:
        self._breaches.labels(level).inc()

    def draining(self, on: bool = True) -> None:
        self._draining.set(1 if on else 0)

    # --- scraping -------------------------------------------------------------------------------------------

    async def refresh(self) -> State:
        """Read the database's state unless it was read in the last ``cache_seconds``; a failed read keeps the last."""
        if self.read_state is None:
            return self.state
        async with self._lock:
            if time.monotonic() - self._read_at < self.cache_seconds:
                return self.state
            try:
                self.state = await asyncio.wait_for(self.read_state(), 5)
            except Exception as exc:
                log.warning("could not read the queue for /metrics: %s", exc)
                return self.state
            self._read_at = time.monotonic()
            return self.state

    async def exposition(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)
