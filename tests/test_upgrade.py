"""Upgrades: the schema migrates at start (one process at a time on PostgreSQL), and a version older than the
schema refuses to start with one line instead of running against tables it does not know."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.engine import SchemaTooNew, create_engine, migrate
from tests.conftest import BOT_YAML
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import ROOT, bot_env


async def stamp_future(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        await engine.dispose()


async def test_several_processes_migrating_at_once_all_start(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(engine) for engine in engines))
        async with engines[0].connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    finally:
        for engine in engines:
            await engine.dispose()
    assert len(versions) == 1


async def test_a_new_sqlite_file_busy_in_another_process_is_waited_for_not_refused(tmp_path: Path) -> None:
    """Switching a file still in rollback-journal mode to WAL while another process writes to it answers "database
    is locked" at once, without SQLite's busy wait; several processes starting on a new file meet exactly that."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE first_writer (n INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO first_writer VALUES (1)")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            rows = (await conn.execute(text("SELECT count(*) FROM first_writer"))).scalar()
    finally:
        await engine.dispose()
        other.close()
    assert (mode, rows) == ("wal", 1)


async def test_an_older_version_refuses_a_newer_schema(database_url: str) -> None:
    await stamp_future(database_url)
    engine = create_engine(database_url)
    try:
        with pytest.raises(SchemaTooNew, match=r"\(9999_future\) is newer than this version of the bot knows"):
            await migrate(engine)
    finally:
        await engine.dispose()


async def test_the_bot_says_so_in_one_line_and_exits_2(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await stamp_future(database)
    env = bot_env(tmp_path, slack, telegram, database, BOT_YAML)
    result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot"], cwd=ROOT, env=env,
                                     capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("cannot start: the database schema (9999_future)")
    assert "Traceback" not in result.stderr
