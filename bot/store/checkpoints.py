"""SQLite's write-ahead log copied back into the database in the background, not inside a writer's commit.

Left to itself, SQLite checkpoints in whichever commit pushes the log past 1,000 pages: that commit copies about
4 MB and flushes the database file before it returns, so the message it carries waits for all of it (the tail of
the relay benchmark, docs/BENCHMARKS.md). The bot's connections raise that threshold to ``SAFETY_PAGES`` (a bound
on the log should this task ever stop) and this task checkpoints every ``every`` seconds on a connection of its
own, PASSIVE: it waits for no reader or writer, and writers keep appending to the log while it copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

SAFETY_PAGES = 10_000  # PRAGMA wal_autocheckpoint of the bot's connections (about 40 MB of log)
CHECKPOINT_EVERY = 1.0


class Checkpointer:
    def __init__(self, engine: AsyncEngine, *, every: float = CHECKPOINT_EVERY) -> None:
        self.engine = engine
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        if self.engine.dialect.name == "sqlite" and self._task is None:
            self._task = asyncio.create_task(self._run(), name="sqlite-checkpoints")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def checkpoint(self) -> tuple[int, int]:
        """One PASSIVE checkpoint; returns (frames in the log, frames copied into the database)."""
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection  # aiosqlite: outside any transaction, as the pragma needs
            assert driver is not None
            cursor = await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
            _busy, frames, copied = await cursor.fetchone()
            await cursor.close()
            return int(frames), int(copied)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.checkpoint()
            except Exception as exc:  # the next one may work; meanwhile SQLite's own bound holds
                if not self._failing:
                    log.warning("could not checkpoint the SQLite log (bounded at %d pages): %s", SAFETY_PAGES, exc)
                self._failing = True
            else:
                self._failing = False
