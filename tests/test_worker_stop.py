"""Stopping the delivery worker at any moment hands back every job it leased: a claim that has committed when the
stop comes is never cut off before its jobs have tasks that can give them back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from bot.delivery.handlers import Delivered
from bot.delivery.pacing import Pacer, Rate, paced
from bot.delivery.worker import DeliveryWorker
from bot.store.database import Database, Transaction
from bot.store.engine import create_engine, migrate
from bot.store.outbox import Job
from bot.store.schema import outbox


class SlowToReturn(Database):
    """A database whose transactions that leased jobs take a moment to return after they have committed, as a
    loaded machine's database thread does: the stop can come while a claim has committed but not yet returned."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.committed = asyncio.Event()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        leased: list[list[Job]] = []
        async with super().transaction() as tx:
            claim = tx.outbox.claim

            async def claiming(**kwargs: Any) -> list[list[Job]]:
                batches = await claim(**kwargs)
                leased.extend(batches)
                return batches

            tx.outbox.claim = claiming  # type: ignore[method-assign]
            yield tx
        if leased:
            self.committed.set()
            await asyncio.sleep(0.3)


class Recorder:
    """Delivers by waiting for its paced slot, as every real handler does before its API call."""

    def __init__(self) -> None:
        self.delivered: list[int] = []

    async def deliver(self, batch: list[Job]) -> Delivered:
        await paced()
        self.delivered.extend(job.id for job in batch)
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        raise AssertionError(f"nothing fails here: {reason}")


async def test_a_stop_during_a_claim_hands_its_jobs_back(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    db = SlowToReturn(engine)
    handler = Recorder()
    pacer = Pacer({"slack": Rate(10, 10)})
    worker = DeliveryWorker(db, {"post": handler}, pacer, owner="w1")
    try:
        await worker.start()
        async with Database(engine).transaction() as tx:  # queued behind the worker's back: it claims on its poll
            job_id = await tx.outbox.enqueue(lane="a", target="slack:C1", kind="post", payload={}, now=0.0)
        worker.wake()
        await asyncio.wait_for(db.committed.wait(), 10)  # the claim has committed and is on its way back
        await worker.stop(grace=5)
        async with engine.connect() as conn:
            row = (await conn.execute(select(outbox.c.status, outbox.c.lease_owner).where(outbox.c.id == job_id))).one()
        assert (row.status, row.lease_owner) == ("pending", None)  # back in the queue for the next process
        assert handler.delivered == []  # the drain had begun: no call was made for it
    finally:
        await engine.dispose()
