"""The delivery worker: runs queued jobs in order per lane, paced per target, retried until they land.

What a job does is its handler's business (``bot.slack.delivery``, ``bot.delivery.customer``); this module only
decides when each job runs, and what happens after it succeeded, failed for now, or failed for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.delivery.handlers import Delivered, JobHandler
from bot.delivery.pacing import Pacer, pace_with
from bot.delivery.progress import Tracked
from bot.domain.errors import PermanentFailure, RateLimited, TemporaryFailure
from bot.observability.logs import log_context
from bot.observability.metrics import Metrics, channel_of
from bot.store.database import Database, Transaction, retried
from bot.store.outbox import Job

log = logging.getLogger(__name__)


class Drained(BaseException):
    """Raised at a job's next paced slot once the worker drains: no API call was made for it, so it goes back to
    the queue as it is (a BaseException, so no handler's ``except Exception`` mistakes it for a failure)."""


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 32
    per_target: int = 3  # jobs of one target in flight at once (waiting for their paced slot)
    lease_seconds: float = 60.0
    poll_interval: float = 0.5
    max_batch: int = 20
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    keep_done: timedelta = timedelta(days=7)  # delivered jobs stay this long for inspection, then go
    prune_every: float = 3600.0
    prune_batch: int = 100  # delivered jobs deleted per transaction (a few ms of write lock each)


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, JobHandler],
        pacer: Pacer,
        *,
        owner: str,
        settings: WorkerSettings | None = None,
        batchable: Sequence[str] = (),
        first: Sequence[str] = (),
        single_process: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.pacer = pacer
        self.owner = owner
        self.settings = settings or WorkerSettings()
        self.batchable = tuple(batchable)
        self.first = tuple(first)  # kinds that take a target's free room first (a new thread's header)
        self.single_process = single_process
        self.metrics = metrics or Metrics()
        self._wake = asyncio.Event()
        self._queued = True  # queued since the last claim: the next one need not look first
        self._draining = asyncio.Event()
        self._pacing: set[asyncio.Task[Any]] = set()  # jobs sleeping until their paced slot
        self._inflight: dict[asyncio.Task[None], list[Job]] = {}
        self._per_target: Counter[str] = Counter()
        self._stopping = False
        self._main: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        db.on_enqueue(self.wake)

    def wake(self) -> None:
        """Claim at once: something was queued (or the worker is stopping)."""
        self._queued = True
        self._wake.set()

    async def start(self) -> None:
        if self.single_process:
            async with self.db.transaction() as tx:
                released = await tx.outbox.release_all_leases()
            if released:
                log.info("resuming %d deliveries interrupted by the last shutdown", released)
        self.db.adopt_with(self)  # jobs that can start at once come straight from the transaction that queued them
        self._main = asyncio.create_task(self._run(), name="delivery-worker")
        self._heartbeat = asyncio.create_task(self._keep_leases(), name="delivery-leases")

    async def stop(self, grace: float = 10.0) -> None:
        """Drain: take no more jobs, let the API calls under way finish within ``grace`` seconds, and put back in
        the queue at once what did not run (jobs waiting for their slot; anything still running when the grace is
        over), so the next process, or another one on the same database, delivers it without waiting for a lease."""
        self._stopping = True
        self.db.adopt_with(None)
        self._draining.set()
        for waiting in list(self._pacing):  # waiting for a slot: no API call is under way, they can go back now
            waiting.cancel()
        self.wake()
        if self._main is not None:
            # Not cancelled: a claim cancelled mid-commit would leave its jobs leased with no task to hand them
            # back. The loop ends at its next turn; what it claimed last sees the drain and goes back at once.
            done, _ = await asyncio.wait([self._main], timeout=grace)
            if not done:
                self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        if self._inflight:
            running = dict(self._inflight)
            _, pending = await asyncio.wait(list(running), timeout=grace)
            if pending:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                ids = [job.id for task in pending for job in running[task]]
                log.warning("stopped %d deliveries still under way after %.0fs: jobs %s go back to the queue (the "
                            "platform may have carried out their last call)", len(pending), grace, ids)  # fmt: skip
                await self._release(ids)  # the parts they sent were stored as they stopped (_run_batch)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat

    async def _release(self, ids: list[int]) -> None:
        try:
            async with self.db.transaction() as tx:
                await tx.outbox.release(ids, owner=self.owner)
        except Exception:
            log.exception("could not release the leases of jobs %s; they run again when the leases expire", ids)

    async def _until_drained(self, seconds: float) -> None:
        """Sleep ``seconds`` (a plain sleep: the spacing of API calls is what pacing is about), unless the worker
        starts draining first: ``stop`` cancels the sleep, and the job stops before its API call."""
        task = asyncio.current_task()
        assert task is not None
        self._pacing.add(task)
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if not self._draining.is_set():
                raise
            task.uncancel()
            raise Drained from None
        finally:
            self._pacing.discard(task)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            queued, self._queued = self._queued, False
            try:
                await self._fill(look_first=not queued)
            except Exception:
                log.exception("could not read the delivery queue; trying again")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)

    def _room(self, target: str) -> int:
        return self.settings.per_target - self._per_target[target]

    # --- what bot.store.database.Adopter asks of the worker ---------------------------------------------------

    def lease_seconds(self) -> float:
        return self.settings.lease_seconds

    def room(self) -> int:
        return self.settings.concurrency - len(self._inflight)

    def takes(self, target: str) -> bool:
        return not self._stopping and self._room(target) > 0 and self.pacer.blocked_for(target) <= 0

    async def read_ahead(self, tx: Transaction, jobs: list[Job]) -> list[Job]:
        """In the transaction that queued ``jobs`` and leased them for this worker: what their deliveries read. A
        read that fails is left to the delivery, which meets the same failure in its own time and handles it."""
        ready = []
        for job in jobs:
            read = getattr(self.handlers.get(job.kind), "read_ahead", None)  # bot.delivery.handlers.ReadsAhead
            if read is not None:
                try:
                    job = replace(job, ahead=await read(tx, job))
                except Exception as exc:
                    log.debug("job %s reads for itself: %s", job.id, exc)
            ready.append(job)
        return ready

    def adopt(self, jobs: list[Job]) -> None:
        """Run jobs a transaction leased for this worker as it committed (each alone in its lane)."""
        for job in jobs:
            self._start([job])

    async def _fill(self, *, look_first: bool) -> None:
        """Claim what can start. On SQLite a claim takes the write lock every writer waits for, and after a finished
        delivery or at a poll there is usually nothing to claim: ``look_first`` reads first, without the lock."""
        free = self.room()
        if free <= 0:
            return
        saturated = {t for t, n in self._per_target.items() if n >= self.settings.per_target}
        skip = saturated | self.pacer.blocked()
        now = time.time()
        if look_first and self.db.dialect == "sqlite":
            async with self.db.reading() as tx:
                if not await tx.outbox.anything_runnable(now=now, skip_targets=skip):
                    return
        async with self.db.transaction() as tx:
            batches = await tx.outbox.claim(
                now=now,
                owner=self.owner,
                lease_seconds=self.settings.lease_seconds,
                limit=free,
                skip_targets=skip,
                room=self._room,
                batchable_kinds=self.batchable,
                max_batch=self.settings.max_batch,
                first_kinds=self.first,
            )
        for batch in batches:
            self._start(batch)

    def _start(self, batch: list[Job]) -> None:
        self._per_target[batch[0].target] += 1
        # A context of its own: an adopted job starts inside the use case that queued it, whose context says
        # "already being retried" (bot.store.database.retried) and carries its log fields.
        task = asyncio.create_task(self._run_batch(batch), name=f"deliver-{batch[0].id}", context=contextvars.Context())
        self._inflight[task] = batch
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        batch = self._inflight.pop(task, None)
        if batch:
            target = batch[0].target
            self._per_target[target] -= 1
            if self._per_target[target] <= 0:
                del self._per_target[target]
        self._wake.set()  # a job behind it in its lane, or one its target had no room for, may start now

    async def _keep_leases(self) -> None:
        interval = self.settings.lease_seconds / 3
        next_prune = time.monotonic()
        while True:
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self.settings.prune_every
                await self.prune()
            await asyncio.sleep(interval)
            ids = [job.id for batch in self._inflight.values() for job in batch]
            if not ids:
                continue
            try:
                async with self.db.transaction() as tx:
                    await tx.outbox.extend_leases(
                        ids, owner=self.owner, until=time.time() + self.settings.lease_seconds
                    )
            except Exception:
                log.exception("could not extend delivery leases")

    async def prune(self) -> int:
        """Forget old delivered jobs in short batches, one transaction each, letting other writers in between."""
        before = datetime.now(UTC) - self.settings.keep_done
        pruned = 0
        while True:
            try:
                async with self.db.transaction() as tx:
                    batch = await tx.outbox.prune(before, limit=self.settings.prune_batch)
            except Exception:
                log.exception("could not prune delivered jobs")
                break
            pruned += batch
            if batch < self.settings.prune_batch:
                break
            await asyncio.sleep(0)
        if pruned:
            log.info("pruned %d delivered jobs", pruned)
        return pruned

    async def _run_batch(self, batch: list[Job]) -> None:
        parts = Tracked()
        try:
            await self._attempt(batch, parts)
        finally:
            if parts.pending():  # stopped, or what ends the job failed: its next run must not send them again
                await self._keep(parts)

    async def _keep(self, parts: Tracked) -> None:
        try:
            await parts.store(self.db)
        except Exception:
            log.exception("could not store the parts a delivery sent; its next run may send them again")

    async def _attempt(self, batch: list[Job], parts: Tracked) -> None:
        head = batch[0]
        ids = [job.id for job in batch]
        handler = self.handlers[head.kind]
        log_context(job=head.id, conversation=head.conversation_id, channel=channel_of(head.target))
        self.metrics.attempt(head.kind, head.target)

        async def pace() -> None:
            await parts.store(self.db)  # the part sent last, before a call that could repeat it after a crash
            if self._draining.is_set():
                raise Drained
            wait = self.pacer.reserve(head.target)
            if wait > 0:
                await self._until_drained(wait)
            blocked = self.pacer.blocked_for(head.target)  # a 429 may have come in while we waited
            if blocked > 0:
                await self._until_drained(blocked)
            gap = self.pacer.spacing(head.target)  # held up past the slot: still one interval after the last call
            if gap > 0:
                await self._until_drained(gap)
            self.pacer.called(head.target)

        pace_with(pace)  # this task's own context: every API call of the job waits for its own slot
        try:
            delivered = await handler.deliver(batch)
        except Drained:
            log.info("job %s (%s) goes back to the queue: stopping before its turn", head.id, head.kind)
            await self._release(ids)  # nothing unsaved: pacing stores it before it stops a job
        except RateLimited as exc:
            self.pacer.block(head.target, exc.retry_after)
            self.metrics.rate_limited(head.target, exc.retry_after)
            log.warning("job %s (%s) rate limited: %s", head.id, head.kind, exc)
            await self._put_back(ids, parts, delay=exc.retry_after, error=str(exc), count=False)
        except TemporaryFailure as exc:
            delay = self._backoff(head.attempts)
            self.metrics.failed(head.kind, head.target, "temporary")
            log.warning("job %s (%s) failed, retrying in %.1fs: %s", head.id, head.kind, delay, exc)
            await self._put_back(ids, parts, delay=delay, error=str(exc), count=True)
        except PermanentFailure as exc:
            self.metrics.failed(head.kind, head.target, "permanent")
            log.error("job %s (%s) cannot be delivered: %s", head.id, head.kind, exc.reason)
            await self._give_up(handler, batch, exc.reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = self._backoff(head.attempts)
            self.metrics.failed(head.kind, head.target, "crashed")
            log.exception("job %s (%s) crashed; retrying in %.1fs", head.id, head.kind, delay)
            await self._put_back(ids, parts, delay=delay, error=f"{type(exc).__name__}: {exc}", count=True)
        else:
            await self._finish(batch, delivered, parts)

    def _backoff(self, attempts: int) -> float:
        """Exponential, capped, with jitter so a recovering service is not hit by everyone at once."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2**attempts)
        return ceiling * random.uniform(0.5, 1.0)

    @retried
    async def _finish(self, batch: list[Job], delivered: Delivered, parts: Tracked) -> None:
        done = list(delivered.job_ids) if delivered.job_ids is not None else [j.id for j in batch]
        rest = [j.id for j in batch if j.id not in done]
        stored: dict[int, dict[str, Any]] = {}
        async with self.db.transaction() as tx:
            if delivered.record is not None:
                await delivered.record(tx)
            await tx.outbox.finish(done, now=datetime.now(UTC))
            if rest:
                await tx.outbox.retry_later(rest, not_before=time.time(), error="", count=False)
                stored = await parts.store_in(tx, set(rest))
        parts.stored({**parts.pending(set(done)), **stored})  # a finished job's parts need no store
        self.metrics.delivered(batch[0].target, sum(1 for j in batch if j.id in done and j.message_id is not None))

    @retried
    async def _put_back(self, ids: list[int], parts: Tracked, *, delay: float, error: str, count: bool) -> None:
        async with self.db.transaction() as tx:
            await tx.outbox.retry_later(ids, not_before=time.time() + delay, error=error, count=count)
            stored = await parts.store_in(tx)  # the retry resumes after the last part sent
        parts.stored(stored)

    @retried
    async def _give_up(self, handler: JobHandler, batch: list[Job], reason: str) -> None:
        async with self.db.transaction() as tx:
            await handler.failed(tx, batch, reason)
            await tx.outbox.give_up([j.id for j in batch], error=reason, now=datetime.now(UTC))
