"""SQLite connections that make one trip to their thread per statement.

aiosqlite runs every sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes three or four such
calls per statement: create a cursor, execute, fetch the rows (when there are any), close. Each call is a round trip
through the event loop, and under load each waits its turn there; a write transaction holds SQLite's one write lock
across all of them. A customer's message took about 44 trips (docs/BENCHMARKS.md, relay). Here one trip creates the
cursor, runs the statement, reads its rows (up to ``PREFETCH``) and closes it; a larger result is read in further
trips, so a streamed export still holds one chunk at a time. A transaction's BEGIN goes in the trip of its first
statement, and a transaction that ran none commits or rolls back without a trip.

The connection is aiosqlite's own (its thread, queue and close); only the cursor differs. SQLAlchemy's aiosqlite
dialect takes it through ``create_async_engine(async_creator=...)``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import aiosqlite

PREFETCH = 256  # rows read in the statement's own trip; SQLAlchemy streams in chunks of its own choosing


class _Ran:
    """What one trip brought back: the closed or still open sqlite3 cursor and the first rows."""

    __slots__ = ("cursor", "exhausted", "rows")

    def __init__(self, cursor: sqlite3.Cursor, rows: list[Any], exhausted: bool) -> None:
        self.cursor = cursor
        self.rows = rows
        self.exhausted = exhausted


def _run(conn: sqlite3.Connection, begin: str | None, sql: str, parameters: Any, many: bool) -> _Ran:
    """On the connection's thread: the transaction's BEGIN when this is its first statement, then the whole
    statement, start to (usually) finish."""
    if begin is not None:
        conn.execute(begin)  # fails as the statement would (a busy lock): the transaction never started
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, () if parameters is None else parameters)
        rows: list[Any] = cursor.fetchmany(PREFETCH) if cursor.description is not None else []
    except BaseException:
        cursor.close()
        raise
    exhausted = len(rows) < PREFETCH
    if exhausted:
        cursor.close()  # description, rowcount and lastrowid stay readable
    return _Ran(cursor, rows, exhausted)


def _rest(cursor: sqlite3.Cursor, size: int | None) -> tuple[list[Any], bool]:
    """On the connection's thread: the next rows of a large result; closes the cursor once it is read."""
    rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
    exhausted = size is None or len(rows) < size
    if exhausted:
        cursor.close()
    return rows, exhausted


class OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapter uses, with the trips folded together."""

    def __init__(self, conn: OneTripConnection) -> None:
        self._conn = conn
        self._cursor: sqlite3.Cursor | None = None
        self._rows: list[Any] = []
        self._exhausted = True
        self.arraysize = 1

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _trip(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        return self._conn.on_thread(fn, *args)

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneTripCursor:
        await self._close_open()
        self._take(await self._statement(sql, parameters, False))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneTripCursor:
        await self._close_open()
        self._take(await self._statement(sql, parameters, True))
        return self

    async def _statement(self, sql: str, parameters: Any, many: bool) -> _Ran:
        begin = self._conn.take_begin()
        try:
            return await self._trip(_run, self._conn.sqlite, begin, sql, parameters, many)
        except Exception:
            # Raised on the thread, which is idle now. A refused BEGIN started nothing: a caller that catches the
            # error and goes on must still be inside a transaction, so the next statement sends the BEGIN again.
            if begin is not None and not self._conn.sqlite.in_transaction:
                self._conn.begin_with_next_statement(begin)
            raise

    def _take(self, ran: _Ran) -> None:
        self._cursor, self._rows, self._exhausted = ran.cursor, ran.rows, ran.exhausted

    async def _more(self, size: int | None) -> None:
        if self._exhausted or self._cursor is None:
            return
        rows, self._exhausted = await self._trip(_rest, self._cursor, size)
        self._rows.extend(rows)

    async def fetchall(self) -> list[Any]:
        await self._more(None)
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if len(self._rows) < size:
            await self._more(max(size, PREFETCH))
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def close(self) -> None:
        self._rows = []
        await self._close_open()

    async def _close_open(self) -> None:
        if self._cursor is not None and not self._exhausted:
            self._exhausted = True
            await self._trip(sqlite3.Cursor.close, self._cursor)

    @property
    def description(self) -> Sequence[Any] | None:
        return None if self._cursor is None else self._cursor.description

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return None if self._cursor is None else self._cursor.lastrowid


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection, handing out one-trip cursors."""

    trips = 0  # how many times this connection went to its thread (commits and rollbacks included): tests read it
    _begin: str | None = None  # the BEGIN of a transaction that has run no statement yet

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.trips += 1
        return await super()._execute(fn, *args, **kwargs)

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._conn

    def on_thread(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        """Run ``fn(*args)`` on this connection's thread, in order with everything else sent there."""
        return self._execute(fn, *args)

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    def begin_with_next_statement(self, sql: str) -> None:
        """Start a transaction with ``sql`` (BEGIN, BEGIN IMMEDIATE) in the trip of its first statement."""
        self._begin = sql

    def take_begin(self) -> str | None:
        """The BEGIN the next statement must run first, if any; it runs once."""
        begin, self._begin = self._begin, None
        return begin

    async def commit(self) -> None:
        if self.take_begin() is None:  # else no statement ran: there is nothing to commit
            await super().commit()

    async def rollback(self) -> None:
        if self.take_begin() is None:
            await super().rollback()


def in_transaction(conn: object) -> bool:
    """Whether a connection handed back to the pool is still inside a transaction (must be rolled back). Read
    between statements, when its thread is idle; anything but a one-trip connection counts as inside one."""
    if not isinstance(conn, OneTripConnection) or conn._begin is not None:
        return True  # a BEGIN still waiting for its first statement is cleared by the rollback
    try:
        return conn.sqlite.in_transaction
    except sqlite3.Error:  # closed, or not readable from here: the rollback decides
        return True


def connector(database: str, **kwargs: Any) -> Callable[[], Awaitable[OneTripConnection]]:
    """An ``async_creator`` for SQLAlchemy: connections to ``database`` opened with ``sqlite3.connect`` arguments
    ``kwargs``."""

    async def connect() -> OneTripConnection:
        conn = OneTripConnection(lambda: sqlite3.connect(database, **kwargs), iter_chunk_size=64)
        conn._thread.daemon = True  # as SQLAlchemy does for aiosqlite: a forgotten connection never holds up exit
        return await conn

    return connect
