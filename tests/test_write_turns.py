"""Writers of one process take turns on SQLite: queued in the order they asked, never polling SQLite's lock (which
let one writer lose to the others for seconds under load); PostgreSQL writers run side by side."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

import bot.store.database as database
from bot.store.database import Database, contention
from tests.conftest import Bot


def begins(db: Database, prefix: str) -> list[str]:
    """The tasks named ``prefix...`` that began a transaction with the driver (BEGIN IMMEDIATE on SQLite); the bot's
    own loops write meanwhile too."""
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        task = asyncio.current_task()
        if sql.startswith("BEGIN") and task is not None and task.get_name().startswith(prefix):
            seen.append(task.get_name())

    event.listen(db.engine.sync_engine, "before_cursor_execute", statement)
    return seen


async def test_writers_take_turns_in_the_order_they_asked(bot: Bot) -> None:
    db = bot.rt.db
    entered: list[str] = []

    async def writer(name: str) -> None:
        async with db.transaction() as tx:
            entered.append(name)
            await tx.archive.put_setting(f"turn.{name}", name)

    started = begins(db, "writer-")
    async with db.transaction() as tx:
        await tx.archive.put_setting("turn.first", "first")
        others = []
        for name in ("b", "c", "d", "e"):
            others.append(asyncio.create_task(writer(name), name=f"writer-{name}"))
            await asyncio.sleep(0.01)  # each asks after the one before
        await asyncio.sleep(0.2)
        if db.dialect == "sqlite":
            assert started == [] and entered == []  # they wait their turn here, not in SQLite's lock
        else:
            assert sorted(entered) == ["b", "c", "d", "e"]  # PostgreSQL: writers of other rows run side by side
    await asyncio.gather(*others)
    if db.dialect == "sqlite":
        assert entered == ["b", "c", "d", "e"]
    async with db.reading() as tx:
        assert [await tx.archive.get_setting(f"turn.{n}") for n in "bcde"] == list("bcde")


async def test_a_writer_that_waits_too_long_is_told_as_sqlite_would_tell_it(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait is bounded like SQLite's busy timeout, so a use case sees contention and may run again."""
    db = bot.rt.db
    if db.dialect != "sqlite":
        assert db._writers is None  # nothing to wait for in the process: PostgreSQL's own locks decide
        return
    monkeypatch.setattr(database, "SQLITE_BUSY_SECONDS", 0.2)
    async with db.transaction():
        with pytest.raises(OperationalError) as refused:
            async with db.transaction() as tx:
                await tx.archive.put_setting("never", "1")  # not reached: the turn never came
    assert contention(refused.value) == "database is locked"
    async with db.transaction() as tx:  # the turn was handed on: the next writer goes at once
        await tx.archive.put_setting("after", "1")
