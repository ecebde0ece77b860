"""GET /metrics: the numbers move as traffic flows, scraped through HTTP and parsed as Prometheus parses them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.slack.blocks import CLAIM
from tests.conftest import INBOX, Bot, BotFactory, free_port, wait_until
from tests.metrics_helpers import names, scrape, value
from tests.test_inquiries import CHAT, SEOUL, Clock, routing_yaml

OTHER = 7070


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 10, 0, tzinfo=SEOUL).astimezone(UTC))  # a Tuesday morning


def no_cache(bot: Bot) -> None:
    bot.rt.metrics.cache_seconds = 0  # the queue gauges are read at every scrape, not every 5 s


async def test_a_message_in_and_a_reply_out_move_the_counters_and_the_latency(bot: Bot) -> None:
    before = await scrape(bot.http, bot.rt.url)
    assert all(name.startswith("threadbridge_") for name in names(before) if not name.startswith("python_"))
    bot.telegram.push_text(CHAT, "hello")
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    after = await scrape(bot.http, bot.rt.url)
    received = "threadbridge_messages_received_total"
    assert value(after, received, channel="telegram") == value(before, received, channel="telegram") + 1
    assert value(after, "threadbridge_messages_delivered_total", channel="slack") == 1  # the customer's message
    attempts = value(after, "threadbridge_delivery_attempts_total", kind="open_thread", channel="slack")
    assert attempts == 1

    await bot.staff_reply(thread, "hi there")
    await wait_until(lambda: bot.telegram.sent_texts(CHAT) == ["hi there"], what="the reply delivered")
    await bot.idle()
    replied = await scrape(bot.http, bot.rt.url)
    assert value(replied, "threadbridge_messages_delivered_total", channel="telegram") == 1
    assert value(replied, received, channel="telegram") == 1  # a redelivery or a staff reply is not a new message
    count = value(replied, "threadbridge_ack_latency_seconds_count", route="slack_event")
    total = value(replied, "threadbridge_ack_latency_seconds_sum", route="slack_event")
    assert count == 1 and 0 < total < 3
    assert value(replied, "threadbridge_ack_latency_seconds_bucket", route="slack_event", le="3.0") == 1


async def test_commands_and_buttons_are_timed_apart_from_events(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hello")
    await bot.thread_for(CHAT)
    await bot.command("/inquiries", "")
    conversation_id = await bot.conversation_id_for(CHAT)
    response = await bot.click(CLAIM, conversation_id)
    assert response.status == 200
    samples = await scrape(bot.http, bot.rt.url)
    assert value(samples, "threadbridge_ack_latency_seconds_count", route="slack_command") == 1
    assert value(samples, "threadbridge_ack_latency_seconds_count", route="slack_interaction") == 1
    assert value(samples, "threadbridge_ack_latency_seconds_count", route="slack_event") == 0


async def test_a_channel_webhook_is_timed_under_its_route(bot_factory: BotFactory) -> None:
    secret = "webhook-secret"
    hook = "https://bot.example.test/telegram/webhook"
    async with bot_factory(TELEGRAM_WEBHOOK_URL=hook, TELEGRAM_WEBHOOK_SECRET=secret) as bot:
        update = bot.telegram.push_text(CHAT, "via the webhook")
        async with bot.http.post(
            f"{bot.rt.url}/telegram/webhook",
            json=bot.telegram.update(update),
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        ) as response:
            assert response.status == 200
        samples = await scrape(bot.http, bot.rt.url)
        assert value(samples, "threadbridge_ack_latency_seconds_count", route="/telegram/webhook") == 1
        assert value(samples, "threadbridge_messages_received_total", channel="telegram") == 1


async def test_a_429_counts_and_its_wait_is_added_up(bot: Bot) -> None:
    bot.slack.rate_limit("chat.postMessage", retry_after=2)
    bot.telegram.push_text(CHAT, "hello")
    thread = await bot.thread_for(CHAT, timeout=15)
    await bot.thread_text(thread, "hello", timeout=15)
    samples = await scrape(bot.http, bot.rt.url)
    assert value(samples, "threadbridge_rate_limited_total", channel="slack") == 1
    assert value(samples, "threadbridge_rate_limit_wait_seconds_total", channel="slack") == 2.0
    assert value(samples, "threadbridge_delivery_failures_total", kind="open_thread", channel="slack",
                 failure="temporary") == 0  # fmt: skip


async def test_failures_are_counted_by_kind_temporary_and_permanent(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hello")
    bot.telegram.push_text(OTHER, "hello too")
    first, second = await bot.thread_for(CHAT), await bot.thread_for(OTHER)
    await bot.idle()
    bot.telegram.fail("sendMessage", status=502, where={"chat_id": CHAT})
    bot.telegram.blocked(OTHER)
    await bot.staff_reply(first, "after a hiccup")
    await bot.staff_reply(second, "to someone who left")
    await wait_until(lambda: bot.telegram.sent_texts(CHAT) == ["after a hiccup"], what="the retried reply")
    await bot.thread_text(second, "did not reach the customer")
    samples = await scrape(bot.http, bot.rt.url)
    failures = "threadbridge_delivery_failures_total"
    assert value(samples, failures, kind="send_to_customer", channel="telegram", failure="temporary") == 1
    assert value(samples, failures, kind="send_to_customer", channel="telegram", failure="permanent") == 1
    assert value(samples, "threadbridge_delivery_attempts_total", kind="send_to_customer", channel="telegram") == 3


async def test_the_queue_depth_and_the_oldest_job_s_age_per_target(bot: Bot) -> None:
    no_cache(bot)
    empty = await scrape(bot.http, bot.rt.url)
    assert value(empty, "threadbridge_outbox_oldest_pending_age_max_seconds") == 0
    bot.slack.set_down(True)
    bot.telegram.push_text(CHAT, "while Slack is away")
    bot.telegram.push_text(OTHER, "me too")

    async def queued() -> bool:
        samples = await scrape(bot.http, bot.rt.url)
        return value(samples, "threadbridge_outbox_pending_jobs", target=f"slack:{INBOX}") >= 2

    await wait_until(queued, what="two jobs queued for the inbox")
    await asyncio.sleep(1.1)
    samples = await scrape(bot.http, bot.rt.url)
    age = value(samples, "threadbridge_outbox_oldest_pending_age_seconds", target=f"slack:{INBOX}")
    assert 1.0 <= age < 30 and value(samples, "threadbridge_outbox_oldest_pending_age_max_seconds") == age
    async with bot.http.get(f"{bot.rt.url}/healthz") as response:
        assert (await response.json())["oldest_pending_seconds"] >= 1.0
    bot.slack.set_down(False)
    await bot.idle(timeout=20)
    drained = await scrape(bot.http, bot.rt.url)
    assert value(drained, "threadbridge_outbox_pending_jobs", target=f"slack:{INBOX}") == 0
    assert not any(name == "threadbridge_outbox_pending_jobs" for name, _ in drained)  # the series is gone


async def test_open_conversations_by_status_overdue_and_sla_breaches(bot_factory: BotFactory, clock: Clock) -> None:
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        no_cache(bot)
        bot.telegram.push_text(CHAT, "refund please")
        bot.telegram.push_text(OTHER, "refund me too")
        await bot.thread_for(CHAT)
        await bot.thread_for(OTHER)
        await bot.idle()
        samples = await scrape(bot.http, bot.rt.url)
        assert value(samples, "threadbridge_open_conversations", status="unclaimed") == 2
        assert value(samples, "threadbridge_open_conversations_overdue") == 0
        await bot.click(CLAIM, await bot.conversation_id_for(OTHER))
        clock.advance(minutes=11)
        assert await bot.rt.timers.run_due() == 2
        samples = await scrape(bot.http, bot.rt.url)
        assert value(samples, "threadbridge_open_conversations", status="unclaimed") == 1
        assert value(samples, "threadbridge_open_conversations", status="claimed") == 1
        assert value(samples, "threadbridge_open_conversations_overdue") == 2
        assert value(samples, "threadbridge_sla_breaches_total", level="first") == 2
        clock.advance(minutes=20)
        assert await bot.rt.timers.run_due() == 2
        samples = await scrape(bot.http, bot.rt.url)
        assert value(samples, "threadbridge_sla_breaches_total", level="second") == 2


async def test_a_token_keeps_metrics_private(bot_factory: BotFactory) -> None:
    token = "a-long-metrics-token-0123456789"
    async with bot_factory(METRICS_TOKEN=token) as bot:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": token}):
            async with bot.http.get(f"{bot.rt.url}/metrics", headers=headers) as response:
                assert response.status == 401
                assert "threadbridge_" not in await response.text()
        samples = await scrape(bot.http, bot.rt.url, Authorization=f"Bearer {token}")
        assert "threadbridge_draining" in names(samples)


async def test_a_separate_bind_address_serves_metrics_and_the_bot_s_port_does_not(bot_factory: BotFactory) -> None:
    port = free_port()
    async with bot_factory(METRICS_BIND=f"127.0.0.1:{port}") as bot:
        async with bot.http.get(f"{bot.rt.url}/metrics") as response:
            assert response.status == 404
        bot.telegram.push_text(CHAT, "hello")
        await bot.thread_for(CHAT)
        samples = await scrape(bot.http, f"http://127.0.0.1:{port}")
        assert value(samples, "threadbridge_messages_received_total", channel="telegram") == 1
    async with aiohttp.ClientSession() as http:  # stopped with the bot: nothing answers on that port any more
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"http://127.0.0.1:{port}/metrics")


async def test_each_bot_counts_for_itself(bot_factory: BotFactory) -> None:
    async with bot_factory() as first:
        first.telegram.push_text(CHAT, "one")
        await first.thread_for(CHAT)
        async with bot_factory(WORKER_ID="second") as second:  # a second bot in the same process
            samples = await scrape(second.http, second.rt.url)
            assert value(samples, "threadbridge_messages_received_total", channel="telegram") == 0
        samples = await scrape(first.http, first.rt.url)
        assert value(samples, "threadbridge_messages_received_total", channel="telegram") == 1
