"""Holding a transaction at the point of danger, and having the database itself refuse one for contention."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, text

from bot.store.database import Database
from tests.conftest import Bot


class Pause:
    """Holds the first call through it until released: the transaction it runs in keeps its locks meanwhile."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self.armed = True

    async def __call__(self) -> None:
        if not self.armed:
            return
        self.armed = False
        self.reached.set()
        await self.release.wait()


def pause_after(real: Callable[..., Awaitable[Any]], pause: Pause) -> Callable[..., Awaitable[Any]]:
    async def paused(*args: Any, **kwargs: Any) -> Any:
        result = await real(*args, **kwargs)
        await pause()
        return result

    return paused


async def lock_waiters(db: Database) -> int:
    """How many sessions of this PostgreSQL database are waiting for a lock right now."""
    async with db.reading() as tx:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int((await tx.conn.execute(query)).scalar_one())


async def someone_waits(db: Database) -> bool:
    return await lock_waiters(db) > 0


async def count(bot: Bot, query: str, **params: Any) -> int:
    async with bot.rt.db.reading() as tx:
        return int((await tx.conn.execute(text(query), params)).scalar_one())


async def archived(bot: Bot, wanted: str) -> int:
    return await count(bot, "SELECT count(*) FROM messages WHERE text = :t", t=wanted)


class Retries(logging.Handler):
    """The retry warnings logged for one use case (``Class.method``); ``on_retry`` runs as each is logged."""

    def __init__(self, use_case: str, on_retry: Callable[[int], None] = lambda n: None) -> None:
        super().__init__(logging.WARNING)
        self.use_case = use_case
        self.on_retry = on_retry
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(f"{self.use_case}: "):
            self.seen.append(message)
            self.on_retry(len(self.seen))

    def __enter__(self) -> Retries:
        logging.getLogger("bot.store.database").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("bot.store.database").removeHandler(self)


class Refusal:
    """The database itself refuses ``use_case``'s transaction for contention, ``times`` times (None: until stopped).

    PostgreSQL: a trigger on ``table`` raises a serialization failure (SQLSTATE 40001) for rows matching ``when``.
    SQLite: another connection holds the write lock and the bot's connections stop waiting for locks, so BEGIN
    IMMEDIATE fails with "database is locked"; the lock is let go once ``use_case`` was refused ``times`` times.
    """

    def __init__(self, bot: Bot, use_case: str, *, times: int | None, table: str, when: str) -> None:
        self.times, self.table, self.when = times, table, when
        self.retries = Retries(use_case, self._refused)
        self.engine = bot.rt.db.engine
        self._waits = lock_waits(self.engine.sync_engine) if self.engine.dialect.name == "sqlite" else None
        self._blocker: sqlite3.Connection | None = None

    async def start(self) -> None:
        self.retries.__enter__()
        if self.engine.dialect.name == "postgresql":
            refuse = "true" if self.times is None else f"nextval('contention_refusals') <= {self.times}"
            async with self.engine.begin() as conn:
                await conn.execute(text("CREATE SEQUENCE contention_refusals"))
                await conn.execute(
                    text(
                        "CREATE FUNCTION refuse_for_contention() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        f"IF {refuse} THEN RAISE EXCEPTION 'could not serialize access due to concurrent update' "
                        "USING ERRCODE = 'serialization_failure'; END IF; RETURN NEW; END $$"
                    )
                )
                await conn.execute(
                    text(
                        f"CREATE TRIGGER refuse_for_contention BEFORE INSERT OR UPDATE ON {self.table} FOR EACH ROW "
                        f"WHEN ({self.when}) EXECUTE FUNCTION refuse_for_contention()"
                    )
                )
            return
        assert self._waits is not None
        self._waits.wait = False
        # Taken on a thread: a bot transaction under way must be able to finish on the event loop meanwhile.
        self._blocker = await asyncio.to_thread(_write_lock, str(self.engine.url.database))

    def _refused(self, n: int) -> None:
        if self.times is not None and n >= self.times:
            self._let_go()

    def _let_go(self) -> None:
        if self._blocker is not None:
            self._blocker.rollback()
            self._blocker.close()
            self._blocker = None
            assert self._waits is not None
            self._waits.wait = True

    async def stop(self) -> None:
        self.retries.__exit__()
        if self.engine.dialect.name == "postgresql":
            async with self.engine.begin() as conn:
                await conn.execute(text(f"DROP TRIGGER refuse_for_contention ON {self.table}"))
                await conn.execute(text("DROP FUNCTION refuse_for_contention()"))
                await conn.execute(text("DROP SEQUENCE contention_refusals"))
        else:
            self._let_go()


def _write_lock(path: str) -> sqlite3.Connection:
    blocker = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


class LockWaits:
    """Whether the bot's SQLite connections wait for a lock (as bot.store.engine sets them up) or fail at once."""

    def __init__(self) -> None:
        self.wait = True

    def __call__(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={30000 if self.wait else 0}")
        cursor.close()


_lock_waits: weakref.WeakKeyDictionary[Any, LockWaits] = weakref.WeakKeyDictionary()


def lock_waits(engine: Any) -> LockWaits:
    """The switch of an engine, listening to every checkout; added once and never removed, because a checkout
    suspended inside a listener (it runs a statement) must not find the list of listeners changed."""
    if engine not in _lock_waits:
        _lock_waits[engine] = LockWaits()
        event.listen(engine, "checkout", _lock_waits[engine])
    return _lock_waits[engine]
