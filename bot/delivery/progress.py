"""How far a multi-part delivery got, stored with its job so a retry after a crash resumes and does not repeat.

A part is stored before the job's next API call, which is when a crash could make a retry send it again. Under the
worker that is its pacing, which runs before every call, and the part sent last needs no write of its own: the
job's finish ends it and a retry stores it in its own transaction (one commit fewer per message); a job stopped
midway, or whose closing transaction failed, has it stored on its own by the worker.
Outside the worker (a tool, a test) each part is stored as it is sent.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bot.delivery.pacing import paced
from bot.store.database import Database, Transaction, retried
from bot.store.outbox import Job

_tracked: ContextVar[list[Progress] | None] = ContextVar("threadbridge_progress", default=None)


@dataclass
class Progress:
    """Lets a handler persist how far a multi-part delivery got, so a retry after a crash resumes, not repeats."""

    job: Job
    db: Database
    payload: dict[str, Any] = field(init=False)
    unsaved: dict[str, Any] | None = field(default=None, init=False)  # sent, not yet stored (under the worker)

    def __post_init__(self) -> None:
        self.payload = dict(self.job.payload)
        tracked = _tracked.get()
        self._deferred = tracked is not None
        if tracked is not None:
            tracked.append(self)

    @property
    def done(self) -> int:
        return int(self.payload.get("parts_done", 0))

    @property
    def ids(self) -> list[str]:
        return list(self.payload.get("sent_ids", []))

    async def slot(self) -> None:
        """Wait for the job's next paced slot (right before an API call)."""
        await paced()

    async def advance(self, sent_id: str | None = None) -> None:
        payload = {**self.payload, "parts_done": self.done + 1}
        if sent_id is not None:
            payload["sent_ids"] = [*self.ids, sent_id]
        if self._deferred:
            self.payload = self.unsaved = payload  # stored before the next call, or by the worker (Tracked)
            return
        await self._save(payload)
        self.payload = payload  # only once stored: a save run again after contention counts the part once

    @retried
    async def _save(self, payload: dict[str, Any]) -> None:
        async with self.db.transaction() as tx:
            await tx.outbox.save_progress(self.job.id, payload)


class Tracked:
    """The Progress objects made in one job's task (the worker's): their unsaved parts, stored on demand."""

    def __init__(self) -> None:
        self._progress: list[Progress] = []
        _tracked.set(self._progress)  # this task's context only: the worker runs each job in a context of its own

    def pending(self, job_ids: set[int] | None = None) -> dict[int, dict[str, Any]]:
        return {
            p.job.id: p.unsaved
            for p in self._progress
            if p.unsaved is not None and (job_ids is None or p.job.id in job_ids)
        }

    async def store_in(self, tx: Transaction, job_ids: set[int] | None = None) -> dict[int, dict[str, Any]]:
        """Write the unsaved parts (of ``job_ids``) in ``tx``; call ``stored`` with the result once it commits."""
        pending = self.pending(job_ids)
        for job_id, payload in pending.items():
            await tx.outbox.save_progress(job_id, payload)
        return pending

    def stored(self, pending: dict[int, dict[str, Any]]) -> None:
        for p in self._progress:
            if p.job.id in pending and p.unsaved is pending[p.job.id]:
                p.unsaved = None

    async def store(self, db: Database) -> None:
        """Store the unsaved parts in a transaction of their own (before the job's next API call)."""
        if not self.pending():
            return
        await self._store(db)

    @retried
    async def _store(self, db: Database) -> None:
        async with db.transaction() as tx:
            pending = await self.store_in(tx)
        self.stored(pending)
