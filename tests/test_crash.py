"""The bot as a real process: killed with SIGKILL mid-backlog, and two processes sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import (
    BOT_YAML,
    INBOX,
    SIGNING_SECRET,
    STAFF,
    all_text,
    free_port,
    reset_schema,
    scratch_postgres_error,
    wait_until,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_requests import event_body, message_event, post_signed
from tests.fakes.telegram import FakeTelegram
from tests.process import BotProcess, bot_env

MARK = re.compile(r"\bc(\d+)-(\d+)\b")
YAML_NO_CATEGORIES = {**BOT_YAML, "categories": {}}


def customer(chat: int) -> dict[str, object]:
    return {"id": chat, "is_bot": False, "first_name": f"Customer{chat}"}


def threads_by_chat(slack: FakeSlack, channel: str) -> dict[int, list[dict[str, object]]]:
    """Each conversation's thread headers, found by the customer's name on them."""
    found: dict[int, list[dict[str, object]]] = defaultdict(list)
    for message in slack.channel_messages(channel):
        if message.get("thread_ts"):
            continue
        name = re.search(r"Customer(\d+)", all_text(message))
        if name:
            found[int(name.group(1))].append(message)
    return found


def seen_in_slack(slack: FakeSlack, channel: str) -> dict[int, list[int]]:
    """For every chat, the numbers of its messages in the order they appear in its thread."""
    seen: dict[int, list[int]] = defaultdict(list)
    for chat, headers in threads_by_chat(slack, channel).items():
        for header in headers:
            for reply in slack.thread(channel, str(header["ts"])):
                for c, n in MARK.findall(all_text(reply)):
                    assert int(c) == chat, f"message of chat {c} landed in the thread of chat {chat}"
                    seen[chat].append(int(n))
    return seen


async def queue_drained(database_url: str) -> bool:
    """True once no delivery is pending or under way in either process: anything doubled has been sent by then."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
            return (await conn.execute(query)).scalar_one() == 0
    finally:
        await engine.dispose()


async def test_500_messages_survive_an_outage_a_rate_limit_and_sigkill(
    tmp_path: Path, database_url: str, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    chats = list(range(1000, 1020))
    per_chat = 25
    slack.per_key_limit("chat.postMessage", "channel", per_second=5, burst=5, retry_after=1)
    env = bot_env(tmp_path, slack, telegram, database_url, YAML_NO_CATEGORIES, SLACK_POSTS_PER_SECOND="4")
    bot = BotProcess(env, free_port(), tmp_path / "bot.log")
    await bot.start()
    try:
        last_update = 0
        for n in range(per_chat):
            if n == 12:  # half-way: Slack goes down, the backlog grows, and the process dies
                await wait_until(
                    lambda: sum(map(len, seen_in_slack(slack, INBOX).values())) >= 60,
                    timeout=60,
                    what="deliveries flowing before the outage",
                )
                slack.set_down(True)
            for chat in chats:
                last_update = telegram.push_text(chat, f"c{chat}-{n}", user=customer(chat))
            await asyncio.sleep(0.05)
        await wait_until(
            lambda: (telegram.confirmed_offset or 0) > last_update, timeout=30, what="every update stored and confirmed"
        )
        await bot.kill()
        await bot.start()
        await asyncio.sleep(1.0)
        slack.set_down(False)
        expected = list(range(per_chat))
        await wait_until(
            lambda: (
                all(seen_in_slack(slack, INBOX).get(c) == expected for c in chats)
                or any(len(v) > per_chat for v in seen_in_slack(slack, INBOX).values())
            ),
            timeout=120,
            what="all 500 messages in Slack",
        )
    finally:
        await bot.stop()
    seen = seen_in_slack(slack, INBOX)
    assert {chat: seen[chat] for chat in chats} == {chat: expected for chat in chats}  # all, once, in order
    assert all(len(headers) == 1 for headers in threads_by_chat(slack, INBOX).values())
    assert sorted(threads_by_chat(slack, INBOX)) == chats
    assert slack.rate_limited_count < 20, slack.rate_limited_count


async def test_two_processes_share_the_work_on_postgresql_with_nothing_lost_or_doubled(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, scratch_postgres: str | None
) -> None:
    if scratch_postgres is None:  # SQLite runs a single process; this needs a real PostgreSQL
        pytest.skip(f"no PostgreSQL reachable for the multi-process test: {scratch_postgres_error}")
    database_url = scratch_postgres
    await reset_schema(database_url)
    secret = "multi-process-secret"
    bots = []
    for name in ("alpha", "beta"):
        port = free_port()
        env = bot_env(
            tmp_path,
            slack,
            telegram,
            database_url,
            YAML_NO_CATEGORIES,
            WORKER_ID=name,
            TELEGRAM_WEBHOOK_URL="https://bot.example.test/telegram/webhook",  # behind a load balancer
            TELEGRAM_WEBHOOK_SECRET=secret,
            SLACK_POSTS_PER_SECOND="20",
            TELEGRAM_MESSAGES_PER_SECOND="20",
        )
        bots.append(BotProcess(env, port, tmp_path / f"{name}.log"))
    for bot in bots:
        await bot.start()
    chats = list(range(2000, 2010))
    per_chat = 12
    try:
        async with aiohttp.ClientSession() as http:
            for n in range(per_chat):  # a load balancer alternating between the two processes
                for i, chat in enumerate(chats):
                    update_id = telegram.push_text(chat, f"c{chat}-{n}", user=customer(chat))
                    bot = bots[(n + i) % 2]
                    async with http.post(
                        f"{bot.url}/telegram/webhook",
                        json=telegram.update(update_id),
                        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                    ) as response:
                        assert response.status == 200
            expected = list(range(per_chat))
            await wait_until(
                lambda: all(seen_in_slack(slack, INBOX).get(c) == expected for c in chats),
                timeout=90,
                what="every customer message in its thread",
            )
            threads = {chat: str(headers[0]["ts"]) for chat, headers in threads_by_chat(slack, INBOX).items()}
            for n in range(per_chat):
                for i, chat in enumerate(chats):
                    event = message_event(INBOX, STAFF, f"c{chat}-{n}", thread_ts=threads[chat])
                    response = await post_signed(
                        http,
                        f"{bots[(n + i + 1) % 2].url}/slack/events",
                        event_body(event),
                        SIGNING_SECRET,
                        content_type="application/json",
                    )
                    assert response.status == 200
            await wait_until(
                lambda: all(len(telegram.sent(c)) >= per_chat for c in chats),
                timeout=90,
                what="every staff reply delivered",
            )
        await wait_until(lambda: queue_drained(database_url), timeout=30, what="both queues drained")
    finally:
        for bot in bots:
            await bot.stop()
    seen = seen_in_slack(slack, INBOX)
    assert {c: seen[c] for c in chats} == {c: expected for c in chats}
    assert all(len(h) == 1 for h in threads_by_chat(slack, INBOX).values())
    for chat in chats:
        assert telegram.sent_texts(chat) == [f"c{chat}-{n}" for n in expected]
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        owners = dict((await conn.execute(text("SELECT lease_owner, count(*) FROM outbox GROUP BY 1"))).all())
    await engine.dispose()
    assert owners.get("alpha", 0) > 0 and owners.get("beta", 0) > 0, owners
