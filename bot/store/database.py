"""One place that opens transactions, so every use case commits its archive rows and its outbox jobs together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.archive import Archive
from bot.store.channel_records import ChannelRecords
from bot.store.customers import CustomerStore
from bot.store.dead_letters import DeadLetters
from bot.store.engine import READONLY
from bot.store.origins import OriginStore
from bot.store.outbox import Outbox
from bot.store.search import Search
from bot.store.timers import TimerStore


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


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._after_enqueue: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_enqueue(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any transaction that queued a delivery commits (wakes the local worker)."""
        self._after_enqueue.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self.engine.begin() as conn:
            tx = Transaction(conn)
            yield tx
        if tx.outbox.enqueued:
            for callback in self._after_enqueue:
                callback()

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
