"""The weekly digest: last week's report, posted to the configured channel at the configured time, once.

Each pass asks whether this week's digest time has come; if so it claims the week (``digest_runs``) and queues
the post in the same transaction, so the claim and the job commit together. Several processes on one database and
a process started again after the time all find the claim and do nothing more; a process that was down at the time
posts on its first pass, as long as it is still the same week (a digest that would arrive a week late is skipped).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from bot.config import BotConfig
from bot.config.reports import Digest
from bot.domain.periods import Period, iso_week, week_of, week_period
from bot.domain.tasks import cancelled
from bot.store.database import Database
from bot.store.digests import DigestStore

log = logging.getLogger(__name__)

POST_DIGEST = "post_digest"  # a job: the digest posted to its channel (bot.slack.digest_delivery)
DIGEST_LANE = "slack:digest"


def digest_time(monday: date, digest: Digest, zone: ZoneInfo) -> datetime:
    """When the digest of the week starting ``monday`` is due (local wall-clock time, whatever the DST)."""
    day = monday + timedelta(days=digest.weekday)
    at = clock_time(digest.minute // 60, digest.minute % 60)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def due_period(now: datetime, digest: Digest, zone: ZoneInfo) -> tuple[str, Period] | None:
    """The week to post now (its key and period: the week before this one), or None before this week's time."""
    monday, _ = week_of(now, zone)
    if now < digest_time(monday, digest, zone):
        return None
    covered = monday - timedelta(days=7)
    return iso_week(covered), week_period(covered, zone, "last week")


class DigestLoop:
    def __init__(
        self,
        db: Database,
        config: BotConfig,
        *,
        owner: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_interval: float = 60.0,
    ) -> None:
        self.db = db
        self.config = config
        self.owner = owner
        self.clock = clock
        self.poll_interval = poll_interval
        self._task: asyncio.Task[None] | None = None

    @property
    def digest(self) -> Digest | None:
        return self.config.reports.digest

    async def run_due(self) -> str | None:
        """Claim and queue this week's digest if it is due and nobody has; returns the week this process took."""
        digest = self.digest
        if digest is None:
            return None
        now = self.clock()
        due = due_period(now, digest, self.config.reports.zone(self.config.business_hours))
        if due is None:
            return None
        key, period = due
        async with self.db.transaction() as tx:
            store = DigestStore(tx.conn)
            if not await store.claim(key, self.owner, now):
                return None
            payload = {
                "period": key, "channel": digest.channel, "label": period.label,
                "start": period.start.isoformat(), "end": period.end.isoformat(),
            }  # fmt: skip
            await tx.outbox.enqueue(
                lane=DIGEST_LANE, target=f"slack:{digest.channel}", kind=POST_DIGEST, payload=payload, now=time.time()
            )
        log.info("weekly digest %s claimed by %s", key, self.owner)
        return key

    async def start(self) -> None:
        if self.digest is not None:
            self._task = asyncio.create_task(self._run(), name="digest")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("could not check the weekly digest; trying again")
            await asyncio.sleep(self.poll_interval)
