"""SIGTERM with a delivery in flight, the bot as a real process: it stops taking work, lets the delivery finish,
hands back what waited for its turn, exits 0, and the next process (or one running beside it) delivers the rest;
every message reaches the customer and Slack exactly once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config.environment import normalize_database_url
from tests.conftest import SIGNING_SECRET, STAFF, free_port, reset_schema, scratch_postgres_error, wait_until
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_requests import event_body, message_event, post_signed
from tests.fakes.telegram import FakeTelegram
from tests.process import BotProcess, bot_env
from tests.test_crash import YAML_NO_CATEGORIES, customer, threads_by_chat

CHAT, OTHER = 5101, 5202
INBOX = YAML_NO_CATEGORIES["slack"]["inbox_channel"]
SECRET = "drain-webhook-secret"


async def reply(http: aiohttp.ClientSession, bot: BotProcess, thread_ts: str, words: str) -> int:
    event = message_event(INBOX, STAFF, words, thread_ts=thread_ts)
    response = await post_signed(http, f"{bot.url}/slack/events", event_body(event), SIGNING_SECRET,
                                 content_type="application/json")  # fmt: skip
    await response.read()
    return response.status


async def thread_of(slack: FakeSlack, chat: int, database: str) -> str:
    """The customer's thread once Slack shows it and the bot has recorded it: a staff reply in a thread the bot
    has not recorded yet (its post answered, its commit still to come) is not tracked, and would be lost here."""
    await wait_until(lambda: chat in threads_by_chat(slack, INBOX), timeout=20, what=f"the thread of {chat}")
    thread = str(threads_by_chat(slack, INBOX)[chat][0]["ts"])
    engine = create_async_engine(normalize_database_url(database))
    try:

        async def recorded() -> bool:
            async with engine.connect() as conn:
                query = text("SELECT count(*) FROM conversations WHERE thread_ts = :ts")
                return int((await conn.execute(query, {"ts": thread})).scalar_one()) == 1

        await wait_until(recorded, timeout=20, what=f"the thread of {chat} recorded by the bot")
    finally:
        await engine.dispose()
    return thread


async def sigterm(bot: BotProcess) -> None:
    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)


async def exited(bot: BotProcess, timeout: float = 30) -> int:
    assert bot.proc is not None
    return await asyncio.wait_for(bot.proc.wait(), timeout)


async def test_sigterm_mid_delivery_finishes_it_and_the_next_process_delivers_the_rest_once(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    database = f"sqlite:///{tmp_path}/db.sqlite"
    env = bot_env(tmp_path, slack, telegram, database, YAML_NO_CATEGORIES, DRAIN_SECONDS="15",
                  SLACK_POSTS_PER_SECOND="0.05")  # fmt: skip  # a post every 20 s: the second thread waits its turn
    first = BotProcess(env, free_port(), tmp_path / "first.log")
    await first.start()
    try:
        async with aiohttp.ClientSession() as http:
            telegram.push_text(CHAT, "hello", user=customer(CHAT))
            thread = await thread_of(slack, CHAT, database)
            telegram.delay("sendMessage", 3)
            assert await reply(http, first, thread, "on its way") == 200
            await wait_until(lambda: "sendMessage" in telegram.delays_started, timeout=20, what="the reply in flight")
            telegram.push_text(OTHER, "waiting for the inbox's next slot", user=customer(OTHER))
            await wait_until(lambda: (telegram.confirmed_offset or 0) > 0 and OTHER in telegram.chats, timeout=20,
                             what="the second customer heard")  # fmt: skip
            started = time.monotonic()
            await sigterm(first)
            await wait_until(lambda: "stopping: no new work" in first.log(), timeout=10, what="the drain begun")
            status = await reply(http, first, thread, "too late for this process")
            assert status == 503  # Slack will send it again
            async with http.get(f"{first.url}/livez") as live:
                assert live.status == 200
            after_stop = telegram.push_text(CHAT + 1, "sent while the first process drains", user=customer(CHAT + 1))
            assert await exited(first) == 0
            assert 2.5 < time.monotonic() - started < 15  # it waited for the delivery, not for the 20 s slot
            assert telegram.sent_texts(CHAT) == ["on its way"]
            assert after_stop not in telegram.delivered_update_ids  # polling had stopped
            assert OTHER not in threads_by_chat(slack, INBOX)

            second = BotProcess({**env, "SLACK_POSTS_PER_SECOND": "5"}, free_port(), tmp_path / "second.log")
            await second.start()
            try:
                await thread_of(slack, OTHER, database)
                await thread_of(slack, CHAT + 1, database)
                assert await reply(http, second, thread, "after the restart") == 200
                await wait_until(lambda: len(telegram.sent_texts(CHAT)) == 2, timeout=20, what="the later reply")
                await asyncio.sleep(1.0)  # anything doubled would show by now
            finally:
                await second.stop()
    finally:
        await first.stop()
    assert telegram.sent_texts(CHAT) == ["on its way", "after the restart"]  # each once
    assert sorted(threads_by_chat(slack, INBOX)) == [CHAT, CHAT + 1, OTHER]
    assert all(len(headers) == 1 for headers in threads_by_chat(slack, INBOX).values())
    log = first.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "stopped" in log


async def test_two_processes_on_postgresql_one_stops_mid_delivery_and_the_other_takes_over_at_once(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, scratch_postgres: str | None
) -> None:
    if scratch_postgres is None:  # SQLite runs a single process; this needs a real PostgreSQL
        pytest.skip(f"no PostgreSQL reachable for the two-process test: {scratch_postgres_error}")
    await reset_schema(scratch_postgres)
    webhook = {"TELEGRAM_WEBHOOK_URL": "https://bot.example.test/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET}
    env = bot_env(tmp_path, slack, telegram, scratch_postgres, YAML_NO_CATEGORIES, **webhook)
    stopping = BotProcess({**env, "WORKER_ID": "stopping", "DRAIN_SECONDS": "15", "SLACK_POSTS_PER_SECOND": "0.02"},
                          free_port(), tmp_path / "stopping.log")  # fmt: skip
    staying = BotProcess({**env, "WORKER_ID": "staying", "SLACK_POSTS_PER_SECOND": "5"}, free_port(),
                         tmp_path / "staying.log")  # fmt: skip
    await stopping.start()
    try:
        async with aiohttp.ClientSession() as http:

            async def customer_writes(bot: BotProcess, chat: int, words: str) -> None:
                update_id = telegram.push_text(chat, words, user=customer(chat))
                async with http.post(f"{bot.url}/telegram/webhook", json=telegram.update(update_id),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:  # fmt: skip
                    assert response.status == 200

            await customer_writes(stopping, CHAT, "hello")
            thread = await thread_of(slack, CHAT, scratch_postgres)
            telegram.delay("sendMessage", 3)
            assert await reply(http, stopping, thread, "on its way") == 200
            await wait_until(lambda: "sendMessage" in telegram.delays_started, timeout=20, what="the reply in flight")
            await customer_writes(stopping, OTHER, "waiting for the inbox's next slot")  # 50 s away for this one
            engine = create_async_engine(scratch_postgres)
            try:

                async def leased_by_stopping() -> bool:
                    async with engine.connect() as conn:
                        query = "SELECT count(*) FROM outbox WHERE status = 'sending' AND lease_owner = 'stopping'"
                        return int((await conn.execute(text(query))).scalar_one()) == 2

                await wait_until(leased_by_stopping, timeout=20, what="the reply and the second thread leased")
                await staying.start()
                started = time.monotonic()
                await sigterm(stopping)
                await thread_of(slack, OTHER, scratch_postgres)  # handed back at once, no lease expiry
                taken_over = time.monotonic() - started
                assert await exited(stopping) == 0

                async def done_by() -> list[tuple[str, str]]:
                    async with engine.connect() as conn:
                        rows = await conn.execute(text("SELECT kind, lease_owner, status FROM outbox WHERE kind IN "
                                                       "('send_to_customer', 'open_thread') ORDER BY id"))  # fmt: skip
                        return [(kind, owner) for kind, owner, status in rows.all() if status == "done"]

                async def all_done() -> bool:
                    return len(await done_by()) == 3

                await wait_until(all_done, timeout=10, what="the three jobs recorded done")
                owners = await done_by()
            finally:
                await engine.dispose()
            assert taken_over < 10, taken_over
            assert owners == [("open_thread", "stopping"), ("send_to_customer", "stopping"), ("open_thread", "staying")]
            assert telegram.sent_texts(CHAT) == ["on its way"]
            assert await reply(http, staying, thread, "from the process that stayed") == 200
            await wait_until(lambda: len(telegram.sent_texts(CHAT)) == 2, timeout=20, what="the next reply")
            await asyncio.sleep(1.0)  # anything doubled would show by now
    finally:
        await stopping.stop()
        await staying.stop()
    assert telegram.sent_texts(CHAT) == ["on its way", "from the process that stayed"]
    assert all(len(headers) == 1 for headers in threads_by_chat(slack, INBOX).values())
    assert "Traceback" not in stopping.log_path.read_text(errors="replace")
