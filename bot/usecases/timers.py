"""The timer loop: fires escalation timers when they fall due, once, whichever process sees them first.

Due times live in the database (``inquiry_timers``), so a restart loses nothing: the loop simply finds what fell due
while the bot was down. Each timer is claimed and acted on in one transaction (a conditional UPDATE from pending to
fired, plus the jobs it queues), so of several processes polling the same database exactly one fires it, and a
crash before the commit leaves it pending for the next pass. The clock is injected: tests move time, not sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from bot.domain.tasks import cancelled
from bot.observability.metrics import Metrics
from bot.store.database import Database, Transaction
from bot.store.timers import Timer
from bot.usecases.triage import Triage

log = logging.getLogger(__name__)

TimerHandler = Callable[[Transaction, Timer, datetime], Awaitable[None]]


class TimerLoop:
    def __init__(
        self,
        db: Database,
        triage: Triage,
        *,
        owner: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_interval: float = 5.0,
        metrics: Metrics | None = None,
        handlers: Mapping[str, TimerHandler] | None = None,
    ) -> None:
        """``handlers``: timer kinds other parts act on (a survey to ask); the rest are the escalations and
        wake-ups of bot.usecases.triage."""
        self.db = db
        self.handlers = dict(handlers or {})
        self.triage = triage
        self.owner = owner
        self.clock = clock
        self.poll_interval = poll_interval
        self.metrics = metrics or Metrics()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="timers")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    def wake(self) -> None:
        """Check for due timers now rather than at the next poll."""
        self._wake.set()

    async def run_due(self) -> int:
        """Fire every timer due by the clock's now; returns how many this process fired."""
        fired = 0
        failed: set[int] = set()
        while True:
            now = self.clock()
            claimed: int | None = None
            level: str | None = None
            try:
                async with self.db.transaction() as tx:
                    timer = await tx.timers.claim_due(now, self.owner, skip=failed)
                    if timer is None:
                        return fired
                    claimed = timer.id
                    if (handler := self.handlers.get(timer.kind)) is not None:
                        await handler(tx, timer, now)
                    else:
                        level = await self.triage.fire(tx, timer, now)
            except Exception:
                if claimed is None:
                    raise
                # Rolled back, so still pending: skipped for the rest of this pass, tried again on the next.
                log.exception("escalation timer %s failed; it stays due", claimed)
                failed.add(claimed)
                continue
            if level is not None:
                self.metrics.sla_breach(level)
            fired += 1

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                count = await self.run_due()
                if count:
                    log.info("fired %d escalation timer(s)", count)
            except Exception:
                log.exception("could not read the escalation timers; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
