"""``python -m bot backup FILE``: a consistent copy of the SQLite database, taken while the bot runs.

SQLite's online backup (``sqlite3.Connection.backup``) copies the database as one snapshot: in WAL mode the bot
keeps writing meanwhile, and the copy holds exactly what was committed when the copy began. The copy is checked
(``PRAGMA integrity_check``) before it is put in place. PostgreSQL has its own tools (pg_dump): docs/OPERATIONS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from bot.cli.admin import database_url
from bot.config import ConfigError


@dataclass(frozen=True)
class Backup:
    path: Path
    integrity: str
    counts: dict[str, int]
    seconds: float


class BackupError(Exception):
    """A backup that cannot be taken, said in one line."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for any other database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


_TABLES = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
           "AND name NOT LIKE '%_fts%' AND name NOT LIKE '%_grams%' ORDER BY name")  # search indexes: not counted


def _copy(source: Path, target: Path, overwrite: bool) -> Backup:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists: choose a new file, or pass --force to replace it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot replace the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)  # it only reads: a read transaction, which WAL writers do not wait for
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, however much the bot writes meanwhile
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, whatever the source's mode
            integrity = str(dst.execute("PRAGMA integrity_check").fetchone()[0])
            tables = [row[0] for row in dst.execute(_TABLES)]
            counts = {t: int(dst.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}
        finally:
            dst.close()
    finally:
        src.close()
    if integrity != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check ({integrity}); the database itself may be damaged")
    partial.replace(target)
    return Backup(path=target, integrity=integrity, counts=counts, seconds=time.monotonic() - started)


async def backup(url: str, target: Path, *, overwrite: bool = False) -> Backup:
    """Copy the SQLite database at ``url`` to ``target`` (in a thread: the event loop, and the bot, go on)."""
    source = sqlite_file(url)
    if source is None:
        raise BackupError("DATABASE_URL is not a SQLite file: on PostgreSQL use pg_dump --format=custom "
                          "(docs/OPERATIONS.md, Backups)")  # fmt: skip
    return await asyncio.to_thread(_copy, source, target, overwrite)


def backup_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot backup", description="A consistent copy of the SQLite database, while the bot runs."
    )
    parser.add_argument("file", type=Path, help="where to write the copy")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
    args = parser.parse_args(argv)
    try:
        url = database_url()
        done = asyncio.run(backup(url, args.file, overwrite=args.force))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (BackupError, sqlite3.Error, OSError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{n} {table}" for table, n in done.counts.items() if table != "alembic_version")
    print(f"backed up to {done.path} in {done.seconds:.2f} s, integrity {done.integrity}: {counts}")
    return 0
