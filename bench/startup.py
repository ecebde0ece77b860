"""4. Start-up: ``python -m bot`` launched to the first 200 from /healthz, on SQLite.

/healthz answers 200 only once the database answers, Telegram is initialised (getMe, deleteWebhook, polling
started) and the delivery worker runs, i.e. when the bot can do its job. The first launch is on a new database
file (migrations create the schema); the others restart on that file. Baseline in the same run: a bare process
that imports the same libraries and serves /healthz from aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import (
    PROFILES,
    PYTHON,
    ROOT,
    BotProcess,
    Fakes,
    bot_env,
    check,
    free_port,
    log,
    ms,
    sqlite_url,
    table,
    workdir,
    write_bot_yaml,
)
from bench.profiling import py_spy, summarise

NAME = "startup"
TITLE = "Start-up"
TARGET_S = 1.5
WARM_RUNS = 4

BARE_SERVER = """
import asyncio, os
import aiohttp, yaml, dotenv, sqlalchemy, sqlalchemy.ext.asyncio, aiosqlite, asyncpg, alembic.command
import slack_sdk.web.async_client, slack_bolt.async_app, slack_bolt.adapter.aiohttp, telegram, telegram.request
from aiohttp import web

async def main():
    app = web.Application()
    async def healthz(_):
        return web.json_response({"status": "ok"})
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["PORT"])).start()
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def run(*, profile: bool = False) -> dict[str, Any]:
    cold: float | None = None
    warm: list[float] = []
    bare: list[float] = []
    with workdir("startup") as tmp:
        (tmp / "bare_server.py").write_text(BARE_SERVER)
        async with Fakes() as fakes:
            database_url = sqlite_url(tmp)
            config = write_bot_yaml(tmp / "bot.yaml")
            for attempt in range(1 + WARM_RUNS):
                env = bot_env(fakes, database_url=database_url, port=free_port(), bot_config=config)
                proc = BotProcess(env, log_path=tmp / "bot.log")
                try:
                    seconds = await proc.start()
                finally:
                    await proc.stop()
                if attempt == 0:
                    cold = seconds
                else:
                    warm.append(seconds)
            for _ in range(1 + WARM_RUNS):
                env = bot_env(fakes, database_url=database_url, port=free_port(), bot_config=config)
                proc = BotProcess(env, module="bare_server", log_path=tmp / "bare.log")
                proc.env["PYTHONPATH"] = str(tmp)
                try:
                    bare.append(await proc.start())
                finally:
                    await proc.stop()
            if profile:
                env = bot_env(fakes, database_url=sqlite_url(tmp, "profiled.db"), port=free_port(), bot_config=config)
                await _profile_start(env, tmp)
    assert cold is not None
    warm_median = statistics.median(warm)
    bare_median = statistics.median(bare)
    log(f"startup: cold {cold:.3f} s, warm median {warm_median:.3f} s, bare median {bare_median:.3f} s")
    checks = [
        check(
            "launch to healthy /healthz, new database (migrations run)",
            round(cold, 3),
            "s",
            baseline=round(bare_median, 3),
            baseline_label="bare aiohttp /healthz with the same imports",
            target=f"< {TARGET_S:g} s",
            met=cold < TARGET_S,
        ),
        check(
            f"launch to healthy /healthz, existing database (median of {WARM_RUNS})",
            round(warm_median, 3),
            "s",
            baseline=round(bare_median, 3),
            baseline_label="bare aiohttp /healthz with the same imports",
            target=f"< {TARGET_S:g} s",
            met=max(warm) < TARGET_S,
            note=f"slowest of {WARM_RUNS}: {max(warm):.3f} s",
        ),
    ]
    return {
        "title": TITLE,
        "how": (
            "`python -m bot` on SQLite in Telegram polling mode (the default) against the fakes, launched by the "
            "benchmark, which polls `/healthz` every 5 ms and stops the clock at the first 200; then SIGTERM. Once on "
            f"a new database file, then {WARM_RUNS} times on the existing one. Baseline: a bare Python process "
            "importing the same libraries and serving `/healthz` from aiohttp, launched and polled the same way."
        ),
        "checks": checks,
        "tables": [
            table(
                "Launch to first healthy answer, ms",
                ["run", "bot", "bare (same imports)"],
                [["new database", ms(cold), ms(bare[0])]]
                + [[f"restart {i + 1}", ms(w), ms(b)] for i, (w, b) in enumerate(zip(warm, bare[1:], strict=True))],
            )
        ],
    }


async def _profile_start(env: dict[str, str], tmp: Any) -> None:
    """py-spy over a launch on a new database (the slower case): spawned under py-spy, profiled until healthy."""
    exe = py_spy()
    if exe is None:
        log("py-spy is not installed: no start-up profile")
        return
    PROFILES.mkdir(parents=True, exist_ok=True)
    raw = PROFILES / "startup.folded"
    spy = await asyncio.create_subprocess_exec(
        exe, "record", "--rate", "500", "--format", "raw", "-o", str(raw), "--", PYTHON, "-m", "bot",
        cwd=str(ROOT), env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    watcher = BotProcess(env, log_path=tmp / "profiled.log")
    watcher.started_at = time.monotonic()
    children: list[int] = []
    try:
        seconds = await watcher.wait_healthy(within=30)
        for task in Path(f"/proc/{spy.pid}/task").glob("*/children"):  # noqa: ASYNC240
            children += [int(pid) for pid in task.read_text().split()]
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(spy.wait(), 30)
        finally:
            for pid in children:  # the bot py-spy launched
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
    if raw.exists():
        text = summarise(
            raw.read_text(),
            "startup",
            f"`python -m bot` launched under py-spy on a new SQLite database until /healthz answered 200 "
            f"({seconds:.2f} s under the profiler), then stopped.",
            seconds,
        )
        (PROFILES / "startup.md").write_text(text)
        log("profile written to docs/profiles/startup.md")
