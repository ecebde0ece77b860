"""Database engine creation and schema migration at start-up."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, make_url, text
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store import grams, sqlite_driver
from bot.store.checkpoints import SAFETY_PAGES

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
READONLY = "threadbridge_readonly"  # execution option: this connection's transaction only reads (Database.reading)
SQLITE_BUSY_SECONDS = 30  # how long a SQLite connection waits for another one's write lock
_PG_MIGRATION_LOCK = 727_001  # advisory lock id: several processes starting together migrate one at a time


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL with a flush at every commit, a busy timeout and enforced foreign keys, its
    folder created."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)  # the file and options the URL names
        kwargs["timeout"] = SQLITE_BUSY_SECONDS
        # The pool's own reset (a rollback of every connection it takes back) is one more trip to the connection's
        # thread after each commit; ``_reset`` below rolls back only a connection still inside a transaction.
        engine = create_async_engine(
            url, async_creator=sqlite_driver.connector(*args, **kwargs), pool_reset_on_return=None
        )

        @event.listens_for(engine.sync_engine, "reset")
        def _reset(dbapi_conn, record, state) -> None:  # type: ignore[no-untyped-def]
            if state.terminate_only or not state.asyncio_safe:
                return  # the connection is being thrown away, or this runs outside the event loop
            if sqlite_driver.in_transaction(record.driver_connection):
                dbapi_conn.rollback()

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
            cursor = dbapi_conn.cursor()
            _enter_wal(cursor)
            # FULL: a commit is on disk before it returns, so a power cut cannot undo a message already acknowledged
            # (NORMAL may lose the last commits). Group commit keeps the flushes few (docs/DELIVERY.md).
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")  # checkpoints: bot.store.checkpoints
            cursor.close()
            grams.register(dbapi_conn)  # the search's gram tables are written by triggers calling it

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
            # Take the write lock when the transaction starts: a read-then-write transaction that upgrades its lock
            # later fails at once with "database is locked" when another connection wrote in between. A read-only
            # transaction takes no lock at all, so in WAL mode it neither waits for writers nor holds them up.
            begin = "BEGIN" if conn.get_execution_options().get(READONLY) else "BEGIN IMMEDIATE"
            driver = conn.connection.driver_connection
            if isinstance(driver, sqlite_driver.OneTripConnection):
                driver.begin_with_next_statement(begin)  # sent with the first statement: one trip less
            else:
                conn.exec_driver_sql(begin)

        return engine
    # After five runs of a prepared statement PostgreSQL may switch to a generic plan, which for the search's
    # trigram conditions is up to 100x slower than planning with the actual words (measured in docs/BENCHMARKS.md).
    server_settings = {"plan_cache_mode": "force_custom_plan"}
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args={"server_settings": server_settings}
    )


def _enter_wal(cursor: sqlite3.Cursor, *, patience: float = SQLITE_BUSY_SECONDS) -> None:
    """Switch a connection to WAL, waiting out the other processes doing the same on a new database file.

    Two connections converting one new file at once can deadlock on its lock; SQLite then answers "database is
    locked" at once instead of calling the busy handler, so the wait is done here."""
    deadline = time.monotonic() + patience
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)  # a connection's own thread (aiosqlite), never the event loop
        pause = min(pause * 2, 0.2)


def _alembic_config(connection: Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of the bot than this one: this version must not touch it."""


def _upgrade(connection: Connection) -> str:
    """Apply what is missing; returns what happened, in words for the log."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    config = _alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    before = MigrationContext.configure(connection).get_current_heads()  # after the lock: what is really there
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [head for head in before if head not in known]
    if unknown:
        raise SchemaTooNew(
            f"the database schema ({', '.join(unknown)}) is newer than this version of the bot knows: run the newer "
            "version (an older one cannot start on it), or restore the backup taken before the upgrade"
        )
    command.upgrade(config, "heads")  # independent branches of migrations all apply
    after = MigrationContext.configure(connection).get_current_heads()
    return schema_change(script, before, after)


def schema_change(script: ScriptDirectory, before: tuple[str, ...], after: tuple[str, ...]) -> str:
    """One line for the log: created, migrated from what to what, or up to date."""
    now = ", ".join(sorted(after))
    if not before:
        oldest = [r.revision for r in script.walk_revisions()][-1]
        applied = f"migrations {oldest}..{now}" if oldest != now else f"migration {now}"
        return f"created the database schema ({applied})"
    if set(before) != set(after):
        return f"migrated the database schema from {', '.join(sorted(before))} to {now}"
    return f"database schema is up to date ({now})"


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration, and say in the log what that took; safe to call from every process
    at start."""
    async with engine.begin() as conn:
        change = await conn.run_sync(_upgrade)
    log.info("%s", change)
