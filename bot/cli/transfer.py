"""``python -m bot migrate-database --to postgresql://…``: move a team's archive to another database (SQLite to
PostgreSQL, as a team grows), verified by counts.

The target's schema is built by the same migrations the bot runs at start, and must hold no data yet. Every table
is then copied in dependency order (a row's parents first), in batches, ids kept, from one snapshot of the source,
in one transaction on the target: it lands whole or not at all. PostgreSQL's id sequences are moved past the copied
ids, and the rows of every table are counted on both sides. Stop the bot first: what it writes during the copy would
not be in it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import bot.store.channel_schema
import bot.store.customer_schema
import bot.store.routing_schema
import bot.store.toolkit_schema  # noqa: F401  (their tables join the metadata)
from bot.cli.admin import database_url
from bot.config import ConfigError, normalize_database_url
from bot.config.secrets import mask_url_password
from bot.store.engine import READONLY, create_engine, migrate
from bot.store.schema import metadata

BATCH = 1000


class TransferError(Exception):
    """A move that cannot go ahead, said in one line."""


@dataclass(frozen=True)
class Moved:
    counts: dict[str, tuple[int, int]]  # table -> (rows in the source, rows in the target)
    seconds: float

    @property
    def verified(self) -> bool:
        return all(source == target for source, target in self.counts.values())


def tables() -> list[Table]:
    """Every table of the archive, parents before children."""
    return list(metadata.sorted_tables)


async def _count(conn: AsyncConnection, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def _copy_table(source: AsyncConnection, target: AsyncConnection, table: Table, batch: int) -> int:
    key = list(table.primary_key.columns)
    rows = await source.stream(select(table).order_by(*key).execution_options(yield_per=batch))
    copied = 0
    async for chunk in rows.mappings().partitions(batch):
        await target.execute(table.insert(), [dict(row) for row in chunk])
        copied += len(chunk)
    return copied


async def _fix_sequences(target: AsyncConnection) -> None:
    """New rows on PostgreSQL get ids after the copied ones (the copy gave the ids itself)."""
    for table in tables():
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, Integer) or key[0].autoincrement is False:
            continue
        name, column = table.name, key[0].name
        sequence = (await target.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": name, "c": column}))
        found = sequence.scalar_one_or_none()
        if found is None:
            continue
        await target.execute(
            text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column}") FROM "{name}"), 0) + 1, false)'), {"s": found}
        )


async def transfer(
    source_engine: AsyncEngine, target_engine: AsyncEngine, *, batch: int = BATCH,
    progress: Callable[[str, int], None] | None = None,
) -> Moved:  # fmt: skip
    started = time.monotonic()
    await migrate(source_engine)  # the copy reads the newest tables: the upgrade the bot makes at start anyway
    await migrate(target_engine)
    counts: dict[str, tuple[int, int]] = {}
    async with source_engine.connect() as reading, target_engine.connect() as target:
        source = await reading.execution_options(**{READONLY: True})  # SQLite: a reader, not the write lock
        await source.begin()  # one snapshot of the source for the whole copy, and for its counts
        async with target.begin():
            for table in tables():
                if (held := await _count(target, table)) > 0:
                    raise TransferError(f"the target already holds data ({held} rows in {table.name}): give it an "
                                        "empty database")  # fmt: skip
            for table in tables():
                copied = await _copy_table(source, target, table, batch)
                if progress is not None:
                    progress(table.name, copied)
            if target.dialect.name == "postgresql":
                await _fix_sequences(target)
        for table in tables():
            counts[table.name] = (await _count(source, table), await _count(target, table))
    return Moved(counts=counts, seconds=time.monotonic() - started)


def transfer_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot migrate-database",
        description="Copy the whole archive from DATABASE_URL into an empty database (e.g. SQLite to PostgreSQL), "
        "verified by counts. Stop the bot first.",
    )
    parser.add_argument("--to", required=True, metavar="URL", help="the target database, e.g. postgresql://…")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"rows per insert (default {BATCH})")
    args = parser.parse_args(argv)
    try:
        source_url = database_url()
        target_url = normalize_database_url(args.to)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if source_url == target_url:
        print("configuration error: --to: a database other than DATABASE_URL", file=sys.stderr)
        return 2

    async def run() -> Moved:
        source, target = create_engine(source_url), create_engine(target_url)
        try:
            return await transfer(source, target, batch=max(1, args.batch),
                                  progress=lambda t, n: print(f"copied {n} rows of {t}", file=sys.stderr))  # fmt: skip
        finally:
            await source.dispose()
            await target.dispose()

    try:
        moved = asyncio.run(run())
    except TransferError as exc:
        print(f"migrate-database: {exc}; nothing was copied", file=sys.stderr)
        return 1
    except Exception as exc:  # the target's transaction rolled back: nothing of the copy is there
        print(f"migrate-database failed, nothing was copied: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for table, (source_rows, target_rows) in moved.counts.items():
        mark = "OK  " if source_rows == target_rows else "DIFF"
        print(f"{mark}  {table}: {source_rows} rows in the source, {target_rows} in the target")
    where = mask_url_password(target_url)
    if not moved.verified:
        print(f"the counts differ: do not use {where} yet", file=sys.stderr)
        return 1
    total = sum(source for source, _ in moved.counts.values())
    print(f"moved {total} rows to {where} in {moved.seconds:.1f} s, every count verified; set DATABASE_URL to it")
    return 0
