"""SQLite statements make one trip to the connection's thread (bot.store.sqlite_driver), and everything SQLAlchemy
reads from a cursor still comes back whole: rows past the first trip, streamed results, counts, errors."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.engine import create_engine
from bot.store.sqlite_driver import PREFETCH, OneTripConnection

ROWS = PREFETCH * 3 + 7  # a result that takes more than one trip


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


async def driver(conn: AsyncConnection) -> OneTripConnection:
    raw = await conn.get_raw_connection()
    assert isinstance(raw.driver_connection, OneTripConnection)
    return raw.driver_connection


async def fill(engine: AsyncEngine, count: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": f"n{i}"} for i in range(count)])


async def test_a_transaction_costs_one_trip_per_statement_plus_its_commit(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        sqlite = await driver(conn)
        await conn.commit()  # the pool's reset and the connect-time pragmas are not the test's
        before = sqlite.trips
        await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))  # BEGIN IMMEDIATE with it, in its trip
        inserted = await conn.execute(text("INSERT INTO item (name) VALUES ('b') RETURNING id"))
        assert inserted.scalar_one() == 2
        assert (await conn.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all() == ["a", "b"]
        updated = await conn.execute(text("UPDATE item SET name = name || '!'"))
        assert updated.rowcount == 2
        await conn.commit()
        # four statements (the first carrying the BEGIN), COMMIT: aiosqlite's own cursor takes three trips a
        # statement (cursor, execute, close) and a fourth to fetch rows, and BEGIN one more: 18 in all
        assert sqlite.trips - before == 5


async def test_results_larger_than_one_trip_come_back_whole(engine: AsyncEngine) -> None:
    await fill(engine, ROWS)
    async with engine.connect() as conn:
        sqlite = await driver(conn)
        before = sqlite.trips
        names = (await conn.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all()
        assert names == [f"n{i}" for i in range(ROWS)]
        assert sqlite.trips - before == 2  # BEGIN and the statement with its first rows, the rest in one more trip


async def test_a_streamed_result_reads_in_chunks_and_can_be_left_early(engine: AsyncEngine) -> None:
    await fill(engine, ROWS)
    async with engine.connect() as conn:
        streamed = await conn.stream(text("SELECT name FROM item ORDER BY id"))
        seen = [row.name async for row in streamed]
        assert seen == [f"n{i}" for i in range(ROWS)]

        early = await conn.stream(text("SELECT name FROM item ORDER BY id"))
        first = await early.fetchmany(3)
        assert [row.name for row in first] == ["n0", "n1", "n2"]
        await early.close()  # the open sqlite3 cursor is closed on its thread
        count = (await conn.execute(text("SELECT count(*) FROM item"))).scalar_one()
        assert count == ROWS


async def test_many_rows_in_one_statement_report_their_count(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        result = await conn.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": "x"}, {"name": "y"}])
        assert result.rowcount == 2
        deleted = await conn.execute(text("DELETE FROM item WHERE name IN ('x', 'y', 'z')"))
        assert deleted.rowcount == 2


async def test_a_failed_statement_raises_what_sqlite_raised_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    await fill(engine, 1)
    async with engine.connect() as conn:
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await conn.execute(text("INSERT INTO item (name) VALUES ('n0')"))
        await conn.rollback()
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await conn.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": "new"}, {"name": "n0"}])
        await conn.rollback()
        names = (await conn.execute(text("SELECT name FROM item"))).scalars().all()
        assert names == ["n0"]  # the failed batch left nothing behind


async def test_a_committed_transaction_goes_back_to_the_pool_without_another_trip(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        sqlite = await driver(conn)
        await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
        before = sqlite.trips
    # COMMIT, and no rollback by the pool's reset: there is nothing left to roll back
    assert sqlite.trips - before == 1
    async with engine.connect() as conn:
        assert await driver(conn) is sqlite  # the same connection, taken again
        assert (await conn.execute(text("SELECT name FROM item"))).scalars().all() == ["a"]


async def test_a_connection_handed_back_inside_a_transaction_is_rolled_back(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        sqlite = await driver(conn)
        await conn.commit()
        # a transaction SQLAlchemy does not know of, left open when the connection goes back to the pool
        await sqlite.execute("BEGIN IMMEDIATE")
        await sqlite.execute("INSERT INTO item (name) VALUES ('never')")
        assert sqlite.sqlite.in_transaction
    assert not sqlite.sqlite.in_transaction  # rolled back: the write lock is free for the next writer
    async with engine.begin() as other:
        assert await driver(other) is sqlite
        await other.execute(text("INSERT INTO item (name) VALUES ('kept')"))
    async with engine.connect() as reader:
        assert (await reader.execute(text("SELECT name FROM item"))).scalars().all() == ["kept"]


async def test_a_transaction_holds_the_write_lock_from_its_first_statement(engine: AsyncEngine, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "trips.db", isolation_level=None, timeout=0)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT count(*) FROM item"))  # a read first: BEGIN IMMEDIATE went with it
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
        other.execute("BEGIN IMMEDIATE")  # committed: the lock is free
        other.rollback()
    finally:
        other.close()


async def test_a_transaction_that_ran_nothing_costs_no_trip(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        sqlite = await driver(conn)
        await conn.commit()
        before = sqlite.trips
        await conn.begin()
        await conn.commit()
        await conn.begin()
        await conn.rollback()
        assert sqlite.trips == before
        await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))
        await conn.commit()
        assert sqlite.trips - before == 2  # the insert (with its BEGIN) and the commit
    async with engine.connect() as reader:
        assert (await reader.execute(text("SELECT name FROM item"))).scalars().all() == ["a"]


async def test_a_refused_begin_fails_its_statement_and_goes_again_with_the_next(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "trips.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    async with engine.connect() as conn:
        sqlite = await driver(conn)
        await sqlite.execute("PRAGMA busy_timeout=0")  # waits for no lock: BEGIN IMMEDIATE fails at once
        with pytest.raises(OperationalError, match="locked"):
            await conn.execute(text("INSERT INTO item (name) VALUES ('refused')"))
        assert not sqlite.sqlite.in_transaction
        other.rollback()
        # the error caught, the same transaction goes on: its next statement is inside it, and the rollback undoes it
        await conn.execute(text("INSERT INTO item (name) VALUES ('undone')"))
        assert sqlite.sqlite.in_transaction
        await conn.rollback()
        assert not sqlite.sqlite.in_transaction
        await conn.execute(text("INSERT INTO item (name) VALUES ('kept')"))
        assert sqlite.sqlite.in_transaction  # the BEGIN was sent again, with this statement
        await conn.commit()
    other.close()
    async with engine.connect() as reader:
        assert (await reader.execute(text("SELECT name FROM item"))).scalars().all() == ["kept"]
