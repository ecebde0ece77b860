"""Bulk-load an archive (customers, identities, conversations, messages) straight into the bot's tables.

Used where a benchmark needs a large archive the real receive path would take many minutes to build. The schema is
the bot's own (migrated with ``bot.store.engine.migrate`` first, so indexes and triggers the migrations define are
in place and maintained by the load); rows are written with the raw drivers: sqlite3 ``executemany`` and asyncpg
``COPY``. Column lists come from ``bot.store.schema``; a column added there with a default is left to its default.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from bench.common import INBOX
from bot.store import grams

FAMILY = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "Kim", "Lee", "Park", "Smith", "Garcia", "Nguyen"]
GIVEN = [
    "민준",
    "서연",
    "도윤",
    "지우",
    "하준",
    "서윤",
    "Minho",
    "Jiwoo",
    "Alex",
    "Sam",
    "Maria",
    "Chris",
    "Yuna",
    "Daniel",
]
PHRASES = [
    "환불 부탁드립니다",
    "환불이 아직 안 들어왔어요",
    "배송이 언제 시작되나요",
    "결제가 두 번 됐어요",
    "결제 오류가 났습니다",
    "비밀번호를 잊어버렸어요",
    "앱이 자꾸 꺼져요",
    "쿠폰 코드가 적용이 안 돼요",
    "주문 취소하고 싶어요",
    "영수증 다시 보내주세요",
    "교환 가능할까요",
    "감사합니다!",
    "네 확인했습니다",
    "where is my order",
    "I want a refund for my last invoice",
    "the app crashes when I open settings",
    "can you resend the receipt please",
    "payment failed twice",
    "thanks, that worked",
    "how do I change my plan",
    "my coupon code is not accepted",
    "please cancel my subscription",
    "the delivery was late again",
    "login error after the update",
]

START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    customers: int
    conversations_per_customer: int
    messages: int
    rare_every: int = 0  # every Nth message carries a rare token "zeta<N>", for a selective search


def customer_name(i: int) -> str:
    return f"{FAMILY[i % len(FAMILY)]} {GIVEN[(i // len(FAMILY)) % len(GIVEN)]} {i}"


def chat_id(i: int) -> int:
    return 8_000_000 + i


def thread_ts(conversation_id: int) -> str:
    return f"{1_700_000_000 + conversation_id}.000100"


def _rows(shape: Shape) -> dict[str, tuple[list[str], Iterator[tuple[Any, ...]]]]:
    conversations = shape.customers * shape.conversations_per_customer
    span = timedelta(days=600)

    def at(fraction: float) -> datetime:
        return START + span * fraction

    def customers() -> Iterator[tuple[Any, ...]]:
        for i in range(1, shape.customers + 1):
            yield (i, customer_name(i), f"user{i}", at(i / shape.customers / 2))

    def identities() -> Iterator[tuple[Any, ...]]:
        for i in range(1, shape.customers + 1):
            yield (i, i, "telegram", str(chat_id(i)), customer_name(i), f"user{i}", "ko", at(i / shape.customers / 2))

    def convs() -> Iterator[tuple[Any, ...]]:
        k = shape.conversations_per_customer
        for i in range(1, shape.customers + 1):
            for j in range(k):
                cid = (i - 1) * k + j + 1
                last = j == k - 1
                opened = at(0.5 + (j + i / shape.customers) / (2 * k))
                yield (
                    cid, i, i, "open" if last else "closed", None, None, INBOX, thread_ts(cid),
                    cid - 1 if j else None, opened, None if last else opened + timedelta(hours=2), opened,
                )  # fmt: skip

    def messages() -> Iterator[tuple[Any, ...]]:
        rng = random.Random(42)
        for m in range(1, shape.messages + 1):
            cid = (m - 1) % conversations + 1
            customer = (cid - 1) // shape.conversations_per_customer + 1
            inbound = rng.random() < 0.6
            text = " ".join(rng.sample(PHRASES, 2))
            if shape.rare_every and m % shape.rare_every == 0:
                text += f" zeta{m}"
            yield (
                m, cid, "inbound" if inbound else "outbound",
                f"telegram:{chat_id(customer)}" if inbound else "U0STAFF",
                customer_name(customer) if inbound else "Jiwoo", "telegram" if inbound else "slack",
                text, "[]", f"seed:{m}", "[]", "delivered", at(m / shape.messages),
            )  # fmt: skip

    return {
        "customers": (["id", "display_name", "username", "created_at"], customers()),
        "identities": (
            ["id", "customer_id", "channel", "external_id", "display_name", "username", "language_code", "created_at"],
            identities(),
        ),
        "conversations": (
            [
                "id",
                "customer_id",
                "identity_id",
                "status",
                "category",
                "holder",
                "slack_channel",
                "thread_ts",
                "previous_id",
                "opened_at",
                "closed_at",
                "last_message_at",
            ],
            convs(),
        ),
        "messages": (
            [
                "id",
                "conversation_id",
                "direction",
                "author_id",
                "author_name",
                "channel",
                "text",
                "attachments",
                "source_key",
                "external_message_ids",
                "delivery",
                "created_at",
            ],
            messages(),
        ),
    }


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fts_content(sql: str) -> str | None:
    match = re.search(r"content\s*=\s*'?\"?(\w+)", sql)
    return match.group(1) if match else None


def _gram_fill(insert_trigger: str) -> str | None:
    """A contentless gram table's insert trigger (migration 0012) as one statement filling it from its table."""
    match = re.search(
        r"ON (\w+) BEGIN INSERT INTO (\w+)\(rowid, grams\) VALUES \(new\.id, (\w+)\(([^)]*)\)\);", insert_trigger
    )
    if match is None:
        return None
    table, gram_table, function, arguments = match.groups()
    return f"INSERT INTO {gram_table}(rowid, grams) SELECT id, {function}({arguments.replace('new.', '')}) FROM {table}"


def seed_sqlite(path: str, shape: Shape, progress: Callable[[str], None] = lambda _: None) -> None:
    """executemany in one transaction per table; FTS5 triggers on the loaded tables are lifted during the load
    and each index built once afterwards (the same index, built in one pass): the external-content trigram tables
    rebuilt, the contentless gram tables filled."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # a benchmark archive, rebuilt if lost; the bot runs FULL
        conn.execute("PRAGMA foreign_keys=OFF")
        loaded = set(_rows(shape))
        fts = {
            name: _fts_content(sql)
            for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            if sql and "fts5" in sql.lower()
        }
        triggers = [
            (name, sql)
            for name, table, sql in conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
            if table in loaded and any(f in sql for f in fts)
        ]
        with conn:
            for name, _ in triggers:
                conn.execute(f'DROP TRIGGER "{name}"')
        for name, (columns, rows) in _rows(shape).items():
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            with conn:
                for chunk in _chunks(rows, 50_000):
                    conn.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in chunk])
            progress(f"loaded {name}")
        grams.register(conn)
        with conn:
            for name, content in fts.items():
                if content in loaded:
                    conn.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")
                    progress(f"rebuilt {name}")
            for name, sql in triggers:
                fill = _gram_fill(sql)
                if fill is not None and name.endswith("_ai"):
                    conn.execute(fill)
                    progress(f"filled {name.removesuffix('_ai')}")
            for _, sql in triggers:
                conn.execute(sql)
        conn.execute("ANALYZE")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def seed_postgres(url: str, shape: Shape, progress: Callable[[str], None] = lambda _: None) -> None:
    """COPY per table; the secondary indexes of the loaded tables are dropped for the load and built again after."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        tables = list(_rows(shape))
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1::text[]) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            tables,
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        for name, (columns, rows) in _rows(shape).items():
            async with conn.transaction():
                for chunk in _chunks(rows, 100_000):
                    await conn.copy_records_to_table(name, records=chunk, columns=columns)
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT coalesce(max(id), 1) FROM {name}))"
            )
            progress(f"loaded {name}")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for index in indexes:
            started = time.monotonic()
            await conn.execute(index["indexdef"])
            progress(f"built {index['indexname']} in {time.monotonic() - started:.1f} s")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def seed(database_url: str, shape: Shape, progress: Callable[[str], None] = lambda _: None) -> None:
    """Migrate the database to the bot's newest schema, then load ``shape`` into it."""
    from bot.store.engine import create_engine, migrate

    engine = create_engine(database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        seed_sqlite(url.database, shape, progress)
    else:
        await seed_postgres(database_url, shape, progress)


# ------------------------------------------------------------------------------------------------------------------
# A cache of loaded archives, so a re-run does not pay for the load again. The key covers the schema (every
# migration and schema module), this loader and the shape: any change there loads afresh. BENCH_NO_CACHE=1 always
# loads afresh. SQLite archives are files under BENCH_CACHE (default ~/.cache/threadbridge-bench); PostgreSQL
# archives are template databases "bench_tpl_<key>" (the working copy is a separate database, "bench_search").

CACHE = Path(os.environ.get("BENCH_CACHE", str(Path.home() / ".cache" / "threadbridge-bench")))
PG_SEARCH_DB = "bench_search"


def fingerprint(shape: Shape) -> str:
    from bench.common import ROOT

    digest = hashlib.sha256(repr(shape).encode())
    sources = [*sorted((ROOT / "bot" / "store").rglob("*.py")), Path(__file__)]
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _use_cache() -> bool:
    return os.environ.get("BENCH_NO_CACHE", "") in ("", "0")


async def seeded_sqlite(path: Path, shape: Shape, progress: Callable[[str], None]) -> tuple[float, bool]:
    """A loaded SQLite archive at ``path``; returns (seconds, came from the cache)."""
    started = time.monotonic()
    cached = CACHE / f"archive-{fingerprint(shape)}.db"
    if _use_cache() and cached.exists():
        shutil.copyfile(cached, path)
        return time.monotonic() - started, True
    await seed(f"sqlite+aiosqlite:///{path}", shape, progress)
    seconds = time.monotonic() - started
    if _use_cache():
        CACHE.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
        for old in CACHE.glob("archive-*.db"):  # noqa: ASYNC240
            old.unlink()
        shutil.copyfile(path, cached.with_suffix(".partial"))
        cached.with_suffix(".partial").rename(cached)
    return seconds, False


async def seeded_postgres(admin_url: str, shape: Shape, progress: Callable[[str], None]) -> tuple[str, float, bool]:
    """A loaded PostgreSQL archive in the database "bench_search"; returns (its URL, seconds, came from the cache)."""
    import asyncpg

    started = time.monotonic()
    template = f"bench_tpl_{fingerprint(shape)}"
    url = admin_url.rsplit("/", 1)[0] + f"/{PG_SEARCH_DB}"
    admin = await asyncpg.connect(admin_url)
    try:
        have = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", template)
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_SEARCH_DB}"')
        if _use_cache() and have:
            await admin.execute(f'CREATE DATABASE "{PG_SEARCH_DB}" TEMPLATE "{template}"')
            return url.replace("postgresql://", "postgresql+asyncpg://", 1), time.monotonic() - started, True
        await admin.execute(f'CREATE DATABASE "{PG_SEARCH_DB}"')
        await seed(url.replace("postgresql://", "postgresql+asyncpg://", 1), shape, progress)
        seconds = time.monotonic() - started
        if _use_cache():
            for row in await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'bench_tpl_%'"):
                await admin.execute(f'DROP DATABASE "{row["datname"]}"')
            await admin.execute(f'CREATE DATABASE "{template}" TEMPLATE "{PG_SEARCH_DB}"')
        return url.replace("postgresql://", "postgresql+asyncpg://", 1), seconds, False
    finally:
        await admin.close()
