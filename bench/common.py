"""What every benchmark shares: the fakes, the bot as a child process, databases, statistics, the machine.

Everything listens on and talks to 127.0.0.1 only. Every loop here is bounded by a count or a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.fakes.slack import FakeSlack
from tests.fakes.slack_requests import event_body, message_event, sign
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DOCS = ROOT / "docs"
PROFILES = DOCS / "profiles"

SLACK_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
TELEGRAM_TOKEN = "123456:BENCH"
WEBHOOK_SECRET = "bench-webhook-secret"
INBOX = "C0INBOX"
TOPIC_CHANNELS = 100  # the most topic channels a benchmark routes to (bench.relay); staff are members of each
STAFF = "U0STAFF"

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("BENCH_POSTGRES_DB", "bench")  # never the tests' "test" database

LIBRARIES = (
    "aiohttp",
    "slack_bolt",
    "slack_sdk",
    "python-telegram-bot",
    "httpx",
    "SQLAlchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "PyYAML",
)


# ------------------------------------------------------------------------------------------------------------------
# Results


def check(
    figure: str,
    value: float | None,
    unit: str,
    *,
    target: str,
    met: bool | None,
    baseline: float | None = None,
    baseline_label: str = "",
    note: str = "",
) -> dict[str, Any]:
    """One figure of a benchmark, with its same-run baseline and its target; met=None means no target applies."""
    return {
        "figure": figure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_label": baseline_label,
        "target": target,
        "met": met,
        "note": note,
    }


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    return {"title": title, "columns": list(columns), "rows": [list(r) for r in rows]}


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------------------------------------------
# The machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_info() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal:")), 0
    )
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "bot"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        if dirty:
            commit += " (bot/ has uncommitted changes)"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "libraries": versions,
        "commit": commit,
    }


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB, from /proc."""
    out = {}
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage-collector pass in this process while a latency is timed: the load generator and the fake APIs
    (which stamp each call's arrival) live here, and one full pass held this process 30-130 ms, which showed up as
    the bot's latency. What start-up built is set aside first (``gc.freeze``), the rest collected afterwards."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------------------------------------
# Fakes, configuration, the bot process


@dataclass
class Fakes:
    slack: FakeSlack = field(default_factory=lambda: FakeSlack(bot_token=SLACK_TOKEN))
    telegram: FakeTelegram = field(default_factory=lambda: FakeTelegram(token=TELEGRAM_TOKEN))

    async def __aenter__(self) -> Fakes:
        self.slack.add_user(STAFF, name="jiwoo", real_name="Jiwoo Park", profile={"display_name": "Jiwoo"})
        for channel in (INBOX, *(topic_channel(n) for n in range(TOPIC_CHANNELS))):
            self.slack.set_members(channel, [STAFF])  # a staff channel's members may use the slash commands
        await self.slack.start()
        await self.telegram.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.telegram.stop()
        await self.slack.stop()


def topic_channel(n: int) -> str:
    return f"C0CH{n:02d}"


def write_bot_yaml(path: Path, *, topic_channels: int = 0) -> Path:
    """A bot config: everything to the inbox, or ``topic_channels`` categories each routed to its own channel
    (a first message containing ``topicNN`` opens its thread in channel C0CHNN)."""
    categories = {
        f"topic{n:02d}": {
            "label": f"Topic {n}",
            "owners": [STAFF],
            "channel": topic_channel(n),
            "keywords": [f"topic{n:02d}"],
        }
        for n in range(topic_channels)
    }
    doc: dict[str, Any] = {"language": "en", "slack": {"inbox_channel": INBOX}, "texts": {"auto_reply": False}}
    if categories:
        doc["categories"] = categories
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


def bot_env(
    fakes: Fakes,
    *,
    database_url: str,
    port: int,
    bot_config: Path,
    webhook: bool = False,
    **extra: str,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "DATABASE_URL"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fakes.slack.base_url,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_URL": fakes.telegram.base_url,
            "TELEGRAM_FILE_URL": fakes.telegram.file_base_url,
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "BOT_CONFIG": str(bot_config),
            "WORKER_ID": f"bench-{port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if webhook:
        env["TELEGRAM_WEBHOOK_URL"] = "https://bot.bench.test/telegram/webhook"  # the load goes straight to the port
        env["TELEGRAM_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    env.update(extra)
    return env


class BotProcess:
    """A child process (``python -m bot`` unless told otherwise) with its log in a file; stopped with SIGTERM."""

    def __init__(self, env: dict[str, str], *, module: str = "bot", log_path: Path, args: Sequence[str] = ()) -> None:
        self.env = env
        self.module = module
        self.args = list(args)
        self.log_path = log_path
        self.port = int(env["PORT"])
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, within: float = 30.0) -> float:
        """Launch and wait for a healthy /healthz; returns the seconds from launch to the first 200."""
        log_file = self.log_path.open("ab")
        try:
            self.started_at = time.monotonic()
            self.proc = await asyncio.create_subprocess_exec(
                PYTHON, "-m", self.module, *self.args, cwd=str(ROOT), env=self.env, stdout=log_file, stderr=log_file
            )
        finally:
            log_file.close()
        return await self.wait_healthy(within=within)

    async def wait_healthy(self, *, within: float) -> float:
        deadline = self.started_at + within
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.returncode is not None:
                    raise RuntimeError(f"{self.module} exited with {self.proc.returncode}; see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return time.monotonic() - self.started_at
                await asyncio.sleep(0.005)
        raise RuntimeError(f"{self.module} not healthy within {within}s; see {self.log_path}")

    async def stop(self, *, within: float = 15.0) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.asynccontextmanager
async def bot_process(
    env: dict[str, str], *, module: str = "bot", log_path: Path, args: Sequence[str] = ()
) -> AsyncIterator[BotProcess]:
    proc = BotProcess(env, module=module, log_path=log_path, args=args)
    try:
        await proc.start()
        yield proc
    finally:
        await proc.stop()


@contextlib.contextmanager
def workdir(name: str) -> Any:
    with tempfile.TemporaryDirectory(prefix=f"threadbridge-bench-{name}-") as path:
        yield Path(path)


# ------------------------------------------------------------------------------------------------------------------
# Requests as Telegram and Slack send them


def telegram_update(update_id: int, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": f"Cust{chat_id}", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": user,
            "chat": {"id": chat_id, "first_name": f"Cust{chat_id}", "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


WEBHOOK_HEADERS = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}


def staff_reply_request(channel: str, thread_ts: str, text: str) -> tuple[bytes, dict[str, str]]:
    """A signed Slack event for a staff reply in a thread, ready to POST to /slack/events."""
    body = event_body(message_event(channel, STAFF, text, thread_ts=thread_ts))
    headers = {"Content-Type": "application/json", **sign(body, SIGNING_SECRET)}
    return body, headers


class Counter:
    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.errors: list[str] = []

    def failure(self, what: str) -> None:
        self.failed += 1
        if len(self.errors) < 5:
            self.errors.append(what)


# ------------------------------------------------------------------------------------------------------------------
# Databases


def sqlite_url(directory: Path, name: str = "threadbridge.db") -> str:
    return f"sqlite+aiosqlite:///{directory / name}"


async def postgres_available() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1, else the reason it cannot be used."""
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 5)
    except Exception as exc:
        return f"PostgreSQL does not answer at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def fresh_postgres() -> str:
    """The bench database (created when missing) with an empty public schema; returns its SQLAlchemy URL."""
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", PG_BENCH_DB)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
    finally:
        await admin.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        await conn.execute("CREATE SCHEMA public")
    finally:
        await conn.close()
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def postgres_version() -> str:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 5)
    except Exception:
        return "unreachable"
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def scalar(database_url: str, sql: str) -> Any:
    """One value from the bot's database, read from outside the bot (the benchmark's own connection)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def rows(database_url: str, sql: str) -> list[Any]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------------------------------------------------
# Waiting


async def wait_for(predicate: Callable[[], Any], *, within: float, interval: float = 0.05, what: str = "") -> float:
    """Poll until predicate() (sync or async) is true; returns the seconds waited; raises on timeout."""
    start = time.monotonic()
    while True:
        result = predicate()
        if hasattr(result, "__await__"):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise TimeoutError(f"timed out after {within}s waiting for {what or 'a condition'}")
        await asyncio.sleep(interval)


def params_text(params: dict[str, Any]) -> str:
    """Everything a Slack or Telegram API call carried, as one string to search markers in."""
    return json.dumps(params, ensure_ascii=False, default=str)


# ------------------------------------------------------------------------------------------------------------------
# The bot's use cases in this process (for benchmarks of the storage layer without HTTP)


class InProcess:
    """The bot's intake as ``bot.runtime`` builds it, in this process: ``receive`` stores one customer message
    through the inbox (group commit included). (``/history`` is measured through the running bot: bench.search.)"""

    def __init__(self, intake: Any) -> None:
        self.intake = intake

    async def receive(self, message: Any) -> Any:
        return await self.intake.receive(message)


async def conversations_service(database_url: str, bot_yaml: Path) -> tuple[InProcess, Any]:
    """(the intake, engine) built the way bot.runtime builds them, on a migrated database, with the
    routing hooks on; no worker runs."""
    from datetime import UTC, datetime

    from bot.config import parse_bot_config
    from bot.domain.i18n import TextBook
    from bot.store.database import Database
    from bot.store.engine import create_engine, migrate
    from bot.usecases.intake import Intake
    from bot.usecases.picks import PICK_PREFIX
    from bot.usecases.receiving import Receiving
    from bot.usecases.triage import Triage

    config = parse_bot_config(yaml.safe_load(bot_yaml.read_text()))  # noqa: ASYNC240
    engine = create_engine(database_url)
    await migrate(engine)
    db = Database(engine)
    texts = TextBook(config.language, config.texts)  # as bot.runtime builds it

    def clock() -> datetime:
        return datetime.now(UTC)

    triage = Triage(db, config, texts, clock=clock, button_data={"telegram": 64})
    receiving = Receiving(config, texts, clock=clock, hooks=triage)
    intake = Intake(db, receiving, {PICK_PREFIX: triage.pick_in}, alert_channel=config.inbox_channel, clock=clock)
    return InProcess(intake), engine
