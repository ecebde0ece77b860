"""8. Reports: a 90-day ``/report`` p95 over 1,000,000 messages, SQLite and PostgreSQL.

The archive of the search benchmark (50,000 customers, 100,000 conversations, 1,000,000 messages) is bulk-loaded
into the bot's migrated schema (bench/seed.py), then given what reports read: a category and a holder per
conversation, its inquiry state (first-response and resolution times), a survey for every other closed conversation,
a tag each, and a saved reply on every 20th staff message. The 90-day period holds about 30,000 conversations and
150,000 messages. Each timed call is what ``/report 90d`` does before Slack is called: ``Reports.build`` (every
query), the CSV and the chart (PNG). Baseline in the same run: one COUNT of the period's conversations with the
same join.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import PG_ADMIN_URL, check, log, ms, percentile, postgres_available, sqlite_url, table, workdir
from bench.seed import START, Shape, seed

NAME = "reports"
TITLE = "Reports (/report 90d)"
TARGET_P95_S = 2.0
SHAPE = Shape(customers=50_000, conversations_per_customer=2, messages=1_000_000)
PERIOD_START = START + timedelta(days=330)  # the closed conversations were opened on days 300 to 450
PERIOD_END = PERIOD_START + timedelta(days=90)
ROUNDS = 15
BUDGET_S = 60.0
PG_DB = "bench_reports"
STAFF = ("U0STAFF", "U0ANNA", "U0BORA", "U0CHOI", "U0DANI")
CATEGORIES = {
    "billing": {"label": "결제/환불", "owners": ["U0BIZ"], "first_response_minutes": 10},
    "bugs": {"label": "버그 신고", "owners": ["U0DEV"], "first_response_minutes": 60},
    "shipping": {"label": "Shipping", "owners": ["U0SHIP"]},
}


def _enrich_statements(dialect: str) -> list[str]:
    """What the bot's own paths would have written for these conversations (routing, timing, the toolkit)."""
    plus = (
        (lambda col, secs: f"datetime({col}, '+' || ({secs}) || ' seconds')")
        if dialect == "sqlite"
        else (lambda col, secs: f"{col} + make_interval(secs => {secs})")
    )
    staff = "CASE id % 5 " + " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(STAFF)) + " END"
    category = "CASE id % 4 WHEN 0 THEN 'billing' WHEN 1 THEN 'bugs' WHEN 2 THEN 'shipping' ELSE NULL END"
    first = "((id * 37) % 7200)"
    return [
        f"UPDATE conversations SET category = {category}, holder = {staff}",
        "INSERT INTO inquiry_state (conversation_id, category_source, first_response_at, first_response_by, "
        "first_response_seconds, resolved_at, resolution_seconds, paused_seconds) "
        f"SELECT id, 'rules', {plus('opened_at', first)}, holder, {first}, closed_at, "
        "CASE WHEN closed_at IS NULL THEN NULL ELSE 7200 END, CASE WHEN id % 10 = 0 THEN 300 ELSE NULL END "
        "FROM conversations",
        "INSERT INTO surveys (conversation_id, customer_id, status, due_at, asked_at, rating, rated_at) "
        "SELECT id, customer_id, CASE WHEN id % 3 = 0 THEN 'asked' ELSE 'rated' END, closed_at, closed_at, "
        "CASE WHEN id % 3 = 0 THEN NULL ELSE 1 + id % 5 END, CASE WHEN id % 3 = 0 THEN NULL ELSE closed_at END "
        "FROM conversations WHERE closed_at IS NOT NULL AND id % 4 = 1",
        "INSERT INTO conversation_tags (conversation_id, tag, actor, created_at) "
        "SELECT id, CASE (id / 2) % 6 WHEN 0 THEN '환불' WHEN 1 THEN 'vip' WHEN 2 THEN 'delivery' WHEN 3 THEN 'login' "
        "WHEN 4 THEN 'coupon' ELSE 'other' END, 'rule:bench', opened_at FROM conversations",
        "INSERT INTO saved_replies (title, body_en, body_ko, tags, created_by, created_at, updated_by, updated_at) "
        "SELECT 'Reply ' || n, 'x', 'x', '[]', 'yaml', opened_at, 'yaml', opened_at "
        "FROM (SELECT id AS n, opened_at FROM conversations WHERE id <= 12) AS first_twelve",
        "UPDATE messages SET saved_reply_id = 1 + (id / 20) % 12 WHERE direction = 'outbound' AND id % 20 = 0",
        "ANALYZE",
    ]


async def _enrich(database_url: str) -> float:
    from bot.store.engine import create_engine

    started = time.monotonic()
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for statement in _enrich_statements(engine.dialect.name):
                await conn.execute(text(statement))
    finally:
        await engine.dispose()
    return time.monotonic() - started


async def _measure(label: str, database_url: str) -> dict[str, Any]:
    from bot.config import parse_bot_config
    from bot.domain.periods import Period, ReportRequest
    from bot.slack.report_charts import render_png
    from bot.store.database import Database
    from bot.store.engine import create_engine
    from bot.usecases.reports import Reports

    config = parse_bot_config({"slack": {"inbox_channel": "C0INBOX"}, "categories": CATEGORIES})
    engine = create_engine(database_url)
    reports = Reports(Database(engine), config)
    labels = {k: c.label for k, c in config.categories.items()}
    request = ReportRequest(Period(PERIOD_START, PERIOD_END, "90 days"))
    baseline_sql = text(
        "SELECT COUNT(*) FROM conversations "
        "LEFT JOIN inquiry_state ON inquiry_state.conversation_id = conversations.id "
        "WHERE (opened_at >= :a AND opened_at < :b) OR (closed_at >= :a AND closed_at < :b)"
    )
    bounds = {"a": PERIOD_START, "b": PERIOD_END}
    if engine.dialect.name == "sqlite":
        bounds = {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in bounds.items()}
    load_before = os.getloadavg()[0]
    try:
        built = await reports.build(request)  # warm-up; and what the period holds
        total = built.report.total
        render_png(built.report, labels)  # the first chart loads matplotlib and its fonts
        whole, numbers, files, baseline = [], [], [], []
        started = time.monotonic()
        rounds = 0
        while rounds < ROUNDS and (rounds < 3 or time.monotonic() - started < BUDGET_S):
            t = time.perf_counter()
            built = await reports.build(request)
            t_numbers = time.perf_counter()
            chart = asyncio.to_thread(render_png, built.report, labels)
            _, table_bytes = await asyncio.gather(chart, reports.csv(built))
            done = time.perf_counter()
            numbers.append(t_numbers - t)
            files.append(done - t_numbers)
            whole.append(done - t)
            rounds += 1
        for _ in range(ROUNDS):
            t = time.perf_counter()
            async with engine.connect() as conn:
                counted = (await conn.execute(baseline_sql, bounds)).scalar_one()
            baseline.append(time.perf_counter() - t)
        conversations = len(await reports.rows(built))
    finally:
        await engine.dispose()
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    return {
        "load_average": load,
        "rounds": rounds,
        "numbers_p50_ms": ms(percentile(numbers, 50)),
        "numbers_p95_ms": ms(percentile(numbers, 95)),
        "files_p95_ms": ms(percentile(files, 95)),
        "p50_s": round(percentile(whole, 50), 3),
        "p95_s": round(percentile(whole, 95), 3),
        "baseline_p95_ms": ms(percentile(baseline, 95)),
        "conversations": conversations,
        "counted": counted,
        "opened": total.opened,
        "closed": total.closed,
        "csv_bytes": len(table_bytes),
    }


async def _postgres_url() -> str:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}"')
        await admin.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await admin.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{PG_DB}"


async def _drop_postgres() -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}"')
    finally:
        await admin.close()


async def _one_database(label: str, tmp: Path) -> dict[str, Any]:
    url = sqlite_url(tmp, "reports.db") if label == "SQLite" else await _postgres_url()
    try:
        started = time.monotonic()
        await seed(url, SHAPE, lambda what: log(f"reports {label}: {what}"))
        seeded = time.monotonic() - started
        enriched = await _enrich(url)
        log(f"reports {label}: archive loaded in {seeded:.1f} s, report tables filled in {enriched:.1f} s")
        return await _measure(label, url) | {"seeded_s": round(seeded, 1), "enriched_s": round(enriched, 1)}
    finally:
        if label != "SQLite":
            await _drop_postgres()


async def run(*, profile: bool = False) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    notes: list[str] = []
    raw: dict[str, Any] = {}
    with workdir("reports-db") as tmp:
        databases = ["SQLite"]
        reason = await postgres_available()
        if reason is None:
            databases.append("PostgreSQL")
        else:
            notes.append(f"PostgreSQL skipped: {reason}")
        for label in databases:
            result = await _one_database(label, tmp)
            raw[label] = result
            log(f"reports {label}: numbers p95 {result['numbers_p95_ms']} ms, with the files p95 {result['p95_s']} s")
            baseline = {"baseline": result["baseline_p95_ms"], "baseline_label": "one COUNT of the period's rows, p95"}
            checks.append(
                check(
                    f"{label}: /report 90d p95, the numbers (every query and figure)",
                    result["numbers_p95_ms"], "ms", target=f"< {TARGET_P95_S * 1000:g} ms",
                    met=result["numbers_p95_ms"] < TARGET_P95_S * 1000, note=f"p50 {result['numbers_p50_ms']} ms",
                    **baseline,
                )
            )  # fmt: skip
            checks.append(
                check(
                    f"{label}: /report 90d p95, numbers then chart and CSV",
                    round(result["p95_s"] * 1000, 1), "ms", target=f"< {TARGET_P95_S * 1000:g} ms",
                    met=result["p95_s"] < TARGET_P95_S,
                    note=f"chart and CSV p95 {result['files_p95_ms']} ms; load average {result['load_average']}",
                    **baseline,
                )
            )  # fmt: skip
            rows.append([
                label, result["conversations"], result["opened"], result["closed"], result["csv_bytes"],
                result["numbers_p95_ms"], result["files_p95_ms"], result["rounds"], result["seeded_s"],
            ])  # fmt: skip
    return {
        "title": TITLE,
        "how": (
            f"{SHAPE.messages:,} messages, {SHAPE.customers * SHAPE.conversations_per_customer:,} conversations "
            "bulk-loaded (bench/seed.py), then inquiry state, surveys, tags and saved replies filled by SQL. Each "
            f"timed call: `Reports.build` for {PERIOD_START:%Y-%m-%d}..{PERIOD_END:%Y-%m-%d} (90 days: the numbers "
            "the message shows), then the 1200x900 chart (in a thread) beside the CSV's query, in the benchmark "
            "process, as /report posts them (the numbers first, the files in its thread); "
            f"one warm-up, then up to {ROUNDS} rounds within "
            f"{BUDGET_S:g} s. Baseline: one COUNT of the period's conversations with the same join."
        ),
        "checks": checks,
        "tables": [
            table(
                "Per database",
                [
                    "database", "conversations read", "opened", "closed", "CSV bytes", "numbers p95 ms",
                    "chart+CSV p95 ms", "rounds", "load s",
                ],
                rows,
            )
        ],
        "notes": notes,
        "raw": raw,
    }
