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
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

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
WINDOW = 5.0


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


async def _webhook(database_url: str, profile: str | None) -> dict[str, Any]:
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
                before = await scalar(database_url, "SELECT count(*) FROM messages")
                profiler = Profile(proc.pid, profile, _PROFILE_TEXT) if profile else None
                if profiler:
                    await profiler.__aenter__()
                started = time.monotonic()
                ok, failed, seq = await _closed_loop(send, WINDOW, seq)
                elapsed = time.monotonic() - started
                if profiler:
                    await profiler.__aexit__(None, None, None)
                archived = await scalar(database_url, "SELECT count(*) FROM messages") - before
                backlog = await scalar(database_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")
                return {
                    "per_second": round(archived / elapsed, 1),
                    "answered_ok": ok,
                    "failed": failed,
                    "archived": archived,
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


async def _raw_commits(database_url: str, *, synchronous: str | None = None) -> dict[str, Any]:
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
    return {"per_second": round(ok / elapsed, 1), "archived": ok}


async def run(*, profile: bool = False) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    notes: list[str] = []
    raw: dict[str, Any] = {}
    pg_reason = await postgres_available()
    databases: list[tuple[str, Callable[[], Awaitable[str]]]] = []
    with workdir("inbound-db") as tmp:
        counter = iter(range(100))

        async def sqlite_db() -> str:
            return sqlite_url(tmp, f"inbound-{next(counter)}.db")

        databases.append(("SQLite", sqlite_db))
        if pg_reason is None:
            databases.append(("PostgreSQL", fresh_postgres))
        else:
            notes.append(f"PostgreSQL skipped: {pg_reason}")
        for label, fresh in databases:
            log(f"inbound {label}: webhook route of python -m bot")
            hook = await _webhook(await fresh(), f"inbound-{label.lower()}" if profile else None)
            log(f"inbound {label}: the inbox (Intake.receive) in-process")
            receive = await _in_process(await fresh())
            log(f"inbound {label}: baseline, one-row commits")
            base = await _raw_commits(await fresh())
            raw[label] = {"webhook": hook, "receive": receive, "raw_commits": base}
            if label == "SQLite":  # what durability costs: the same baseline with the setting the bot had before
                log("inbound SQLite: baseline again with synchronous=NORMAL")
                normal = await _raw_commits(await fresh(), synchronous="NORMAL")
                raw[label]["raw_commits_synchronous_normal"] = normal
                cost = 1 - base["per_second"] / normal["per_second"] if normal["per_second"] else 0.0
                checks.append(
                    check(
                        "SQLite: one-row commits/s with synchronous=FULL (the bot's setting: durable at every commit)",
                        base["per_second"],
                        "commits/s",
                        baseline=normal["per_second"],
                        baseline_label="the same with synchronous=NORMAL",
                        target="no acknowledged message lost to a power cut",
                        met=None,
                        note=f"FULL costs {cost:.0%} of the one-row commits; group commit shares each flush",
                    )
                )
            log(
                f"inbound {label}: webhook {hook['per_second']}/s, receive {receive['per_second']}/s, "
                f"raw {base['per_second']}/s"
            )
            checks.append(
                check(
                    f"{label}: archived/s through the Telegram webhook route (bot process)",
                    hook["per_second"],
                    "msg/s",
                    baseline=base["per_second"],
                    baseline_label="one-row commits/s",
                    target=f"≥ {TARGET:,.0f} msg/s",
                    met=hook["per_second"] >= TARGET and hook["failed"] == 0,
                    note="" if hook["failed"] == 0 else f"{hook['failed']} requests failed",
                )
            )
            checks.append(
                check(
                    f"{label}: archived/s through the inbox (Intake.receive) (in-process, no HTTP, no worker)",
                    receive["per_second"],
                    "msg/s",
                    baseline=base["per_second"],
                    baseline_label="one-row commits/s",
                    target=f"≥ {TARGET:,.0f} msg/s",
                    met=receive["per_second"] >= TARGET,
                )
            )
            rows.append(
                [
                    label,
                    hook["per_second"],
                    hook["opening_per_second"],
                    hook["backlog_after"],
                    receive["per_second"],
                    receive["opening_per_second"],
                    base["per_second"],
                    f"{hook['per_second'] / base['per_second']:.0%}" if base["per_second"] else "—",
                ]
            )
    return {
        "title": TITLE,
        "how": (
            f"Through the Telegram webhook route of `python -m bot` (webhook mode, default pacing, delivery worker "
            f"running): {CONCURRENCY} concurrent senders in a closed loop; first the {CHATS} customers' opening "
            f"messages, then {WARMUP:g} s warm-up, then {WINDOW:g} s measured, messages to existing conversations. "
            "Archived = rows added to `messages` during the window, divided by the window. The same load in-process "
            "through the inbox (`Intake.receive`) (no HTTP, no worker), and the baseline: the bot's own engine "
            "(same SQLite pragmas: WAL, synchronous=FULL, BEGIN IMMEDIATE; same PostgreSQL pool) committing one row "
            "per transaction into a bare table with the same concurrency; on SQLite once more with synchronous=NORMAL, "
            "the cost of a commit that survives a power cut."
        ),
        "checks": checks,
        "tables": [
            table(
                "Messages archived per second (same run)",
                [
                    "database",
                    "webhook route",
                    "webhook, first messages (open a conversation)",
                    "outbox backlog after the window",
                    "the inbox (Intake.receive)",
                    "receive, first messages",
                    "baseline: one-row commits",
                    "webhook ÷ baseline",
                ],
                rows,
            )
        ],
        "notes": notes,
        "raw": raw,
    }
