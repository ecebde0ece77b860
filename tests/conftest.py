"""Fixtures: fake Slack and Telegram servers, a real database, and the real bot wired to them.

SQLite by default; set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run the same suite on
PostgreSQL. The session then works in a scratch database of its own, created beside that one and dropped at the end
(so two runs never clobber each other), and every test starts from an empty schema.

The suite is hermetic (tests/hermetic.py): TEST_DATABASE_URL is the only variable of the caller's it reads, and no
process a test starts outlives it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Config, load_settings, normalize_database_url, parse_bot_config
from bot.connectors import registry
from bot.delivery.pacing import Pacer
from bot.delivery.worker import WorkerSettings
from bot.runtime import Runtime, running
from bot.store.database import Database
from bot.store.engine import create_engine, migrate
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_requests import action_body, command_body, event_body, message_event, post_signed
from tests.fakes.telegram import FakeTelegram
from tests.hermetic import hermetic_session, no_process_left_behind  # noqa: F401  (autouse fixtures of every test)

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
TELEGRAM_TOKEN = "123456:TEST"
INBOX = "C0INBOX"
BILLING = "C0BIZ"
STAFF = "U0STAFF"
STAFF2 = "U0OTHER"
STAFF_MEMBERS = (STAFF, STAFF2, "U0NEW", "U0BIZ", "U1")  # members of the staff channels in the fake
OUTSIDER = "U0GUEST"  # in the workspace, in no staff channel

BOT_YAML: dict[str, Any] = {
    "language": "en",
    "slack": {"inbox_channel": INBOX},
    "texts": {"auto_reply": False},
    # Most tests check a reply's words exactly; tests/test_authorship.py checks how the customer reads who answered.
    "replies": {"author": "none"},
    "categories": {
        "billing": {
            "label": "결제/환불",
            "owners": ["U0BIZ", "S0BILLING"],
            "channel": BILLING,
            "keywords": ["결제", "환불", "refund", "invoice"],
        },
        "bugs": {"label": "Bug report", "owners": ["U0DEV"], "keywords": ["error", "crash", "버그"]},
    },
}

FAST_WORKER = WorkerSettings(poll_interval=0.05, backoff_base=0.05, backoff_cap=0.5, lease_seconds=30)


def fast_pacer() -> Pacer:
    """No buckets: tests about pacing build their own."""
    return Pacer.unlimited()


LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

def _admin(url: str, statement: str) -> None:
    """Run one statement outside any transaction, on a thread of its own (a test's event loop may be running)."""

    async def run() -> None:
        engine = create_async_engine(normalize_database_url(url), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def scratch_postgres() -> Iterator[str | None]:
    """A PostgreSQL database of this session's own, beside TEST_DATABASE_URL (or the local one); None if none
    answers, with the reason kept in ``scratch_postgres_error``."""
    admin_url = os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGRES
    name = f"threadbridge_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        _admin(admin_url, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any failure to reach it means there is none to use
        scratch_postgres_error.append(f"{type(exc).__name__}: {exc}")
        yield None
        return
    yield make_url(normalize_database_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


scratch_postgres_error: list[str] = []


async def reset_schema(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture
async def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if not os.environ.get("TEST_DATABASE_URL"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'threadbridge.db'}"
        return
    url = request.getfixturevalue("scratch_postgres")
    if url is None:
        raise RuntimeError(f"TEST_DATABASE_URL is set but does not answer: {scratch_postgres_error}")
    await reset_schema(url)
    yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of the test's own, no bot around it (the store's tests)."""
    engine = create_engine(database_url)
    await migrate(engine)
    database = Database(engine)
    yield database
    await database.dispose()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    fake.add_user(STAFF, name="jiwoo", real_name="Jiwoo Park", profile={"display_name": "Jiwoo"})
    fake.add_user(STAFF2, name="sam", real_name="Sam Lee", profile={"display_name": "Sam"})
    for channel in (INBOX, BILLING):  # the staff channels: their members may use commands and buttons
        fake.set_members(channel, [*STAFF_MEMBERS])
    async with fake:
        yield fake


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
        yield fake


def fake_env(slack: FakeSlack, telegram: FakeTelegram, database_url: str) -> dict[str, str]:
    """The environment that points the bot at the fakes and the test database."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_URL": telegram.base_url,
        "TELEGRAM_FILE_URL": telegram.file_base_url,
        "DATABASE_URL": database_url,
    }


def make_config(
    database_url: str,
    slack: FakeSlack,
    telegram: FakeTelegram,
    *,
    bot_yaml: dict[str, Any] | None = None,
    **env: str,
) -> Config:
    environment = {**fake_env(slack, telegram, database_url), "WORKER_ID": "test-worker", **env}
    config = Config(settings=load_settings(environment), bot=parse_bot_config(bot_yaml or BOT_YAML))
    return replace(config, channels=registry.configure(config.bot.channels, environment))


@dataclass
class Bot:
    """The running bot plus the ways a test talks to it as Slack and Telegram would."""

    rt: Runtime
    slack: FakeSlack
    telegram: FakeTelegram
    http: aiohttp.ClientSession
    _event_seq: list[int] = field(default_factory=lambda: [0])

    @property
    def events_url(self) -> str:
        return f"{self.rt.url}/slack/events"

    async def slack_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> aiohttp.ClientResponse:
        body = event_body(event, event_id=event_id)
        response = await post_signed(
            self.http,
            self.events_url,
            body,
            SIGNING_SECRET,
            content_type="application/json",
            retry_num=retry_num,
            retry_reason="http_timeout" if retry_num else None,
        )
        await response.read()
        return response

    async def staff_reply(
        self,
        thread: tuple[str, str],
        text: str,
        *,
        user: str = STAFF,
        files: list[dict[str, Any]] | None = None,
        ts: str | None = None,
    ) -> aiohttp.ClientResponse:
        channel, thread_ts = thread
        event = message_event(
            channel, user, text, thread_ts=thread_ts, ts=ts, files=files, subtype="file_share" if files else None
        )
        response = await self.slack_event(event)
        assert response.status == 200, await response.text()
        return response

    async def click(self, action_id: str, conversation_id: int, *, user: str = STAFF) -> aiohttp.ClientResponse:
        body = action_body(action_id, str(conversation_id), user=user)
        response = await post_signed(
            self.http, self.events_url, body, SIGNING_SECRET, content_type="application/x-www-form-urlencoded"
        )
        await response.read()
        return response

    async def command(self, command: str, text: str, *, user: str = STAFF) -> dict[str, Any]:
        body = command_body(command, text, user_id=user)
        response = await post_signed(
            self.http, self.events_url, body, SIGNING_SECRET, content_type="application/x-www-form-urlencoded"
        )
        assert response.status == 200, await response.text()
        return json.loads(await response.text())

    async def thread_for(self, chat_id: int, *, timeout: float = 10) -> tuple[str, str]:
        """Wait until the Telegram customer's open conversation has its Slack thread; returns (channel, thread_ts)."""
        return await self.thread_for_address("telegram", str(chat_id), timeout=timeout)

    async def thread_for_address(self, channel: str, address: str, *, timeout: float = 10) -> tuple[str, str]:
        """Wait until the customer's open conversation has its Slack thread; returns (channel, thread_ts)."""
        found: list[tuple[str, str]] = []
        chat_id = address

        async def check() -> bool:
            for conversation in await self.rt.service.open_inquiries():
                if (conversation.channel, conversation.address) == (channel, address) and conversation.thread_ts:
                    found.append((conversation.slack_channel, conversation.thread_ts))
                    return True
            return False

        await wait_until(check, timeout=timeout, what=f"a thread for chat {chat_id}")
        return found[-1]

    async def thread_text(self, thread: tuple[str, str], *needles: str, timeout: float = 10) -> str:
        """Wait until every needle shows in the thread's replies; returns all their visible text."""

        def text() -> str:
            return "\n".join(all_text(m) for m in self.slack.thread(*thread))

        await wait_until(lambda: all(n in text() for n in needles), timeout=timeout, what=f"{needles} in the thread")
        return text()

    def slack_count(self, thread: tuple[str, str], needle: str) -> int:
        """How many times ``needle`` shows in the thread's replies."""
        return sum(all_text(m).count(needle) for m in self.slack.thread(*thread))

    async def conversation_id_for(self, chat_id: int) -> int:
        for conversation in await self.rt.service.open_inquiries():
            if conversation.address == str(chat_id):
                return conversation.id
        raise AssertionError(f"no open conversation for chat {chat_id}")

    async def idle(self, timeout: float = 10) -> None:
        """Wait until the delivery queue has nothing pending or in flight."""

        async def check() -> bool:
            async with self.rt.db.transaction() as tx:
                counts = await tx.outbox.counts()
            return counts.get("pending", 0) == 0 and counts.get("sending", 0) == 0

        await wait_until(check, timeout=timeout, what="an idle delivery queue")


def all_text(message: dict[str, Any]) -> str:
    """What a person sees of a posted message: the texts inside its blocks, or its text when it has none."""
    if not message.get("blocks"):
        return str(message.get("text") or "")
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(parts)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(check: Callable[[], Any], *, timeout: float = 10, what: str = "condition") -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if hasattr(result, "__await__"):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


BotFactory = Callable[..., AbstractAsyncContextManager[Bot]]


@pytest.fixture
async def bot_factory(database_url: str, slack: FakeSlack, telegram: FakeTelegram) -> AsyncIterator[BotFactory]:
    """Start (and restart) the bot against the fakes; keyword arguments override config, env and worker tuning."""
    async with aiohttp.ClientSession() as http:

        @asynccontextmanager
        async def start(
            *,
            bot_yaml: dict[str, Any] | None = None,
            worker: WorkerSettings = FAST_WORKER,
            pacer: Pacer | None = None,
            api_timeout: float = 5.0,
            port: int = 0,
            wait_connected: bool = True,
            clock: Callable[[], datetime] | None = None,
            channels: dict[str, Any] | None = None,
            production_pacing: bool = False,
            **env: str,
        ) -> AsyncIterator[Bot]:
            """``channels``: more customer channels' settings (tests.fakes.memory_channel), beside the YAML's."""
            config = make_config(database_url, slack, telegram, bot_yaml=bot_yaml, **env)
            if channels:
                config = replace(config, channels={**config.channels, **channels})
            async with running(
                config,
                host="127.0.0.1",
                port=port,
                worker_settings=worker,
                pacer=None if production_pacing else (pacer or fast_pacer()),
                poll_timeout=1,
                api_timeout=api_timeout,
                # A test that moves the clock also runs the timers itself (rt.timers.run_due()), never sleeps.
                clock=clock or (lambda: datetime.now(UTC)),
                timer_poll_interval=3600.0 if clock is not None else 5.0,
            ) as rt:
                if wait_connected:  # Telegram connects in the background; most tests want it connected
                    await wait_until(
                        lambda: all(c.health().state == "ok" for c in rt.connectors.values()),
                        timeout=10,
                        what="every channel connected",
                    )
                yield Bot(rt=rt, slack=slack, telegram=telegram, http=http)

        yield start


@pytest.fixture
async def bot(bot_factory: BotFactory) -> AsyncIterator[Bot]:
    async with bot_factory() as running_bot:
        yield running_bot
