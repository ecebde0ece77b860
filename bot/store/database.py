"""One place that opens transactions, so every use case commits its archive rows and its outbox jobs together,
and one way to run a use case again when the database refused its transaction only because another was in the way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import ParamSpec, Protocol, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.archive import Archive
from bot.store.channel_records import ChannelRecords
from bot.store.customers import CustomerStore
from bot.store.dead_letters import DeadLetters
from bot.store.engine import READONLY, SQLITE_BUSY_SECONDS
from bot.store.follow_ups import FollowUpStore
from bot.store.holds import HoldStore
from bot.store.languages import LanguageStore
from bot.store.origins import OriginStore
from bot.store.outbox import Job, Outbox
from bot.store.parts import PartStore
from bot.store.search import Search
from bot.store.surveys import SurveyStore
from bot.store.tags import TagStore
from bot.store.timers import TimerStore

log = logging.getLogger(__name__)

ATTEMPTS = 4  # runs of a use case at most: the first and three more after contention
_PG_CONTENTION = {"40P01": "deadlock", "40001": "serialization failure"}
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (the low byte of extended codes such as SQLITE_BUSY_SNAPSHOT)
_running_again: ContextVar[bool] = ContextVar("threadbridge_running_again", default=False)

P = ParamSpec("P")
R = TypeVar("R")


def contention(exc: BaseException) -> str | None:
    """What kind of contention refused a transaction (a deadlock, a serialization failure, a locked SQLite file),
    or None when the error says something about the work itself and running it again would fail the same way."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in _PG_CONTENTION:
        return _PG_CONTENTION[state]
    code = getattr(orig, "sqlite_errorcode", None)
    if (isinstance(code, int) and code & 0xFF in _SQLITE_BUSY) or "database is locked" in str(orig):
        return "database is locked"
    return None


def retried(work: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Run a use case again, a bounded number of times, when contention refused its transaction.

    Safe because the refused transaction rolled back whole: nothing it archived or queued is left, and its
    after-commit callbacks never ran. So ``work`` must do everything in its transactions (no API call, no future
    resolved, no task started before its last commit). A retried use case called by another runs once: the outer
    one runs the whole again. After the last attempt the error propagates.
    """

    @functools.wraps(work)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if _running_again.get():
            return await work(*args, **kwargs)
        token = _running_again.set(True)
        attempt = 1
        try:
            while True:
                try:
                    return await work(*args, **kwargs)
                except DBAPIError as exc:
                    kind = contention(exc)
                    if kind is None or attempt >= ATTEMPTS:
                        raise
                    attempt += 1
                    name = work.__qualname__
                    log.warning("%s: %s, running it again (attempt %d of %d)", name, kind, attempt, ATTEMPTS)
                    await asyncio.sleep(random.uniform(0.005, 0.025) * attempt)  # the two sides do not meet again
        finally:
            _running_again.reset(token)

    return run


class Transaction:
    """The queries of one unit of work, all on one connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.archive = Archive(conn)
        self.outbox = Outbox(conn)
        self.customers = CustomerStore(conn)  # stage, tags, timeline, merges, erasure, audit (bot.store.customers)
        self.search = Search(conn)  # the archive's substring index (bot.store.search)
        self.timers = TimerStore(conn)  # routing and timing state (bot.store.routing_schema)
        self.dead_letters = DeadLetters(conn)  # updates that could not be read or stored
        self.origins = OriginStore(conn)  # where customers came from (bot.store.origins)
        self.channel_records = ChannelRecords(conn)  # transcripts and files of channels that show them
        self.holds = HoldStore(conn)  # inquiries waiting on the customer or on hold (bot.store.holds)
        self.languages = LanguageStore(conn)  # the language each customer reads (bot.store.languages)
        self.parts = PartStore(conn)  # which platform messages carry each archived message (bot.store.parts)
        self.surveys = SurveyStore(conn)  # satisfaction after Close (bot.store.surveys)
        self.tags = TagStore(conn)  # what conversations were about (bot.store.tags)
        self.follow_ups = FollowUpStore(conn, self.outbox)  # many customer messages at once (bot.store.follow_ups)


class Adopter(Protocol):
    """A worker in this process that takes the jobs a transaction queued straight after it commits
    (bot.delivery.worker.DeliveryWorker), instead of being woken to claim them in a transaction of its own."""

    owner: str

    def lease_seconds(self) -> float: ...

    def room(self) -> int: ...

    def takes(self, target: str) -> bool: ...

    async def read_ahead(self, tx: Transaction, jobs: list[Job]) -> list[Job]: ...

    def adopt(self, jobs: list[Job]) -> None: ...


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._after_enqueue: list[Callable[[], None]] = []
        self._adopter: Adopter | None = None
        # SQLite takes one writer at a time. Left to SQLite, writers that find the lock taken poll for it with
        # growing sleeps, and under load one can lose for seconds to the others; queued here, they take turns in
        # order (readers never wait: WAL). Other processes on the same file still meet SQLite's busy timeout.
        self._writers = asyncio.Lock() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_enqueue(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any transaction that queued a delivery commits (wakes the local worker)."""
        self._after_enqueue.append(callback)

    def adopt_with(self, adopter: Adopter | None) -> None:
        """Hand ``adopter`` the jobs that can start at once (SQLite; None stops it).

        A job queued into an empty lane is leased by the transaction that queued it, as its last statement, and given
        to the worker after the commit: a relayed message costs no claim transaction and no wake-up, and what its
        delivery reads is read in the same transaction (``Adopter.read_ahead``), which saves a read transaction of
        its own and reads just what the delivery would have read after the commit. Only on SQLite,
        where writers take turns, so no other transaction can queue into the same lane until this one commits;
        on PostgreSQL several processes may, and the claim stays the only way a job starts."""
        self._adopter = adopter if self.dialect == "sqlite" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        adopted: list[Job] = []
        async with self._turn(), self.engine.begin() as conn:
            tx = Transaction(conn)
            yield tx
            adopter = self._adopter  # the one that leases is the one that runs them, even if it stops meanwhile
            if tx.outbox.lanes and adopter is not None:
                adopted = await self._lease_for(adopter, tx.outbox)
                if adopted:  # what their deliveries read, read here: they need no read transaction of their own
                    adopted = await adopter.read_ahead(tx, adopted)
        if adopted and adopter is not None:
            adopter.adopt(adopted)
        if tx.outbox.enqueued > len(adopted):
            for callback in self._after_enqueue:
                callback()

    async def _lease_for(self, adopter: Adopter, queued: Outbox) -> list[Job]:
        lanes = [lane for lane, target in queued.lanes.items() if adopter.takes(target)][: max(0, adopter.room())]
        now = time.time()
        return await queued.lease_alone(lanes, owner=adopter.owner, until=now + adopter.lease_seconds(), now=now)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """This process's turn to write (SQLite), in the order the writers asked for it."""
        if self._writers is None:
            yield
            return
        try:
            async with asyncio.timeout(SQLITE_BUSY_SECONDS):  # as long as SQLite itself would wait for its lock
                await self._writers.acquire()
        except TimeoutError:
            locked = sqlite3.OperationalError("database is locked")  # contention: the use case may run again
            raise OperationalError("BEGIN IMMEDIATE", None, locked) from None
        try:
            yield
        finally:
            self._writers.release()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Transaction]:
        """A transaction for pure reads: on SQLite a deferred BEGIN, so it never waits for a writer (WAL readers
        see the last commit) and never makes a writer wait; elsewhere an ordinary transaction."""
        async with self.engine.connect() as conn:
            options: dict[str, bool] = {READONLY: True}
            if self.dialect == "postgresql":
                options["postgresql_readonly"] = True  # a write slipped into a read fails loudly, in tests too
            await conn.execution_options(**options)
            async with conn.begin():
                yield Transaction(conn)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
