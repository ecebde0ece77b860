"""What running unattended adds around the runtime: the state /metrics and /healthz read, the metrics' own
address, and the order of a graceful stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from aiohttp import web

from bot.connectors.base import Connector
from bot.observability.http import metrics_app
from bot.observability.metrics import Metrics, QueueTarget, State, queue_label
from bot.store import gauges
from bot.store.database import Database

log = logging.getLogger(__name__)


def state_reader(db: Database, clock: Callable[[], datetime]) -> Callable[[], Awaitable[State]]:
    """Reads the queue and the open conversations, for the gauges of /metrics."""

    async def read() -> State:
        async with db.reading() as tx:
            jobs = await gauges.unfinished_jobs(tx.conn)
            by_status, overdue = await gauges.open_conversations(tx.conn, clock())
        now = datetime.now(UTC)
        counts: dict[str, int] = {}
        oldest: dict[str, datetime] = {}
        for target, count, queued in jobs:
            label = queue_label(target)
            counts[label] = counts.get(label, 0) + count
            if queued is not None and (label not in oldest or queued < oldest[label]):
                oldest[label] = queued
        queue = {
            label: QueueTarget(jobs=n, oldest_age=max(0.0, (now - oldest[label]).total_seconds()) if label in oldest
                               else 0.0)
            for label, n in counts.items()
        }  # fmt: skip
        return State(queue=queue, open_conversations=by_status, overdue=overdue)

    return read


async def oldest_pending_seconds(db: Database) -> float:
    """Seconds since the oldest delivery not yet done was queued (0 with an empty queue), for /healthz."""
    async with db.reading() as tx:
        oldest = await gauges.oldest_unfinished_job(tx.conn)
    return 0.0 if oldest is None else round(max(0.0, (datetime.now(UTC) - oldest).total_seconds()), 1)


async def serve_metrics(metrics: Metrics, token: str | None, bind: tuple[str, int]) -> web.AppRunner:
    """/metrics on METRICS_BIND, apart from the port Slack and the channels reach."""
    runner = web.AppRunner(metrics_app(metrics, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, bind[0], bind[1])
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    log.info("metrics are served on %s:%d", *bind)
    return runner


async def stop_receiving(connectors: Iterable[Connector]) -> None:
    """Every channel that takes updates by itself stops taking them (bot.connectors.base.Drains)."""
    for connector in connectors:
        stop = getattr(connector, "stop_receiving", None)
        if stop is None:
            continue
        try:
            await stop()
        except Exception:
            log.exception("%s did not stop taking updates cleanly", connector.label)
