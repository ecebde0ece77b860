"""6. Search: ``/history`` latency p50/p95 over 1,000,000 messages and 50,000 customers, SQLite and PostgreSQL.

The archive is bulk-loaded into the bot's migrated schema (bench/seed.py): 50,000 customers, two conversations
each (the older closed), 1,000,000 messages of mixed Korean and English support phrases. Each query goes through
``Customers.search`` in this process (the call the ``/history`` command makes; Slack's dispatch and the
reply's blocks are not included). Queries mix common and rare words, Korean of one to three characters, a
customer's name, @username and Telegram id, and a word found nowhere (which must look at everything an index
does not rule out). Baseline in the same run: the newest 20 messages with the same joins and no condition.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bench.common import (
    PG_ADMIN_URL,
    check,
    conversations_service,
    log,
    ms,
    percentile,
    postgres_available,
    sqlite_url,
    table,
    workdir,
    write_bot_yaml,
)
from bench.profiling import Profile
from bench.seed import PG_SEARCH_DB, Shape, chat_id, customer_name, seeded_postgres, seeded_sqlite

NAME = "search"
TITLE = "Search (/history)"
TARGET_P95_MS = 50.0
SHAPE = Shape(customers=50_000, conversations_per_customer=2, messages=1_000_000, rare_every=100_000)
ROUNDS = 3
BUDGET_S = 25.0  # per database, for the timed rounds; fewer rounds are run when queries are slow

QUERIES: list[tuple[str, str]] = [
    ("Korean, 2 characters, common", "환불"),
    ("Korean, 3 characters", "환불이"),
    ("Korean, 1 character", "쿠"),
    ("Korean, two words", "결제 오류"),
    ("English word, common", "refund"),
    ("English, two words", "payment failed"),
    ("rare word (10 messages)", "zeta"),
    ("rare word (1 message)", "zeta700000"),
    ("word found nowhere", "환불증명서"),
    ("customer name", customer_name(31_337)),
    ("@username", "@user31337"),
    ("Telegram id", str(chat_id(31_337))),
]


async def _index_label(engine: Any) -> str:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = (
                await conn.execute(text("SELECT name FROM sqlite_master WHERE sql LIKE '%fts5%' OR sql LIKE '%FTS5%'"))
            ).all()
            return f"FTS5 table(s): {', '.join(r[0] for r in found)}" if found else "none (LIKE scan)"
        found = (
            await conn.execute(
                text(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                    "AND (indexdef ILIKE '%gin%' OR indexdef ILIKE '%gist%' OR indexdef ILIKE '%tsvector%')"
                )
            )
        ).all()
        return f"GIN/GiST index(es): {', '.join(r[0] for r in found)}" if found else "none (ILIKE scan)"


async def _history(service: Any, query: str) -> int:
    method = service.history
    kwargs = {"limit": 20} if "limit" in inspect.signature(method).parameters else {}
    result = await method(query, **kwargs)
    for attribute in ("results", "items", "messages"):
        if hasattr(result, attribute):
            result = getattr(result, attribute)
            break
    try:
        return len(result)
    except TypeError:
        return -1


async def _newest(engine: Any) -> None:
    from bot.store.schema import conversations, identities, messages

    stmt = (
        select(messages, identities.c.display_name, conversations.c.thread_ts)
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .join(identities, identities.c.id == conversations.c.identity_id)
        .order_by(messages.c.id.desc())
        .limit(20)
    )
    async with engine.connect() as conn:
        (await conn.execute(stmt)).all()


async def _one_database(label: str, tmp: Path, profile: bool) -> dict[str, Any]:
    def progress(what: str) -> None:
        log(f"search {label}: {what}")

    if label == "SQLite":
        seeded, cached = await seeded_sqlite(tmp / "search.db", SHAPE, progress)
        database_url = sqlite_url(tmp, "search.db")
    else:
        database_url, seeded, cached = await seeded_postgres(PG_ADMIN_URL, SHAPE, progress)
    log(f"search {label}: archive {'copied from the cache' if cached else 'loaded'} in {seeded:.1f} s")
    try:
        return await _measure(label, database_url, tmp, profile) | {"seeded_s": round(seeded, 1), "cached": cached}
    finally:
        if label != "SQLite":
            await _drop_search_db()


async def _drop_search_db() -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_SEARCH_DB}"')
    finally:
        await admin.close()


async def _measure(label: str, database_url: str, tmp: Path, profile: bool) -> dict[str, Any]:
    if True:
        service, engine = await conversations_service(database_url, write_bot_yaml(tmp / "bot.yaml"))
    try:
        index = await _index_label(engine)
        log(f"search {label}: index: {index}")
        hits: dict[str, int] = {}
        for _, query in QUERIES:  # warm the caches; also the hit counts
            hits[query] = await _history(service, query)
        samples: dict[str, list[float]] = {q: [] for _, q in QUERIES}
        profiler = Profile(_self_pid(), f"search-{label.lower()}", _profile_text(label)) if profile else None
        if profiler:
            await profiler.__aenter__()
        timed_started = time.monotonic()
        rounds = 0
        try:
            while rounds < ROUNDS and (rounds == 0 or time.monotonic() - timed_started < BUDGET_S):
                for _, query in QUERIES:
                    t = time.perf_counter()
                    await _history(service, query)
                    samples[query].append(time.perf_counter() - t)
                rounds += 1
        finally:
            if profiler:
                await profiler.__aexit__(None, None, None)
        baseline = []
        for _ in range(30):
            t = time.perf_counter()
            await _newest(engine)
            baseline.append(time.perf_counter() - t)
    finally:
        await engine.dispose()
    every = [s for values in samples.values() for s in values]
    return {
        "index": index,
        "rounds": rounds,
        "p50_ms": ms(percentile(every, 50)),
        "p95_ms": ms(percentile(every, 95)),
        "max_ms": ms(max(every)),
        "baseline_p50_ms": ms(percentile(baseline, 50)),
        "baseline_p95_ms": ms(percentile(baseline, 95)),
        "per_query": [
            [what, query, hits[query], ms(percentile(samples[query], 50)), ms(max(samples[query]))]
            for what, query in QUERIES
        ],
    }


def _self_pid() -> int:
    import os

    return os.getpid()


def _profile_text(label: str) -> str:
    return (
        f"The benchmark process itself running `Customers.search` over 1,000,000 messages on {label} "
        "(the search timed rounds)."
    )


async def run(*, profile: bool = False) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    notes: list[str] = []
    raw: dict[str, Any] = {}
    databases: list[tuple[str, str]] = []
    with workdir("search-db") as tmp:
        databases.append("SQLite")
        reason = await postgres_available()
        if reason is None:
            databases.append("PostgreSQL")
        else:
            notes.append(f"PostgreSQL skipped: {reason}")
        for label in databases:
            result = await _one_database(label, tmp, profile)
            raw[label] = result
            indexed = not result["index"].startswith("none")
            log(f"search {label}: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms ({result['index']})")
            checks.append(
                check(
                    f"{label}: /history p95 ({'indexed' if indexed else 'NO SEARCH INDEX YET'})",
                    result["p95_ms"],
                    "ms",
                    baseline=result["baseline_p95_ms"],
                    baseline_label="newest-20 query p95",
                    target=f"< {TARGET_P95_MS:g} ms (issue 5)",
                    met=result["p95_ms"] < TARGET_P95_MS,
                    note=f"p50 {result['p50_ms']} ms; index: {result['index']}",
                )
            )
            tables.append(
                table(
                    f"{label}: per query, ms ({result['rounds']} timed rounds after one warm-up; archive "
                    f"{'copied from the cache' if result['cached'] else 'loaded'} in {result['seeded_s']} s)",
                    ["query", "text", "results", "median", "slowest"],
                    result["per_query"],
                )
            )
        if any(r["index"].startswith("none") for r in raw.values()):
            notes.append(
                "**Measured against what exists:** the search index of issue 5 (FTS5 trigram / pg_trgm) is not in "
                "the schema yet, so `/history` scans with (I)LIKE. Re-run `python -m bench search` once it lands; "
                "the benchmark picks the index up from the migrations."
            )
    return {
        "title": TITLE,
        "how": (
            f"{SHAPE.customers:,} customers, {SHAPE.customers * SHAPE.conversations_per_customer:,} conversations, "
            f"{SHAPE.messages:,} messages bulk-loaded into the bot's migrated schema (sqlite3 executemany / asyncpg "
            "COPY, then ANALYZE). Each of the queries below through `Customers.search(query, page_size=20)` in the "
            f"benchmark process: one warm-up pass, then up to {ROUNDS} timed rounds within {BUDGET_S:g} s per "
            "database; "
            "p50/p95 over every timed call. Baseline: the newest 20 messages with the same joins and no condition."
        ),
        "checks": checks,
        "tables": tables,
        "notes": notes,
        "raw": raw,
    }
