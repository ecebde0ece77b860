"""2. Inbound throughput: customer messages archived per second, sustained, on SQLite and PostgreSQL.

Headline: through the Telegram webhook route of a real ``python -m bot`` process (webhook mode, default pacing, its
delivery worker running), 32 concurrent senders, each request answered only after the message and its delivery job
are committed, so every 200 is one archived message. Two decompositions in the same run: ``the inbox (Intake.receive)``
called in-process (no HTTP, no worker), and the baseline: the same engine (same pragmas, one transaction per
message) inserting one row into a bare table, which is the ceiling of a store-first design on this database. On SQLite
the baseline runs twice, with the bot's ``synchronous=FULL`` and with ``NORMAL``: what durable commits cost.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.ceiling import postgres_rows_per_second, sqlite_rows_per_second
from bench.common import (
    WEBHOOK_HEADERS,
    BotProcess,
    Fakes,
    bot_env,
    check,
    conversations_service,
    free_port,
    fresh_postgres,
    log,
    postgres_available,
    scalar,
    sqlite_url,
    table,
    telegram_update,
    workdir,
    write_bot_yaml,
)
from bench.profiling import Profile

NAME = "inbound"
TITLE = "Inbound throughput"
TARGET = 1000.0
CONCURRENCY = 32
CHATS = 300
WARMUP = 1.0
WINDOW = 3.0
ROUNDS = 3  # webhook window, then each baseline's, in turn: the median of each is reported


async def _closed_loop(send: Callable[[int], Awaitable[bool]], seconds: float, first_seq: int) -> tuple[int, int, int]:
    """``CONCURRENCY`` senders for ``seconds``; returns (successes, failures, next sequence number)."""
    seq = first_seq
    ok = failed = 0
    deadline = time.monotonic() + seconds

    async def sender() -> None:
        nonlocal seq, ok, failed
        while time.monotonic() < deadline:
            mine = seq
            seq += 1
            if await send(mine):
                ok += 1
            else:
                failed += 1

    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return ok, failed, seq


async def _open_all(send: Callable[[int], Awaitable[bool]]) -> tuple[float, int]:
    """The first message of every chat (each opens a conversation); returns (conversations opened per second, ok)."""
    semaphore = asyncio.Semaphore(CONCURRENCY)
    started = time.monotonic()

    async def one(seq: int) -> bool:
        async with semaphore:
            return await send(seq)

    results = await asyncio.gather(*(one(i) for i in range(CHATS)))
    return sum(results) / (time.monotonic() - started), sum(results)


async def _webhook(
    database_url: str, profile: str | None, baselines: Mapping[str, Callable[[], Awaitable[float]]]
) -> dict[str, Any]:
    """The webhook route's figures, and each baseline's, measured in turn in every round (the bot process stays up;
    its worker keeps delivering the backlog to the fake Slack during the baselines' windows, so they are measured
    on the same busy machine the bot runs on)."""
    with workdir("inbound") as tmp:
        async with Fakes() as fakes, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            env = bot_env(
                fakes,
                database_url=database_url,
                port=free_port(),
                bot_config=write_bot_yaml(tmp / "bot.yaml"),
                webhook=True,
            )
            proc = BotProcess(env, log_path=tmp / "bot.log")
            try:
                await proc.start()
                url = f"{proc.url}/telegram/webhook"

                async def send(seq: int) -> bool:
                    chat = 7_000_001 + seq % CHATS
                    update = telegram_update(
                        1_000 + seq, chat, 1 + seq // CHATS, f"order {seq} did not arrive, 환불 부탁드려요"
                    )
                    try:
                        async with http.post(url, json=update, headers=WEBHOOK_HEADERS) as response:
                            await response.read()
                            return response.status == 200
                    except (aiohttp.ClientError, TimeoutError):
                        return False

                opening, _ = await _open_all(send)
                _, _, seq = await _closed_loop(send, WARMUP, CHATS)
                rounds: list[dict[str, float]] = []
                ok = failed = 0
                for round_ in range(ROUNDS):
                    before = await scalar(database_url, "SELECT count(*) FROM messages")
                    profiler = Profile(proc.pid, profile, _PROFILE_TEXT) if profile and round_ == 0 else None
                    if profiler:
                        await profiler.__aenter__()
                    started = time.monotonic()
                    answered, refused, seq = await _closed_loop(send, WINDOW, seq)
                    elapsed = time.monotonic() - started
                    if profiler:
                        await profiler.__aexit__(None, None, None)
                    archived = await scalar(database_url, "SELECT count(*) FROM messages") - before
                    ok, failed = ok + answered, failed + refused
                    figures = {"webhook": archived / elapsed}
                    for name, measure in baselines.items():
                        figures[name] = await measure()
                    rounds.append(figures)
                    log(f"inbound round {round_ + 1}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in figures.items()))
                backlog = await scalar(database_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")
                return {
                    "rounds": [{k: round(v, 1) for k, v in r.items()} for r in rounds],
                    "median": {k: round(statistics.median(r[k] for r in rounds), 1) for k in rounds[0]},
                    "answered_ok": ok,
                    "failed": failed,
                    "opening_per_second": round(opening, 1),
                    "backlog_after": backlog,
                }
            except Exception:
                log(f"bot log tail:\n{proc.log_tail()}")
                raise
            finally:
                await proc.stop()


_PROFILE_TEXT = (
    "The bot process (`python -m bot`, webhook mode) answering Telegram webhook requests from 32 concurrent senders "
    "as fast as it can (inbound throughput window), with its delivery worker running."
)


async def _in_process(database_url: str) -> dict[str, Any]:
    from bot.domain.models import InboundMessage, Sender

    with workdir("inbound-receive") as tmp:
        service, engine = await conversations_service(database_url, write_bot_yaml(tmp / "bot.yaml"))

        async def send(seq: int) -> bool:
            chat = 7_000_001 + seq % CHATS
            message = InboundMessage(
                channel="telegram",
                address=str(chat),
                sender=Sender(external_id=str(chat), display_name=f"Cust{chat}", language_code="en"),
                text=f"order {seq} did not arrive, 환불 부탁드려요",
                source_key=f"telegram:{chat}:{seq}",
                sent_at=datetime.now(UTC),
                external_message_id=str(seq),
            )
            await service.receive(message)
            return True

        try:
            opening, _ = await _open_all(send)
            _, _, seq = await _closed_loop(send, WARMUP, CHATS)
            started = time.monotonic()
            ok, _, _ = await _closed_loop(send, WINDOW, seq)
            elapsed = time.monotonic() - started
        finally:
            await engine.dispose()
        return {"per_second": round(ok / elapsed, 1), "archived": ok, "opening_per_second": round(opening, 1)}


CEILING = "ceiling"
ONE_ROW = "one-row commits"


def _baselines(
    label: str, bot_url: str, tmp: Path, sqlite_db: Callable[[], Awaitable[str]]
) -> dict[str, Callable[[], Awaitable[float]]]:
    """The ceiling and the one-row commits, each measured by a call (PostgreSQL: tables of their own beside the
    bot's, in its database; SQLite: files of their own beside the bot's)."""
    files = iter(range(1000))

    async def ceiling_rows() -> float:
        if label == "SQLite":
            return await sqlite_rows_per_second(tmp / f"ceiling-{next(files)}.db", group=CONCURRENCY, seconds=WINDOW)
        return await postgres_rows_per_second(bot_url, group=CONCURRENCY, seconds=WINDOW)

    async def one_row() -> float:
        return await _raw_commits(await sqlite_db() if label == "SQLite" else bot_url)

    return {CEILING: ceiling_rows, ONE_ROW: one_row}


async def _raw_commits(database_url: str, *, synchronous: str | None = None) -> float:
    """One-row commits per second through the bot's engine; ``synchronous`` overrides its SQLite setting."""
    from sqlalchemy import event, text

    from bot.store.engine import create_engine

    engine = create_engine(database_url)
    if synchronous is not None:

        @event.listens_for(engine.sync_engine, "connect")
        def _synchronous(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()  # runs after the bot's own pragmas, so this one wins
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS bench_raw"))
            await conn.execute(text("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        insert = text("INSERT INTO bench_raw (id, body) VALUES (:id, :body)")

        async def send(seq: int) -> bool:
            async with engine.begin() as conn:
                await conn.execute(insert, {"id": seq, "body": f"order {seq} did not arrive, 환불 부탁드려요"})
            return True

        _, _, seq = await _closed_loop(send, WARMUP, 0)
        started = time.monotonic()
        ok, _, _ = await _closed_loop(send, WINDOW, seq)
        elapsed = time.monotonic() - started
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE bench_raw"))
    finally:
        await engine.dispose()
    return round(ok / elapsed, 1)


async def run(*, profile: bool = False) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    notes: list[str] = []
    raw: dict[str, Any] = {}
    pg_reason = await postgres_available()
    databases: list[tuple[str, Callable[[], Awaitable[str]]]] = []
    with workdir("inbound-db") as tmp:
        counter = iter(range(1000))

        async def sqlite_db() -> str:
            return sqlite_url(tmp, f"inbound-{next(counter)}.db")

        databases.append(("SQLite", sqlite_db))
        if pg_reason is None:
            databases.append(("PostgreSQL", fresh_postgres))
        else:
            notes.append(f"PostgreSQL skipped: {pg_reason}")
        for label, fresh in databases:
            bot_url = await fresh()
            baselines = _baselines(label, bot_url, tmp, sqlite_db)
            log(f"inbound {label}: webhook route of python -m bot, alternated with {', '.join(baselines)}")
            hook = await _webhook(bot_url, f"inbound-{label.lower()}" if profile else None, baselines)
            log(f"inbound {label}: the inbox (Intake.receive) in-process")
            receive = await _in_process(await fresh())
            raw[label] = {"webhook": hook, "receive": receive}
            median = hook["median"]
            ceiling, one_row = median[CEILING], median[ONE_ROW]
            if label == "SQLite":  # what durability costs: the same baseline with the setting the bot had before
                log("inbound SQLite: one-row commits again with synchronous=NORMAL")
                normal = await _raw_commits(await sqlite_db(), synchronous="NORMAL")
                raw[label]["raw_commits_synchronous_normal"] = normal
                cost = 1 - one_row / normal if normal else 0.0
                checks.append(
                    check(
                        "SQLite: one-row commits/s with synchronous=FULL (the bot's setting: durable at every commit)",
                        one_row,
                        "commits/s",
                        baseline=normal,
                        baseline_label="the same with synchronous=NORMAL",
                        target="no acknowledged message lost to a power cut",
                        met=None,
                        note=f"FULL costs {cost:.0%} of the one-row commits; group commit shares each flush",
                    )
                )
            log(f"inbound {label}: webhook {median['webhook']}/s, receive {receive['per_second']}/s, {median}")
            ceiling_label = f"{'raw sqlite3' if label == 'SQLite' else 'raw asyncpg'} commits of {CONCURRENCY} rows"
            checks.append(
                check(
                    f"{label}: archived/s through the Telegram webhook route (bot process, routing on)",
                    median["webhook"],
                    "msg/s",
                    baseline=ceiling,
                    baseline_label=f"rows/s, {ceiling_label} (the ceiling)",
                    target=f"≥ {TARGET:,.0f} msg/s",
                    met=median["webhook"] >= TARGET and hook["failed"] == 0,
                    note=f"one-row commits through the bot's engine: {one_row:,.0f}/s; median of {ROUNDS} rounds"
                    + ("" if hook["failed"] == 0 else f"; {hook['failed']} requests failed"),
                )
            )
            checks.append(
                check(
                    f"{label}: archived/s through the inbox (Intake.receive) (in-process, no HTTP, no worker)",
                    receive["per_second"],
                    "msg/s",
                    baseline=ceiling,
                    baseline_label=f"rows/s, {ceiling_label} (the ceiling)",
                    target=f"≥ {TARGET:,.0f} msg/s",
                    met=receive["per_second"] >= TARGET,
                )
            )
            rows.append(
                [
                    label,
                    median["webhook"],
                    " / ".join(f"{r['webhook']:,.0f}" for r in hook["rounds"]),
                    hook["opening_per_second"],
                    hook["backlog_after"],
                    receive["per_second"],
                    ceiling,
                    one_row,
                    f"{median['webhook'] / ceiling:.0%}" if ceiling else "—",
                ]
            )
    return {
        "title": TITLE,
        "how": (
            f"Through the Telegram webhook route of `python -m bot` (webhook mode, default pacing, routing on, "
            f"delivery worker running): {CONCURRENCY} concurrent senders in a closed loop; first the {CHATS} "
            f"customers' opening messages, then {WARMUP:g} s warm-up, then {ROUNDS} rounds, each a {WINDOW:g} s window"
            f" of messages to existing conversations followed by each baseline's own window, so bot and baselines "
            f"alternate on the same machine (the bot's worker keeps delivering its backlog meanwhile). Archived = rows"
            f" added to `messages` during a window, divided by it; the median of the rounds is reported. Baselines: "
            f"the ceiling, the bare driver committing {CONCURRENCY} rows a transaction (what one group commit of "
            f"{CONCURRENCY} waiting senders writes; SQLite: `sqlite3` with WAL and synchronous=FULL in a file beside "
            f"the bot's; PostgreSQL: one asyncpg connection), and one-row commits through the bot's own engine (same "
            f"pragmas, same pool, same concurrency). The same load in-process through the inbox (`Intake.receive`: no "
            f"HTTP, no worker) after the rounds; on SQLite the one-row commits once more with synchronous=NORMAL, the "
            f"cost of a commit that survives a power cut."
        ),
        "checks": checks,
        "tables": [
            table(
                "Messages archived per second (same run; webhook and baselines alternated, medians of the rounds)",
                [
                    "database",
                    "webhook route",
                    "webhook, each round",
                    "webhook, first messages (open a conversation)",
                    "outbox backlog after the last window",
                    "the inbox (Intake.receive)",
                    f"ceiling: raw commits of {CONCURRENCY} rows",
                    "one-row commits (the bot's engine)",
                    "webhook ÷ ceiling",
                ],
                rows,
            )
        ],
        "notes": notes,
        "raw": raw,
    }
