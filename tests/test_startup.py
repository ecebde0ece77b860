"""Starting while Slack or Telegram is down: the bot comes up, keeps what customers send, and catches up."""

from __future__ import annotations

from tests.conftest import BotFactory, wait_until

CHAT = 808


async def test_a_bot_started_during_a_telegram_outage_reports_unhealthy_then_connects(
    bot_factory: BotFactory,
) -> None:
    async with bot_factory() as bot:
        await bot.telegram.refuse_connections()
    async with bot_factory(wait_connected=False) as bot:
        async with bot.http.get(f"{bot.rt.url}/healthz") as response:
            assert response.status == 503
            assert (await response.json())["telegram"] == "starting: connecting to Telegram"
        await bot.telegram.accept_connections()

        async def healthy() -> bool:
            async with bot.http.get(f"{bot.rt.url}/healthz") as response:
                return response.status == 200

        await wait_until(healthy, timeout=20, what="a healthy bot once Telegram answers")
        bot.telegram.push_text(CHAT, "are you there?")
        await bot.thread_text(await bot.thread_for(CHAT), "are you there?")


async def test_a_bot_started_during_a_slack_outage_keeps_customer_messages_until_slack_is_back(
    bot_factory: BotFactory,
) -> None:
    async with bot_factory() as first:  # a first run remembers the workspace URL for thread links
        pass
    first.slack.set_down(True)
    async with bot_factory() as bot:
        update_id = bot.telegram.push_text(CHAT, "hello while Slack is down")
        await wait_until(
            lambda: (bot.telegram.confirmed_offset or 0) > update_id, what="the update stored and confirmed"
        )
        async with bot.http.get(f"{bot.rt.url}/healthz") as response:
            assert response.status == 200
        bot.slack.set_down(False)
        thread = await bot.thread_for(CHAT, timeout=20)
        await bot.thread_text(thread, "hello while Slack is down", timeout=20)
