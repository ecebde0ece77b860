"""Delivery straight after commit: on SQLite a job queued into an empty lane is leased by the transaction that
queued it and handed to the worker after the commit, with no claim; anything else (a backlog, a job behind
another, a target without room, PostgreSQL) is left to the claim, in lane order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.delivery.handlers import Delivered
from bot.delivery.pacing import Pacer
from bot.delivery.worker import DeliveryWorker, WorkerSettings
from bot.store.database import Database, Transaction
from bot.store.engine import READONLY
from bot.store.outbox import DONE, PENDING, SENDING, Job
from bot.store.schema import outbox
from tests.conftest import Bot, wait_until
from tests.customer_helpers import customer_writes, person

NOW = 1_000.0


class Taker:
    """An Adopter that records what it was handed."""

    owner = "w-adopt"

    def __init__(self) -> None:
        self.adopted: list[Job] = []
        self.free = 10
        self.refused: set[str] = set()

    def lease_seconds(self) -> float:
        return 30.0

    def room(self) -> int:
        return self.free

    def takes(self, target: str) -> bool:
        return target not in self.refused

    async def read_ahead(self, tx: Transaction, jobs: list[Job]) -> list[Job]:
        return jobs

    def adopt(self, jobs: list[Job]) -> None:
        self.adopted += jobs


async def queue(db: Database, *lanes: str, target: str = "slack:C1") -> list[int]:
    async with db.transaction() as tx:
        return [await tx.outbox.enqueue(lane=lane, target=target, kind="post", payload={}, now=NOW) for lane in lanes]


async def status(db: Database, job_id: int) -> tuple[str, str | None]:
    async with db.reading() as tx:
        row = (await tx.conn.execute(select(outbox.c.status, outbox.c.lease_owner).where(outbox.c.id == job_id))).one()
        return row.status, row.lease_owner


async def test_a_job_alone_in_its_lane_is_leased_by_its_own_transaction_and_nothing_else_is(db: Database) -> None:
    taker, wakes = Taker(), []
    db.adopt_with(taker)
    db.on_enqueue(lambda: wakes.append(1))
    sqlite = db.dialect == "sqlite"

    (alone,) = await queue(db, "a")
    assert [j.id for j in taker.adopted] == ([alone] if sqlite else [])
    assert await status(db, alone) == ((SENDING, "w-adopt") if sqlite else (PENDING, None))
    assert len(wakes) == (0 if sqlite else 1)  # adopted: no claim is needed, so the worker is not woken

    backlog = await queue(db, "b", "b")  # two in one lane: the claim takes them as one batch
    behind = await queue(db, "a")  # behind the unfinished one: it waits for its turn
    taker.refused.add("telegram:9")
    no_room_for_target = await queue(db, "c", target="telegram:9")
    taker.free = -2  # more in flight than its concurrency (adopted jobs can overshoot it): still no room
    no_room = await queue(db, "d", "e", "f")
    for job_id in [*backlog, *behind, *no_room_for_target, *no_room]:
        assert await status(db, job_id) == (PENDING, None)
    assert [j.id for j in taker.adopted] == ([alone] if sqlite else [])
    assert len(wakes) == (4 if sqlite else 5)


async def test_what_a_transaction_took_back_or_failed_to_commit_is_never_adopted(db: Database) -> None:
    taker = Taker()
    db.adopt_with(taker)
    async with db.transaction() as tx:
        async with tx.conn.begin_nested() as savepoint:
            await tx.outbox.enqueue(lane="gone", target="slack:C1", kind="post", payload={}, now=NOW)
            await savepoint.rollback()
        kept = await tx.outbox.enqueue(lane="kept", target="slack:C1", kind="post", payload={}, now=NOW)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.outbox.enqueue(lane="failed", target="slack:C1", kind="post", payload={}, now=NOW)
            raise RuntimeError("the use case failed")
    assert [j.lane for j in taker.adopted] == (["kept"] if db.dialect == "sqlite" else [])
    async with db.reading() as tx:
        lanes = (await tx.conn.execute(select(outbox.c.lane).order_by(outbox.c.id))).scalars().all()
    assert lanes == ["kept"] and (not taker.adopted or taker.adopted[0].id == kept)
    db.adopt_with(None)
    await queue(db, "after")
    assert len(taker.adopted) == (1 if db.dialect == "sqlite" else 0)  # a stopped worker is handed nothing


async def test_a_relayed_customer_message_is_leased_by_the_transaction_that_archived_it(bot: Bot) -> None:
    chat = 8301
    thread = await customer_writes(bot, chat, "first words", person(chat, "Hana"))
    await bot.idle()
    seen: list[tuple[int, str]] = []  # (connection, what), in the order the bot ran them

    def statement(conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if sql.lstrip().startswith("INSERT INTO messages") and "second words" in str(parameters):
            seen.append((id(conn.connection.dbapi_connection), "archived"))
        elif "HAVING count(*)" in sql:  # bot.store.outbox._lease_alone_statement
            seen.append((id(conn.connection.dbapi_connection), "leased"))

    def commit(conn: Any) -> None:
        seen.append((id(conn.connection.dbapi_connection), "commit"))

    engine = bot.rt.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        bot.telegram.push_text(chat, "second words", user=person(chat, "Hana"))
        await bot.thread_text(thread, "second words")
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    archived = next(conn for conn, what in seen if what == "archived")
    in_that_transaction = [what for conn, what in seen if conn == archived]
    in_that_transaction = in_that_transaction[in_that_transaction.index("archived") :]
    in_that_transaction = in_that_transaction[: in_that_transaction.index("commit") + 1]
    if bot.rt.db.dialect == "sqlite":
        assert in_that_transaction == ["archived", "leased", "commit"]
    else:  # several processes may queue into one lane at once: the claim decides
        assert in_that_transaction == ["archived", "commit"]


class Reads:
    """Which connection archived a message, leased its job, read the message's rows and committed, in order."""

    def __init__(self, bot: Bot, words: str, reads: tuple[str, ...]) -> None:
        self.engine = bot.rt.db.engine.sync_engine
        self.words = words
        self.reads = reads  # how a read of the message's row begins (the delivery's own statement)
        self.seen: list[tuple[int, str]] = []

    def __enter__(self) -> Reads:
        event.listen(self.engine, "before_cursor_execute", self.statement)
        event.listen(self.engine, "commit", self.commit)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.statement)
        event.remove(self.engine, "commit", self.commit)

    def statement(self, conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        who = id(conn.connection.dbapi_connection)
        if sql.lstrip().startswith("INSERT INTO messages") and self.words in str(parameters):
            self.seen.append((who, "archived"))
        elif "HAVING count(*)" in sql:
            self.seen.append((who, "leased"))
        elif sql.lstrip().startswith(self.reads):
            self.seen.append((who, "read"))

    def commit(self, conn: Any) -> None:
        self.seen.append((id(conn.connection.dbapi_connection), "commit"))

    def around_the_archiving(self) -> list[str]:
        archived = next(conn for conn, what in self.seen if what == "archived")
        start = self.seen.index((archived, "archived"))
        end = self.seen.index((archived, "commit"), start)
        return [what for conn, what in self.seen[start : end + 1] if conn == archived]

    def reads_elsewhere(self) -> int:
        archived = next(conn for conn, what in self.seen if what == "archived")
        start = self.seen.index((archived, "archived"))
        return sum(1 for conn, what in self.seen[start:] if what == "read" and conn != archived)


async def test_an_adopted_delivery_reads_what_it_needs_in_the_transaction_that_queued_it(bot: Bot) -> None:
    """A relayed message's delivery needs the rows its transaction has just written: read there (one read
    transaction fewer on the hot path), and only on SQLite, where the job is adopted; elsewhere the delivery reads."""
    chat = 8302
    thread = await customer_writes(bot, chat, "first words", person(chat, "Mina"))
    await bot.idle()
    sqlite = bot.rt.db.dialect == "sqlite"

    with (
        Reads(bot, "a follow-up", ("SELECT messages.id, messages.conversation_id",)) as customer,
        Reads(bot, "a follow-up", ("SELECT conversations.id",)) as conversation_reads,
    ):
        bot.telegram.push_text(chat, "a follow-up", user=person(chat, "Mina"))
        await bot.thread_text(thread, "a follow-up")
    if sqlite:  # the message's row and its conversation come in one statement
        assert conversation_reads.around_the_archiving() == ["archived", "leased", "commit"]
    with Reads(bot, "a reply", ("SELECT messages.id, messages.conversation_id",)) as staff:
        await bot.staff_reply(thread, "a reply")
        await wait_until(lambda: "a reply" in " ".join(bot.telegram.sent_texts(chat)), what="the reply on Telegram")
    for reads in (customer, staff):
        if sqlite:
            assert reads.around_the_archiving() == ["archived", "leased", "read", "commit"]
            assert reads.reads_elsewhere() == 0
        else:
            assert reads.around_the_archiving() == ["archived", "commit"]
            assert reads.reads_elsewhere() == 1


class Recorder:
    def __init__(self) -> None:
        self.delivered: list[int] = []

    async def deliver(self, batch: list[Job]) -> Delivered:
        self.delivered += [job.id for job in batch]
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        raise AssertionError(f"nothing fails here: {reason}")


async def test_a_worker_with_nothing_to_claim_takes_no_write_lock_to_find_out(db: Database) -> None:
    """On SQLite every writer waits for one lock: after a delivery finished and at every poll, when there is
    usually nothing to claim, the worker reads first without it (PostgreSQL has no such lock)."""
    writes: list[int] = []

    def begin(conn: Any) -> None:
        if not conn.get_execution_options().get(READONLY):
            writes.append(1)

    handler = Recorder()
    settings = WorkerSettings(poll_interval=0.02)
    worker = DeliveryWorker(db, {"post": handler}, Pacer.unlimited(), owner="w1", settings=settings)
    event.listen(db.engine.sync_engine, "begin", begin)
    await worker.start()
    try:
        (first,) = await queue(db, "a")

        async def finished() -> bool:
            return (await status(db, first))[0] == DONE

        await wait_until(finished, what="the first job delivered and its finish committed")
        writes.clear()
        await asyncio.sleep(0.3)  # about 15 polls, and the wake-up after the finish
        assert (writes == []) if db.dialect == "sqlite" else (len(writes) > 0)

        (behind_its_back,) = await queue(Database(db.engine), "b")  # no wake-up: the next poll finds it
        await wait_until(lambda: handler.delivered == [first, behind_its_back], what="the poll's find delivered")
    finally:
        await worker.stop()
        event.remove(db.engine.sync_engine, "begin", begin)
