"""8. The delivery queue at depth: claim and prune with 0, 100,000 and 1,000,000 delivered jobs kept.

The bot keeps delivered jobs for a week (``WorkerSettings.keep_done``), so a busy team's queue holds hundreds of
thousands of them beside the handful still to deliver. Every claim (on each wake-up and each 0.5 s poll) and every
prune runs under the write lock, so what they cost is what every other writer waits. Rows are bulk-loaded into the
bot's migrated schema (sqlite3 executemany / asyncpg COPY, then ANALYZE); claims go through ``Outbox.claim`` in a
``Database.transaction`` exactly as ``DeliveryWorker._fill`` calls it (the lease is handed back after each, so the
next claim finds the same work). Baseline, alternated with each claim in the same run: a one-row write transaction
through the same ``Database`` (BEGIN IMMEDIATE / an UPDATE of one row / COMMIT).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import check, fresh_postgres, log, ms, percentile, postgres_available, sqlite_url, table, workdir

NAME = "outbox"
TITLE = "Delivery queue at depth"
DEPTHS = (0, 100_000, 1_000_000)
OLD_SHARE = 10  # one delivered job in ten finished more than keep_done ago: what a prune takes
LANES = 32  # lanes with one pending job each in the backlog case (a claim takes 32 at most: the worker's concurrency)
CLAIMS = 150
SELECTS = 20
CLAIM_TARGET_MS = 5.0
PRUNE_TARGET_MS = 50.0


def _rows(start: int, count: int, now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(start, start + count):
        age = timedelta(days=8, seconds=i) if i % OLD_SHARE == 0 else timedelta(seconds=i % 86_400)
        finished = now - age
        lane, target = f"slack:C{i % 500}:{i % 20_000}", f"slack:C{i % 500}"
        rows.append((i + 1, lane, target, "post", "{}", "done", 1, 0.0, finished, finished))
    return rows


COLUMNS = [
    *("database", "delivered jobs kept", "lanes found", "claim p50", "claim p99", "baseline p50", "baseline p99"),
    *("lanes found (backlog)", "backlog claim p50", "backlog claim p99"),
    *("empty prune", "pruned", "prune batches", "batch p99", "batch max"),
]
_COLUMNS = ("id", "lane", "target", "kind", "payload", "status", "attempts", "not_before", "created_at", "finished_at")


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy's SQLite DateTime stores it


async def _load(database_url: str, start: int, count: int) -> None:
    """Append ``count`` delivered jobs with ids from ``start + 1``."""
    now = datetime.now(UTC)
    rows = _rows(start, count, now)
    if database_url.startswith("sqlite"):
        import sqlite3

        path = database_url.split("///", 1)[1]
        conn = sqlite3.connect(path)
        try:
            conn.executemany(
                f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})",
                [(*r[:8], _sqlite_time(r[8]), _sqlite_time(r[9])) for r in rows],
            )
            conn.commit()
            conn.execute("ANALYZE")
            conn.commit()
        finally:
            conn.close()
        return
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table("outbox", records=rows, columns=list(_COLUMNS))
        await conn.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), (SELECT max(id) FROM outbox))")
        await conn.execute("ANALYZE outbox")
    finally:
        await conn.close()


async def _pending(db: Any, lanes: range) -> None:
    """One job waiting in each of ``lanes``, with ids above every delivered one (the newest work)."""
    from bot.store.outbox import PENDING
    from bot.store.schema import outbox

    now = datetime.now(UTC)
    async with db.transaction() as tx:
        await tx.conn.execute(
            outbox.insert(),
            [{"id": 10_000_000 + lane, "lane": f"bench:{lane}", "target": f"slack:B{lane}", "kind": "post",
              "payload": {}, "status": PENDING, "attempts": 0, "not_before": 0.0, "created_at": now}
             for lane in lanes],
        )  # fmt: skip


async def _withdraw_pending(db: Any) -> None:
    from sqlalchemy import delete

    from bot.store.schema import outbox

    async with db.transaction() as tx:
        await tx.conn.execute(delete(outbox).where(outbox.c.id >= 10_000_000))


async def _claims(db: Any) -> tuple[list[float], list[float], int]:
    """(claim transaction seconds, baseline transaction seconds), alternated; and the batches each claim found."""
    from sqlalchemy import update

    from bot.store.schema import settings_kv

    claimed: list[float] = []
    baseline: list[float] = []
    found = 0
    for _ in range(CLAIMS):
        t = time.perf_counter()
        async with db.transaction() as tx:
            batches = await tx.outbox.claim(
                now=time.time(), owner="bench", lease_seconds=60, limit=32, batchable_kinds=("post",), max_batch=20
            )
        claimed.append(time.perf_counter() - t)
        found = len(batches)
        async with db.transaction() as tx:
            await tx.outbox.release([j.id for b in batches for j in b], owner="bench")
        t = time.perf_counter()
        async with db.transaction() as tx:
            await tx.conn.execute(update(settings_kv).where(settings_kv.c.key == "bench").values(value="x"))
        baseline.append(time.perf_counter() - t)
    return claimed, baseline, found


def _previous_claim(now: float, limit: int) -> Any:
    """The claim's SELECT as it was before migration 0010_outbox: no condition the partial index can prove."""
    from sqlalchemy import and_, or_, select

    from bot.store.schema import outbox

    earlier = outbox.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(earlier.c.lane == outbox.c.lane, earlier.c.id < outbox.c.id)
        .where(earlier.c.status.in_(("pending", "sending")))
        .exists()
    )
    runnable = or_(outbox.c.status == "pending", and_(outbox.c.status == "sending", outbox.c.lease_until < now))
    return (
        select(outbox)
        .where(runnable, outbox.c.not_before <= now, ~blocked)
        .order_by(outbox.c.id)
        .limit(limit * 4)
        .with_for_update(skip_locked=True)
    )


async def _selects(db: Any) -> tuple[list[float], list[float]]:
    """The claim's SELECT alone, as it is and as it was, alternated, each in a write transaction as the worker
    runs it (nothing is leased: the rows are only read and locked)."""
    from bot.store.outbox import claim_statement

    now_s: list[float] = []
    before_s: list[float] = []
    for _ in range(SELECTS):
        for statement, into in ((claim_statement(now=time.time(), limit=32), now_s),
                                (_previous_claim(time.time(), 32), before_s)):  # fmt: skip
            t = time.perf_counter()
            async with db.transaction() as tx:
                (await tx.conn.execute(statement)).all()
            into.append(time.perf_counter() - t)
    return now_s, before_s


async def _prunes(db: Any) -> tuple[float, list[float], int]:
    """(an empty prune's seconds, each batch's transaction seconds, rows pruned): as DeliveryWorker.prune runs."""
    from bot.delivery.worker import WorkerSettings

    settings = WorkerSettings()
    t = time.perf_counter()
    async with db.transaction() as tx:
        assert await tx.outbox.prune(datetime.now(UTC) - timedelta(days=30), limit=settings.prune_batch) == 0
    empty = time.perf_counter() - t
    batches: list[float] = []
    pruned = 0
    before = datetime.now(UTC) - settings.keep_done
    while True:
        t = time.perf_counter()
        async with db.transaction() as tx:
            n = await tx.outbox.prune(before, limit=settings.prune_batch)
        batches.append(time.perf_counter() - t)
        pruned += n
        if n < settings.prune_batch:
            return empty, batches, pruned


async def _one_database(label: str, database_url: str) -> list[list[Any]]:
    from sqlalchemy import text

    from bot.store.database import Database
    from bot.store.engine import create_engine, migrate

    engine = create_engine(database_url)
    await migrate(engine)
    db = Database(engine)
    async with db.transaction() as tx:
        await tx.conn.execute(text("INSERT INTO settings_kv (key, value) VALUES ('bench', '')"))
    await engine.dispose()
    rows: list[list[Any]] = []
    selects_table: list[list[Any]] = []
    loaded = 0
    for depth in DEPTHS:
        t = time.monotonic()
        await _load(database_url, loaded, depth - loaded)
        loaded = depth
        log(f"outbox {label}: {depth:,} delivered jobs loaded in {time.monotonic() - t:.1f} s")
        engine = create_engine(database_url)
        db = Database(engine)
        try:
            await _pending(db, range(1))
            selects, previous = await _selects(db)
            claimed, baseline, found = await _claims(db)  # a wake-up: one new job
            await _pending(db, range(1, LANES))
            backlog, _, backlog_found = await _claims(db)  # a backlog: a job in each of 32 lanes
            await _withdraw_pending(db)
            empty, batches, pruned = (0.0, [0.0], 0)
            if depth == DEPTHS[-1]:
                empty, batches, pruned = await _prunes(db)
        finally:
            await engine.dispose()
        claim_figures = [found, ms(percentile(claimed, 50)), ms(percentile(claimed, 99))]
        baseline_figures = [ms(percentile(baseline, 50)), ms(percentile(baseline, 99))]
        backlog_figures = [backlog_found, ms(percentile(backlog, 50)), ms(percentile(backlog, 99))]
        prune_figures = [ms(empty), pruned, len(batches), ms(percentile(batches, 99)), ms(max(batches))]
        select_figures = [ms(percentile(selects, 50)), ms(percentile(previous, 50))]
        rows.append([label, depth, *claim_figures, *baseline_figures, *backlog_figures, *prune_figures])
        selects_table.append([label, depth, *select_figures])
        log(f"outbox {label} @ {depth:,}: {rows[-1]} {selects_table[-1]}")
    return rows, selects_table


async def run(*, profile: bool = False) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    notes: list[str] = []
    every: list[list[Any]] = []
    selects: list[list[Any]] = []
    with workdir("outbox") as tmp:
        databases = [("SQLite", sqlite_url(Path(tmp), "outbox.db"))]
        reason = await postgres_available()
        if reason is None:
            databases.append(("PostgreSQL", await fresh_postgres()))
        else:
            notes.append(f"PostgreSQL skipped: {reason}")
        for label, url in databases:
            rows, select_rows = await _one_database(label, url)
            every += rows
            selects += select_rows
            deepest = rows[-1]
            checks.append(
                check(
                    f"{label}: claim p99 (a wake-up finding one new job), {deepest[1]:,} delivered jobs kept",
                    deepest[4],
                    "ms",
                    baseline=deepest[6],
                    baseline_label="one-row write transaction p99",
                    target=f"≤ {CLAIM_TARGET_MS:g} ms",
                    met=deepest[4] <= CLAIM_TARGET_MS,
                    note=f"claiming a backlog of {deepest[7]} lanes: p99 {deepest[9]} ms",
                )
            )
            checks.append(
                check(
                    f"{label}: longest prune batch (write lock held), {deepest[11]:,} jobs pruned",
                    deepest[14],
                    "ms",
                    baseline=deepest[6],
                    baseline_label="one-row write transaction p99",
                    target=f"≤ {PRUNE_TARGET_MS:g} ms",
                    met=deepest[14] <= PRUNE_TARGET_MS,
                    note=f"{deepest[12]} batches, p99 {deepest[13]} ms; an empty prune {deepest[10]} ms",
                )
            )
    return {
        "title": TITLE,
        "how": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "checks": checks,
        "tables": [
            table(
                "Claim and prune, ms (same run; baseline: one-row write transaction, alternated with each claim)",
                COLUMNS,
                every,
            ),
            table(
                "The claim's SELECT alone, p50 ms: as it is, and as it was before migration 0010 (alternated)",
                ["database", "delivered jobs kept", "now", "before"],
                selects,
            ),
        ],
        "notes": notes,
    }
