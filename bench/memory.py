"""3. Memory: resident set size of ``python -m bot`` idle, and with 10,000 open conversations under traffic.

RSS is VmRSS from /proc/PID/status (VmHWM for the peak). The 10,000 open conversations are bulk-loaded into the
bot's SQLite database (see bench/seed.py: building them through the webhook would take over a minute); the bot is
then started on that database and driven through its real routes: customer messages to existing conversations,
staff replies, and /inquiries. Baselines in the same run: a bare interpreter, and an interpreter that imported
the same libraries the bot imports.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.common import (
    INBOX,
    PYTHON,
    ROOT,
    SIGNING_SECRET,
    STAFF,
    WEBHOOK_HEADERS,
    BotProcess,
    Fakes,
    bot_env,
    check,
    free_port,
    log,
    rss_kib,
    sqlite_url,
    staff_reply_request,
    table,
    telegram_update,
    workdir,
    write_bot_yaml,
)
from bench.seed import Shape, chat_id, seed, thread_ts
from tests.fakes.slack_requests import command_body, sign

NAME = "memory"
TITLE = "Memory"
TARGET_MB = 150.0
CONVERSATIONS = 10_000
CUSTOMER_MESSAGES = 1_000
STAFF_REPLIES = 200
CONCURRENCY = 16

_IMPORTS = (
    "import aiohttp, yaml, dotenv, sqlalchemy, sqlalchemy.ext.asyncio, aiosqlite, asyncpg, alembic.command, "
    "slack_sdk.web.async_client, slack_bolt.async_app, slack_bolt.adapter.aiohttp, telegram, telegram.request"
)


def mb(kib: int | float) -> float:
    return round(kib / 1024, 1)


async def _bare(code: str) -> int:
    """RSS (KiB) of a python process running ``code`` and then idling."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON, "-c", f"{code}\nimport sys, time\nprint('ready', flush=True)\ntime.sleep(30)",
        cwd=str(ROOT), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        await asyncio.wait_for(proc.stdout.readline(), 30)
        await asyncio.sleep(0.5)
        return rss_kib(proc.pid)["VmRSS"]
    finally:
        proc.kill()
        await proc.wait()


async def _idle(fakes: Fakes, tmp: Any) -> dict[str, int]:
    env = bot_env(
        fakes,
        database_url=sqlite_url(tmp, "idle.db"),
        port=free_port(),
        bot_config=write_bot_yaml(tmp / "bot.yaml"),
        webhook=True,
    )
    proc = BotProcess(env, log_path=tmp / "idle.log")
    try:
        await proc.start()
        await asyncio.sleep(3)
        return rss_kib(proc.pid)
    finally:
        await proc.stop()


async def _loaded(fakes: Fakes, tmp: Any) -> dict[str, Any]:
    database_url = sqlite_url(tmp, "loaded.db")
    started = time.monotonic()
    await seed(database_url, Shape(customers=CONVERSATIONS, conversations_per_customer=1, messages=2 * CONVERSATIONS))
    seeded_in = time.monotonic() - started
    env = bot_env(
        fakes,
        database_url=database_url,
        port=free_port(),
        bot_config=write_bot_yaml(tmp / "bot.yaml"),
        webhook=True,
    )
    proc = BotProcess(env, log_path=tmp / "loaded.log")
    samples: list[int] = []
    try:
        await proc.start()
        await asyncio.sleep(2)
        after_start = rss_kib(proc.pid)["VmRSS"]

        async def sample() -> None:
            while True:
                samples.append(rss_kib(proc.pid).get("VmRSS", 0))
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample())
        semaphore = asyncio.Semaphore(CONCURRENCY)
        failures = 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def customer(seq: int) -> None:
                nonlocal failures
                customer_no = seq * (CONVERSATIONS // CUSTOMER_MESSAGES) % CONVERSATIONS + 1
                update = telegram_update(10_000 + seq, chat_id(customer_no), 100 + seq, f"follow-up {seq}: 환불은요?")
                async with (
                    semaphore,
                    http.post(f"{proc.url}/telegram/webhook", json=update, headers=WEBHOOK_HEADERS) as r,
                ):
                    await r.read()
                    failures += r.status != 200

            async def staff(seq: int) -> None:
                nonlocal failures
                conversation = seq * (CONVERSATIONS // STAFF_REPLIES) % CONVERSATIONS + 1
                body, headers = staff_reply_request(INBOX, thread_ts(conversation), f"답변 드립니다 {seq}")
                async with semaphore, http.post(f"{proc.url}/slack/events", data=body, headers=headers) as r:
                    await r.read()
                    failures += r.status != 200

            async def inquiries() -> None:
                nonlocal failures
                body = command_body("/inquiries", "", user_id=STAFF)
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SIGNING_SECRET)}
                async with http.post(f"{proc.url}/slack/events", data=body, headers=headers) as r:
                    await r.read()
                    failures += r.status != 200

            traffic_started = time.monotonic()
            await asyncio.gather(
                *(customer(i) for i in range(CUSTOMER_MESSAGES)),
                *(staff(i) for i in range(STAFF_REPLIES)),
                *(inquiries() for _ in range(5)),
            )
            traffic_seconds = time.monotonic() - traffic_started
        await asyncio.sleep(2)
        sampler.cancel()
        after_traffic = rss_kib(proc.pid)
        return {
            "seeded_in_s": round(seeded_in, 1),
            "after_start_kib": after_start,
            "during_traffic_max_kib": max(samples) if samples else 0,
            "after_traffic_kib": after_traffic["VmRSS"],
            "peak_kib": after_traffic["VmHWM"],
            "traffic_seconds": round(traffic_seconds, 1),
            "failures": failures,
        }
    except Exception:
        log(f"bot log tail:\n{proc.log_tail()}")
        raise
    finally:
        await proc.stop()


async def run(*, profile: bool = False) -> dict[str, Any]:
    bare = await _bare("pass")
    libs = await _bare(_IMPORTS)
    with workdir("memory") as tmp:
        async with Fakes() as fakes:
            idle = await _idle(fakes, tmp)
            log(f"memory: idle {mb(idle['VmRSS'])} MB")
            loaded = await _loaded(fakes, tmp)
    log(f"memory: with {CONVERSATIONS} conversations, peak {mb(loaded['peak_kib'])} MB")
    peak = loaded["peak_kib"]
    checks = [
        check(
            "RSS idle (empty database, after start)",
            mb(idle["VmRSS"]),
            "MB",
            baseline=mb(libs),
            baseline_label="python + the same libraries imported",
            target=f"< {TARGET_MB:g} MB",
            met=mb(idle["VmRSS"]) < TARGET_MB,
        ),
        check(
            f"RSS peak with {CONVERSATIONS:,} open conversations, under traffic (VmHWM)",
            mb(peak),
            "MB",
            baseline=mb(libs),
            baseline_label="python + the same libraries imported",
            target=f"< {TARGET_MB:g} MB",
            met=mb(peak) < TARGET_MB and loaded["failures"] == 0,
            note="" if loaded["failures"] == 0 else f"{loaded['failures']} requests failed",
        ),
    ]
    return {
        "title": TITLE,
        "how": (
            "`python -m bot` (SQLite, webhook mode, default pacing) started on an empty database and left idle 3 s; "
            f"then started on a database bulk-loaded with {CONVERSATIONS:,} customers each with one open conversation "
            f"(a Slack thread) and two messages, and driven through its real routes with {CUSTOMER_MESSAGES:,} "
            f"customer messages to those conversations, {STAFF_REPLIES} staff replies (signed Slack events) and "
            f"5 `/inquiries` commands, {CONCURRENCY} requests at a time. RSS sampled every 0.25 s from /proc; the "
            "figure is the process's peak (VmHWM). Deliveries are paced at the defaults, so most of the traffic "
            "waits in the outbox, as it would behind Slack's 1 post/s per channel."
        ),
        "checks": checks,
        "tables": [
            table(
                "Resident memory in MB (same run)",
                ["process", "RSS"],
                [
                    ["bare `python -c pass`", mb(bare)],
                    ["python + the bot's libraries imported", mb(libs)],
                    ["bot idle, empty database", mb(idle["VmRSS"])],
                    [f"bot just started on {CONVERSATIONS:,} open conversations", mb(loaded["after_start_kib"])],
                    ["bot, highest sample during traffic", mb(loaded["during_traffic_max_kib"])],
                    ["bot, 2 s after traffic", mb(loaded["after_traffic_kib"])],
                    ["bot, peak (VmHWM)", mb(peak)],
                ],
            )
        ],
        "notes": [
            f"Bulk load took {loaded['seeded_in_s']} s; the traffic took {loaded['traffic_seconds']} s.",
        ],
    }
