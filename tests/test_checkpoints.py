"""SQLite's log is copied back into the database by a background task, not inside the commit that happens to
push it past SQLite's default of 1,000 pages (bot.store.checkpoints)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from bot.store.checkpoints import SAFETY_PAGES, Checkpointer
from bot.store.engine import create_engine, migrate
from tests.conftest import Bot, wait_until


def size(path: Path) -> int:
    return path.stat().st_size


async def test_commits_leave_the_log_to_the_background_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    checkpoints = Checkpointer(engine, every=0.05)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE filler (data BLOB)"))
        await checkpoints.checkpoint()  # the schema into the database file: what follows is the test's own
        before = size(path)
        for _ in range(30):  # about 1,500 pages: past SQLite's default threshold, under the bot's own
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO filler VALUES (randomblob(200000))"))
        assert size(path) == before  # no commit copied the log back
        assert size(Path(f"{path}-wal")) > 1_000 * 4096
        await checkpoints.start()
        await wait_until(lambda: size(path) > before + 5_000_000, what="the log copied into the database")
        frames, copied = await checkpoints.checkpoint()
        assert frames == copied  # nothing left behind
    finally:
        await checkpoints.stop()
        await engine.dispose()


async def test_the_running_bot_raises_the_threshold_and_checkpoints_on_sqlite_only(bot: Bot) -> None:
    async with bot.rt.db.engine.connect() as conn:
        if bot.rt.db.dialect == "sqlite":
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one() == SAFETY_PAGES
    tasks = {t.get_name() for t in asyncio.all_tasks()}
    assert ("sqlite-checkpoints" in tasks) == (bot.rt.db.dialect == "sqlite")
