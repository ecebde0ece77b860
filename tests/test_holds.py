"""Statuses "waiting on the customer" and "on hold until <time>": set from the thread's first message, shown there
and in /inquiries; the first-response clock pauses while the inquiry waits, and it wakes when the customer writes
or the time comes (a timer that fires once). Time is a clock the tests move."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.slack.blocks import CLAIM, CLOSE
from bot.slack.header_controls import STATUS_SELECT
from bot.usecases.timers import TimerLoop
from tests.clock import Clock
from tests.conftest import SIGNING_SECRET, STAFF, Bot, BotFactory, all_text
from tests.fakes.slack_requests import post_signed, select_action_body

CHAT = 4242
OTHER = 5151

YAML: dict[str, Any] = {
    "language": "en",
    "slack": {"inbox_channel": "C0INBOX"},
    "texts": {"auto_reply": False},
    "replies": {"author": "none"},
    "default_category": "general",
    "categories": {"general": {"label": "General", "owners": ["U0OWNER"], "first_response_minutes": 10}},
}




async def set_status(bot: Bot, conversation_id: int, value: str, label: str) -> None:
    body = select_action_body(STATUS_SELECT, f"controls:{conversation_id}", option=(label, value), user=STAFF)
    response = await post_signed(
        bot.http, bot.events_url, body, SIGNING_SECRET, content_type="application/x-www-form-urlencoded"
    )
    assert response.status == 200, await response.text()
    await response.read()
    await bot.idle()


def header(bot: Bot, thread: tuple[str, str]) -> str:
    return all_text(bot.slack.message(*thread) or {})


async def due_and_hold(bot: Bot, conversation_id: int) -> tuple[datetime | None, str | None]:
    async with bot.rt.db.reading() as tx:
        state = await tx.timers.state(conversation_id)
    assert state is not None
    return state.first_response_due, state.hold


async def inquiries(bot: Bot) -> list[str]:
    answer = await bot.command("/inquiries", "")
    return [line for block in answer["blocks"][1:] for line in block["text"]["text"].split("\n")]


async def test_waiting_on_the_customer_pauses_the_clock_until_they_write(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=YAML, clock=clock) as bot:
        start = clock.now
        bot.telegram.push_text(CHAT, "my parcel is late")
        thread = await bot.thread_for(CHAT)
        ann = {"id": OTHER, "is_bot": False, "first_name": "Ann", "language_code": "en"}
        bot.telegram.push_text(OTHER, "another question", user=ann)
        await bot.staff_reply(await bot.thread_for(OTHER), "On it!")  # answered: its clock stops
        conversation_id = await bot.conversation_id_for(CHAT)
        await bot.click(CLAIM, conversation_id)
        assert await due_and_hold(bot, conversation_id) == (start + timedelta(minutes=10), None)

        clock.advance(minutes=5)
        await set_status(bot, conversation_id, "waiting", "Waiting on the customer")
        assert "*Status:* Open · waiting on the customer" in header(bot, thread)
        assert await due_and_hold(bot, conversation_id) == (None, "waiting")
        lines = await inquiries(bot)
        assert "Ann" in lines[0] and "waiting on the customer" in lines[-1]  # waiting: listed after the others
        clock.advance(minutes=30)
        assert await bot.rt.timers.run_due() == 0  # no escalation while it waits

        bot.telegram.push_text(CHAT, "here is my order number: 1234")
        await bot.thread_text(thread, "The customer wrote: this inquiry is no longer waiting on them.")
        assert f"<@{STAFF}>" in "".join(all_text(m) for m in bot.slack.thread(*thread) if "no longer" in all_text(m))
        await bot.idle()
        assert await due_and_hold(bot, conversation_id) == (start + timedelta(minutes=40), None)  # 30 min paused
        assert "waiting on the customer" not in header(bot, thread)
        clock.now = start + timedelta(minutes=39)
        assert await bot.rt.timers.run_due() == 0
        clock.now = start + timedelta(minutes=40)
        assert await bot.rt.timers.run_due() == 1  # the escalation, as due after the pause
        await bot.thread_text(thread, "No reply yet")


async def test_on_hold_until_a_time_wakes_then_once(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=YAML, clock=clock) as bot:
        start = clock.now
        bot.telegram.push_text(CHAT, "please call me back after lunch")
        thread = await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        await set_status(bot, conversation_id, "hold:60", "On hold for 1 hour")
        shown = header(bot, thread)
        assert "on hold until <!date^" in shown and await due_and_hold(bot, conversation_id) == (None, "on_hold")
        assert "on hold until" in (await inquiries(bot))[0]

        clock.advance(minutes=59)
        assert await bot.rt.timers.run_due() == 0
        clock.advance(minutes=1)
        other = TimerLoop(bot.rt.db, bot.rt.triage, owner="another-process", clock=clock)
        assert await bot.rt.timers.run_due() + await other.run_due() == 1  # fired once, whoever saw it first
        await bot.thread_text(thread, "The hold is over: this inquiry is active again.")
        await bot.idle()
        assert await due_and_hold(bot, conversation_id) == (start + timedelta(minutes=70), None)
        assert "on hold" not in header(bot, thread)


async def test_close_ends_a_hold_and_its_wake_up(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=YAML, clock=clock) as bot:
        bot.telegram.push_text(CHAT, "hi")
        thread = await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        await set_status(bot, conversation_id, "hold:240", "On hold for 4 hours")
        await bot.click(CLOSE, conversation_id)
        await bot.idle()
        assert (await due_and_hold(bot, conversation_id))[1] is None
        clock.advance(hours=5)
        assert await bot.rt.timers.run_due() == 0
        await set_status(bot, conversation_id, "waiting", "Waiting on the customer")  # closed: nothing changes
        assert (await due_and_hold(bot, conversation_id))[1] is None and "*Status:* Closed" in header(bot, thread)
