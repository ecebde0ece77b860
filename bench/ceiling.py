"""What the database alone can take: rows committed per second by the bare driver, no SQLAlchemy, no bot.

The ceiling for inbound throughput: groups of ``group`` rows per commit (what a group commit of that many waiting
senders writes), on SQLite with the bot's pragmas (WAL, ``synchronous=FULL``) through the standard ``sqlite3``
module in a thread, on PostgreSQL through one asyncpg connection. Each row is one message's worth of text.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

BODY = "order {n} did not arrive, 환불 부탁드려요"


def _sqlite_groups(path: Path, group: int, seconds: float) -> int:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS ceiling (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        rows = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            conn.execute("BEGIN IMMEDIATE")
            bodies = [(BODY.format(n=rows + i),) for i in range(group)]
            conn.executemany("INSERT INTO ceiling (body) VALUES (?)", bodies)
            conn.execute("COMMIT")
            rows += group
        return rows
    finally:
        conn.close()


async def sqlite_rows_per_second(path: Path, *, group: int, seconds: float) -> float:
    """Rows/s committed ``group`` at a time into a table of its own in ``path`` (a file beside the bot's)."""
    started = time.monotonic()
    rows = await asyncio.to_thread(_sqlite_groups, path, group, seconds)
    return rows / (time.monotonic() - started)


async def postgres_rows_per_second(url: str, *, group: int, seconds: float) -> float:
    """Rows/s committed ``group`` at a time through one asyncpg connection (``url``: a SQLAlchemy URL)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS ceiling (id bigserial PRIMARY KEY, body text NOT NULL)")
        rows = 0
        started = time.monotonic()
        while time.monotonic() < started + seconds:
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO ceiling (body) VALUES ($1)", [(BODY.format(n=rows + i),) for i in range(group)]
                )
            rows += group
        return rows / (time.monotonic() - started)
    finally:
        await conn.close()
