"""``python -m bot backup FILE``: a consistent copy of a SQLite database that is being written to."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.backup import BackupError, backup
from bot.store.database import Database
from bot.store.engine import create_engine, migrate
from tests.conftest import BOT_YAML, free_port, wait_until
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import ROOT, BotProcess, bot_env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def keys_in(copy: Path) -> tuple[str, list[str]]:
    conn = sqlite3.connect(copy)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        keys = [row[0] for row in conn.execute("SELECT key FROM settings_kv WHERE key LIKE 'w.%'")]
    finally:
        conn.close()
    return integrity, keys


async def test_a_backup_taken_during_writes_is_whole_and_holds_what_was_committed_before_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    engine = create_engine(url)
    await migrate(engine)
    db = Database(engine)
    async with db.transaction() as tx:  # enough data that the copy takes a while
        await tx.conn.exec_driver_sql("CREATE TABLE ballast (id INTEGER PRIMARY KEY, data TEXT)")
        await tx.conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) "
            "INSERT INTO ballast (data) SELECT hex(randomblob(200)) FROM n"
        )
    committed: list[int] = []
    stop = asyncio.Event()

    async def write() -> None:
        n = 0
        while not stop.is_set():
            async with db.transaction() as tx:
                await tx.archive.put_setting(f"w.{n:06d}", "x" * 100)
            committed.append(n)
            n += 1
            await asyncio.sleep(0)

    writer = asyncio.create_task(write())
    try:
        await wait_until(lambda: len(committed) >= 50, what="writes under way")
        before = len(committed)
        done = await backup(url, tmp_path / "copy.db")
        after = len(committed)
        await wait_until(lambda: len(committed) >= after + 20, what="writes going on after the backup")
    finally:
        stop.set()
        await writer
        await engine.dispose()
    integrity, keys = keys_in(tmp_path / "copy.db")
    assert integrity == "ok" and done.integrity == "ok"
    assert after > before  # the bot's writes went on while the copy was taken
    assert before <= len(keys) <= after  # everything committed before it began; nothing after it ended
    assert sorted(keys) == [f"w.{n:06d}" for n in range(len(keys))]  # one snapshot: no write missing in between
    assert done.counts["ballast"] == 40000 and done.counts["settings_kv"] >= before


async def test_refusals_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="on PostgreSQL use pg_dump --format=custom"):
        await backup("postgresql+asyncpg://db.example.test/tb", tmp_path / "x.db")
    with pytest.raises(BackupError, match="there is no database at"):
        await backup(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}", tmp_path / "x.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    (tmp_path / "taken.db").write_bytes(b"keep me")
    with pytest.raises(BackupError, match="exists: choose a new file, or pass --force"):
        await backup(url, tmp_path / "taken.db")
    assert (tmp_path / "taken.db").read_bytes() == b"keep me"
    assert (await backup(url, tmp_path / "taken.db", overwrite=True)).integrity == "ok"


async def test_the_command_backs_up_the_running_bot_s_database(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    database = f"sqlite:///{tmp_path / 'bot.db'}"  # the command is about SQLite files, whatever the suite runs on
    env = bot_env(tmp_path, slack, telegram, database, BOT_YAML)
    bot = BotProcess(env, free_port(), tmp_path / "bot.log")
    await bot.start()
    try:
        for chat in range(10):
            telegram.push_text(800 + chat, f"message {chat}")
        await wait_until(lambda: len(slack.messages) >= 3, timeout=20, what="messages flowing")
        result = await asyncio.to_thread(run, env, "backup", str(tmp_path / "copy.db"))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"backed up to {tmp_path / 'copy.db'} in ") and "integrity ok" in result.stdout
        again = await asyncio.to_thread(run, env, "backup", str(tmp_path / "copy.db"))
        assert again.returncode == 1 and again.stderr.strip().endswith("or pass --force to replace it")
    finally:
        await bot.stop()
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert 1 <= copy.execute("SELECT count(*) FROM messages").fetchone()[0] <= 10
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, ready to put in place
    finally:
        copy.close()
    refused = await asyncio.to_thread(run, {**env, "DATABASE_URL": "postgresql://db.example.test/tb"}, "backup",
                                      str(tmp_path / "other.db"))  # fmt: skip
    assert refused.returncode == 1 and "pg_dump --format=custom" in refused.stderr
