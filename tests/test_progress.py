"""A multi-part delivery stores each part before the job's next API call, and the part sent last with whatever ends
the job: its finish needs no store of its own, a retry or a release stores it in its own transaction
(bot.delivery.progress)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.delivery.handlers import Delivered
from bot.delivery.pacing import Pacer
from bot.delivery.progress import Progress
from bot.delivery.worker import DeliveryWorker, WorkerSettings
from bot.domain.errors import TemporaryFailure
from bot.store.database import Database, Transaction
from bot.store.outbox import PENDING, Job
from bot.store.schema import outbox
from tests.conftest import wait_until


class Parts:
    """Sends ``parts`` parts through Progress as a connector does; ``fail_after`` raises once, after that many
    parts of the whole run went out."""

    def __init__(self, db: Database, parts: int, fail_after: int | None = None, record_fails: bool = False) -> None:
        self.db = db
        self.parts = parts
        self.fail_after = fail_after
        self.record_fails = record_fails  # the first finish fails: the job is run again once its lease expires
        self.sent: list[str] = []
        self.finished: list[int] = []

    async def deliver(self, batch: list[Job]) -> Delivered:
        progress = Progress(batch[0], self.db)
        for index in range(progress.done, self.parts):
            if self.fail_after is not None and len(self.sent) == self.fail_after:
                self.fail_after = None
                raise TemporaryFailure("the platform is down for a moment")
            await progress.slot()
            self.sent.append(f"part {index + 1}")
            await progress.advance(f"id{index + 1}")
        if self.fail_after is not None and len(self.sent) == self.fail_after:
            self.fail_after = None
            raise TemporaryFailure("the answer was lost after the last part")
        if self.record_fails:
            self.record_fails = False
            return Delivered(record=_fails)
        self.finished.append(batch[0].id)
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        raise AssertionError(f"nothing fails for good here: {reason}")


async def _fails(_tx: Transaction) -> None:
    raise RuntimeError("the record of the delivery could not be written")


@pytest.fixture
def stores(db: Database) -> Iterator[list[Any]]:
    """The progress stores, as statements reach the database."""
    seen: list[Any] = []

    def statement(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if sql.lstrip().startswith("UPDATE outbox SET payload"):
            seen.append(parameters)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)


async def deliver_one(db: Database, handler: Parts) -> int:
    settings = WorkerSettings(poll_interval=0.02, backoff_base=0.01, lease_seconds=0.5)
    worker = DeliveryWorker(db, {"send": handler}, Pacer.unlimited(), owner="w1", settings=settings)
    await worker.start()
    try:
        async with db.transaction() as tx:
            job_id = await tx.outbox.enqueue(lane="chat:1", target="telegram:1", kind="send", payload={}, now=0.0)
        worker.wake()
        await wait_until(lambda: handler.finished == [job_id], what="the job delivered")
    finally:
        await worker.stop()
    return job_id


async def test_the_part_sent_last_costs_no_store_of_its_own(db: Database, stores: list[Any]) -> None:
    handler = Parts(db, parts=3)
    await deliver_one(db, handler)
    assert handler.sent == ["part 1", "part 2", "part 3"]
    assert len(stores) == 2  # parts 1 and 2, each before the next call; part 3 ends with the job's finish


async def test_a_failure_between_parts_resumes_after_the_last_part_sent(db: Database, stores: list[Any]) -> None:
    handler = Parts(db, parts=3, fail_after=2)
    await deliver_one(db, handler)
    assert handler.sent == ["part 1", "part 2", "part 3"]  # part 2 was stored by the retry's transaction


async def test_a_failure_after_the_last_part_leaves_nothing_to_send_again(db: Database, stores: list[Any]) -> None:
    handler = Parts(db, parts=2, fail_after=2)
    await deliver_one(db, handler)
    assert handler.sent == ["part 1", "part 2"]
    assert len(stores) == 2  # part 1 before part 2's call, part 2 with the job's retry


async def test_a_finish_that_fails_still_keeps_what_went_out(db: Database, stores: list[Any]) -> None:
    handler = Parts(db, parts=2, record_fails=True)
    await deliver_one(db, handler)
    assert handler.sent == ["part 1", "part 2"]  # the run after the lease expired sent nothing again


class StuckAfterOnePart:
    """Sends one part, then waits for something that never comes (a file to fetch) until the worker stops it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sent = asyncio.Event()

    async def deliver(self, batch: list[Job]) -> Delivered:
        progress = Progress(batch[0], self.db)
        await progress.slot()
        await progress.advance("id1")
        self.sent.set()
        await asyncio.Event().wait()
        raise AssertionError("never reached")

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        raise AssertionError(reason)


async def test_a_job_cut_off_by_the_stop_keeps_the_part_it_sent(db: Database) -> None:
    handler = StuckAfterOnePart(db)
    worker = DeliveryWorker(db, {"send": handler}, Pacer.unlimited(), owner="w1")
    await worker.start()
    async with db.transaction() as tx:
        job_id = await tx.outbox.enqueue(lane="chat:3", target="telegram:3", kind="send", payload={}, now=0.0)
    worker.wake()
    await asyncio.wait_for(handler.sent.wait(), 10)
    await worker.stop(grace=0.1)
    async with db.reading() as tx:
        row = (await tx.conn.execute(select(outbox.c.status, outbox.c.payload).where(outbox.c.id == job_id))).one()
    assert row.status == PENDING  # back in the queue for the next process
    assert row.payload == {"parts_done": 1, "sent_ids": ["id1"]}  # which resumes after the part that went out


async def test_outside_the_worker_each_part_is_stored_as_it_goes(db: Database, stores: list[Any]) -> None:
    async with db.transaction() as tx:
        job_id = await tx.outbox.enqueue(lane="chat:2", target="telegram:2", kind="send", payload={}, now=0.0)
    handler = Parts(db, parts=2)
    job = Job(job_id, "chat:2", "telegram:2", "send", conversation_id=None, message_id=None, payload={}, attempts=0)
    await handler.deliver([job])
    assert len(stores) == 2
