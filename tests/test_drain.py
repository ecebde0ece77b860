"""A graceful stop, in the process: no new work is taken (503 + Retry-After on every route), the delivery under way
finishes within DRAIN_SECONDS, and what was waiting for its turn goes back to the queue at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.delivery.pacing import Pacer
from bot.domain.models import Rate
from bot.store.schema import outbox
from tests.conftest import INBOX, SIGNING_SECRET, Bot, BotFactory, wait_until
from tests.fakes.slack_requests import event_body, message_event, post_signed

CHAT = 3131
OTHER = 3232


@asynccontextmanager
async def stoppable(bot_factory: BotFactory, **options: Any) -> AsyncIterator[tuple[Bot, Callable[[], None], Any]]:
    """A running bot, a way to ask it to stop, and the task whose end is the end of its stop."""
    stop = asyncio.Event()
    ready: asyncio.Future[Bot] = asyncio.get_running_loop().create_future()

    async def run() -> None:
        async with bot_factory(**options) as bot:
            ready.set_result(bot)
            await stop.wait()

    task = asyncio.create_task(run())
    try:
        yield await ready, stop.set, task
    finally:
        stop.set()
        await task


async def test_a_delivery_under_way_finishes_while_new_work_is_turned_away(bot_factory: BotFactory) -> None:
    async with stoppable(bot_factory, DRAIN_SECONDS="10") as (bot, stop, stopped):
        bot.telegram.push_text(CHAT, "hello")
        thread = await bot.thread_for(CHAT)
        await bot.idle()
        bot.telegram.delay("sendMessage", 3)
        await bot.staff_reply(thread, "on its way")
        await wait_until(lambda: "sendMessage" in bot.telegram.delays_started, what="the reply in flight")
        stop()
        await wait_until(lambda: bot.rt.gate.draining, what="the drain begun")
        late = message_event(INBOX, "U0STAFF", "too late", thread_ts=thread[1])
        response = await post_signed(bot.http, bot.events_url, event_body(late), SIGNING_SECRET,
                                     content_type="application/json")  # fmt: skip
        assert response.status == 503 and response.headers["Retry-After"] == "5"
        async with bot.http.get(f"{bot.rt.url}/healthz") as health:
            assert health.status == 503 and (await health.json())["delivery"] == "draining"
        async with bot.http.get(f"{bot.rt.url}/livez") as live:
            assert live.status == 200
        assert bot.telegram.sent_texts(CHAT) == []  # still in flight while the bot answers 503
        await stopped
        assert bot.telegram.sent_texts(CHAT) == ["on its way"]  # finished, and recorded as done
        assert [c.status for c in bot.telegram.calls_to("sendMessage")] == [200]


async def test_jobs_waiting_for_their_turn_go_back_to_the_queue_at_once(
    bot_factory: BotFactory, database_url: str
) -> None:
    slow = Pacer({"slack": Rate(0.02, 1), "slack-update": Rate(10, 10), "telegram": Rate(10, 10)})  # 50 s apart
    async with stoppable(bot_factory, pacer=slow, DRAIN_SECONDS="20") as (bot, stop, stopped):
        bot.telegram.push_text(CHAT, "first")
        await bot.thread_for(CHAT)
        bot.telegram.push_text(OTHER, "second, behind the first in the inbox's pace")

        async def leased() -> bool:
            async with bot.rt.db.reading() as tx:
                rows = (await tx.conn.execute(select(outbox.c.status, outbox.c.lease_owner))).all()
            return ("sending", "test-worker") in [tuple(r) for r in rows]

        await wait_until(leased, what="a job leased, waiting for its slot")
        started = time.monotonic()
        stop()
        await stopped
        assert time.monotonic() - started < 5  # the stop did not wait the 50 s for the slot
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.status, outbox.c.lease_owner, outbox.c.attempts))).all()
    finally:
        await engine.dispose()
    assert ("sending", "test-worker") not in [(r.status, r.lease_owner) for r in rows]
    assert ("pending", None, 0) in [tuple(r) for r in rows]  # handed back as it was: not a failed attempt
    async with bot_factory() as bot:  # the next start finds it in the queue, and delivers it once
        thread = await bot.thread_for(OTHER)
        await bot.thread_text(thread, "second, behind")
        await bot.idle()
        headers = [m for m in bot.slack.channel_messages(INBOX) if not m.get("thread_ts")]
        assert len(headers) == 2


async def test_a_delivery_longer_than_the_grace_is_handed_back_when_the_grace_is_over(
    bot_factory: BotFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with stoppable(bot_factory, DRAIN_SECONDS="0.5") as (bot, stop, stopped):
        bot.telegram.push_text(CHAT, "hello")
        thread = await bot.thread_for(CHAT)
        await bot.idle()
        bot.telegram.delay("sendMessage", 30)
        await bot.staff_reply(thread, "slow")
        await wait_until(lambda: "sendMessage" in bot.telegram.delays_started, what="the reply in flight")
        started = time.monotonic()
        stop()
        await stopped
        assert time.monotonic() - started < 5  # the grace, not the platform, decides how long a stop takes
    assert "stopped 1 deliveries still under way after" in caplog.text
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            kinds = dict((await conn.execute(select(outbox.c.kind, outbox.c.status))).all())
    finally:
        await engine.dispose()
    assert kinds["send_to_customer"] == "pending"  # back in the queue: the next process sends it
