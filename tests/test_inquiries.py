"""Every inquiry reaches its owner, on time: categories, owners, moves, reassignment, escalation timers, business
hours and /inquiries, end to end through the real clients and the fakes, with a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from bot.domain.models import Conversation
from bot.slack.routing_blocks import CATEGORY_SELECT, REASSIGN_SELECT
from bot.store.database import Database
from bot.store.engine import create_engine
from bot.usecases.picks import pick_data
from bot.usecases.timers import TimerLoop
from tests.clock import Clock
from tests.conftest import INBOX, SIGNING_SECRET, STAFF, STAFF2, Bot, BotFactory, all_text, wait_until
from tests.fakes.slack_requests import post_signed, select_action_body

CHAT = 4242
OTHER_CHAT = 5151
THIRD_CHAT = 6161
BILLING = "C0BIZ"
LEADS = "C0LEADS"
SEOUL = ZoneInfo("Asia/Seoul")
TEAM_URL = "https://example.slack.com"

ROUTING_YAML: dict[str, Any] = {
    "language": "en",
    "ask_category": True,
    "slack": {"inbox_channel": INBOX},
    "texts": {"auto_reply": False},
    "replies": {"author": "none"},  # the replies' words are checked exactly
    "categories": {
        "billing": {
            "label": {"ko": "결제/환불", "en": "Billing"},
            "owners": ["U0BIZ", "S0BILLING"],
            "channel": BILLING,
            "keywords": ["refund", "환불"],
            "first_response_minutes": 10,
            "escalation": {"after_minutes": 20, "to": LEADS},
        },
        "bugs": {
            "label": {"ko": "버그 신고", "en": "Bug report"},
            "owners": ["U0DEV"],
            "patterns": [r"\berr(or)?[- ]?\d{3}\b"],
        },
        "hiring": {"label": "Hiring", "owners": ["U0CEO"], "keywords": ["job"], "priority": 5},
    },
}




def english(chat: int) -> dict[str, Any]:
    """A Telegram customer whose app speaks English (the fake's default customer's speaks Korean)."""
    return {"id": chat, "is_bot": False, "first_name": "Min", "last_name": "Kim", "username": "minkim",
            "language_code": "en"}  # fmt: skip


def routing_yaml(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(ROUTING_YAML)
    data.update(changes)
    return data


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 10, 0, tzinfo=SEOUL).astimezone(UTC))  # a Tuesday morning


async def conversation(bot: Bot, chat: int) -> Conversation:
    for found in await bot.rt.service.open_inquiries():
        if found.address == str(chat):
            return found
    raise AssertionError(f"no open conversation for chat {chat}")


async def events(bot: Bot, conversation_id: int) -> list[Any]:
    async with bot.rt.db.transaction() as tx:
        return await tx.archive.events_of(conversation_id)


async def choose(
    bot: Bot,
    action_id: str,
    conversation_id: int,
    *,
    option: tuple[str, str] | None = None,
    selected_user: str | None = None,
    user: str = STAFF,
) -> None:
    """A staff member picks in a menu on the thread's first message, as Slack posts it."""
    body = select_action_body(
        action_id, f"routing:{conversation_id}", option=option, selected_user=selected_user, user=user
    )
    response = await post_signed(
        bot.http, bot.events_url, body, SIGNING_SECRET, content_type="application/x-www-form-urlencoded"
    )
    assert response.status == 200, await response.text()
    await response.read()


def header_of(bot: Bot, channel: str, ts: str) -> dict[str, Any]:
    message = bot.slack.message(channel, ts)
    assert message is not None
    return message


def menus(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["type"]: element
        for block in message.get("blocks") or []
        if block["type"] == "actions" and block.get("block_id", "").startswith("routing:")
        for element in block["elements"]
    }


def top_level(bot: Bot, channel: str) -> list[dict[str, Any]]:
    return [m for m in bot.slack.channel_messages(channel) if not m.get("thread_ts")]


def link(channel: str, ts: str) -> str:
    return f"{TEAM_URL}/archives/{channel}/p{ts.replace('.', '')}"


async def prompt(bot: Bot, chat: int) -> tuple[int, list[list[dict[str, Any]]]]:
    await wait_until(lambda: bot.telegram.buttons(chat), what="the category buttons")
    return bot.telegram.buttons(chat)[0]


# --- choosing a category --------------------------------------------------------------------------------------


async def test_the_customer_picks_a_category_without_their_message_waiting_for_it(
    bot_factory: BotFactory, clock: Clock
) -> None:
    async with bot_factory(bot_yaml=ROUTING_YAML, clock=clock) as bot:
        bot.telegram.push_text(CHAT, "Hello, a question about my account", user=english(CHAT))
        original = await bot.thread_for(CHAT)
        assert original[0] == INBOX  # no rule matched: the inbox, uncategorised
        await bot.thread_text(original, "Hello, a question about my account")  # posted before any choice

        message_id, rows = await prompt(bot, CHAT)
        texts = bot.telegram.sent_texts(CHAT)
        assert texts and texts[0].startswith("What is your question about?")
        assert [[b["text"] for b in row] for row in rows] == [["Billing"], ["Bug report"], ["Hiring"]]
        conversation_id = (await conversation(bot, CHAT)).id
        assert [b["callback_data"] for row in rows for b in row] == [
            pick_data(conversation_id, key, 64) for key in ("billing", "bugs", "hiring")
        ]
        assert all(len(b["callback_data"].encode()) <= 64 for row in rows for b in row)

        bot.telegram.push_callback(CHAT, message_id, rows[0][0]["callback_data"])

        async def moved() -> bool:
            c = await conversation(bot, CHAT)
            return c.category == "billing" and c.slack_channel == BILLING and c.thread_ts is not None

        await wait_until(moved, what="the inquiry moved to the billing channel")
        await bot.idle()
        current = await conversation(bot, CHAT)
        assert current.thread_ts is not None

        # The new first message, in the category's channel: owners mentioned, a link to the original thread.
        new_header = header_of(bot, BILLING, current.thread_ts)
        shown = all_text(new_header) + new_header["text"]
        assert "<@U0BIZ>" in shown and "<!subteam^S0BILLING>" in shown
        assert "Billing (결제/환불)" in shown and "chosen by the customer" in shown
        assert f"<{link(*original)}|the original thread>" in shown

        # The original links the new place, in its thread and on its first message, which loses its buttons.
        new_link = link(BILLING, current.thread_ts)
        assert any(new_link in all_text(m) for m in bot.slack.thread(*original))
        old_header = header_of(bot, *original)
        assert new_link in all_text(old_header) and not menus(old_header)
        assert not any(b["type"] == "actions" for b in old_header["blocks"])

        # Telegram: the tap is answered and the keyboard shows the choice.
        assert bot.telegram.callback_answers[0]["text"] == "Thanks! We'll pass it straight to the right person."
        edited = bot.telegram.markup_edits[-1]["reply_markup"]["inline_keyboard"]
        assert [row[0]["text"] for row in edited] == ["✓ Billing", "Bug report", "Hiring"]

        # Archived with who made the change.
        category_events = [e for e in await events(bot, conversation_id) if e.kind == "category_set"]
        assert category_events[-1].actor == f"telegram:{CHAT}"
        assert category_events[-1].detail == {"category": "billing", "previous": None, "source": "customer"}

        # The conversation lives on in the new thread; a reply in the old one still reaches the customer.
        bot.telegram.push_text(CHAT, "and one more thing", user=english(CHAT))
        await bot.thread_text((BILLING, current.thread_ts), "and one more thing")
        await bot.staff_reply(original, "answered from the old thread")
        await bot.staff_reply((BILLING, current.thread_ts), "and from the new one")
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT)[-2:] == ["answered from the old thread", "and from the new one"]


async def test_a_customer_pick_never_overrides_staff_and_a_stale_keyboard_is_told_it_ended(
    bot_factory: BotFactory, clock: Clock
) -> None:
    async with bot_factory(bot_yaml=ROUTING_YAML, clock=clock) as bot:
        bot.telegram.push_text(CHAT, "hi", user=english(CHAT))
        thread = await bot.thread_for(CHAT)
        message_id, rows = await prompt(bot, CHAT)
        conversation_id = (await conversation(bot, CHAT)).id
        await choose(bot, CATEGORY_SELECT, conversation_id, option=("Bug report", "bugs"))
        await bot.idle()
        bot.telegram.push_callback(CHAT, message_id, rows[2][0]["callback_data"])  # hiring
        await wait_until(lambda: bot.telegram.callback_answers, what="the tap answered")
        assert (await conversation(bot, CHAT)).category == "bugs"

        await bot.click("conversation_close", conversation_id)
        await bot.idle()
        bot.telegram.push_callback(CHAT, message_id, rows[0][0]["callback_data"])
        await wait_until(lambda: len(bot.telegram.callback_answers) == 2, what="the second tap answered")
        assert bot.telegram.callback_answers[1]["text"] == "This conversation has ended. Just send us a new message."
        await wait_until(lambda: not bot.telegram.buttons(CHAT), what="the keyboard removed")
        closed = await bot.rt.service.conversation(conversation_id)
        assert closed is not None and closed.category == "bugs" and closed.thread_ts == thread[1]


async def test_keywords_and_patterns_route_and_owners_are_mentioned(bot_factory: BotFactory, clock: Clock) -> None:
    yaml = routing_yaml(ask_category=False, default_category="bugs")
    async with bot_factory(bot_yaml=yaml, clock=clock) as bot:
        bot.telegram.push_text(CHAT, "I would like a REFUND for order 12")
        billing = await bot.thread_for(CHAT)
        assert billing[0] == BILLING  # opened straight in the category's channel
        header = header_of(bot, *billing)
        shown = all_text(header) + header["text"]
        assert "<@U0BIZ>" in shown and "<!subteam^S0BILLING>" in shown and "matched keywords" in shown

        bot.telegram.push_text(OTHER_CHAT, "the app shows Error 503 on login")
        bugs = await bot.thread_for(OTHER_CHAT)
        assert bugs[0] == INBOX and (await conversation(bot, OTHER_CHAT)).category == "bugs"
        assert "<@U0DEV>" in all_text(header_of(bot, *bugs))

        bot.telegram.push_text(THIRD_CHAT, "a job, and also a refund?")  # hiring's priority beats billing
        await bot.thread_for(THIRD_CHAT)
        assert (await conversation(bot, THIRD_CHAT)).category == "hiring"

        bot.telegram.push_text(7171, "hello")  # nothing matches: the default category
        await bot.thread_for(7171)
        assert (await conversation(bot, 7171)).category == "bugs"
        await bot.idle()
        assert "default category" in all_text(header_of(bot, *(await bot.thread_for(7171))))
        assert bot.telegram.buttons(CHAT) == []  # ask_category off: no keyboard


# --- staff change the category, reassign -----------------------------------------------------------------------


async def test_staff_recategorise_and_the_inquiry_moves_to_the_new_owners(
    bot_factory: BotFactory, clock: Clock
) -> None:
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        bot.telegram.push_text(CHAT, "my card was charged twice")
        original = await bot.thread_for(CHAT)
        conversation_id = (await conversation(bot, CHAT)).id
        await bot.idle()
        assert menus(header_of(bot, *original))["static_select"].get("initial_option") is None

        # A change that keeps the channel: the new owners are mentioned in the thread.
        await choose(bot, CATEGORY_SELECT, conversation_id, option=("Bug report", "bugs"))
        text = await bot.thread_text(original, "set the category to")
        assert f"<@{STAFF}> set the category to *Bug report (버그 신고)*" in text and "<@U0DEV>" in text
        assert menus(header_of(bot, *original))["static_select"]["initial_option"]["value"] == "bugs"

        # A change to a category with its own channel: a new thread there, linked both ways.
        await choose(bot, CATEGORY_SELECT, conversation_id, option=("Billing", "billing"), user=STAFF2)
        await wait_until(
            lambda: top_level(bot, BILLING), what="the new first message in the billing channel", timeout=10
        )
        await bot.idle()
        current = await conversation(bot, CHAT)
        assert (current.slack_channel, current.category) == (BILLING, "billing")
        new_header = header_of(bot, BILLING, current.thread_ts or "")
        shown = all_text(new_header) + new_header["text"]
        assert "<@U0BIZ>" in shown and "<!subteam^S0BILLING>" in shown
        assert f"set by <@{STAFF2}>" in shown and link(*original) in shown
        assert link(BILLING, current.thread_ts or "") in all_text(header_of(bot, *original))

        changes = [(e.actor, e.detail) for e in await events(bot, conversation_id) if e.kind == "category_set"]
        assert changes == [
            (STAFF, {"category": "bugs", "previous": None, "source": "staff"}),
            (STAFF2, {"category": "billing", "previous": "bugs", "source": "staff"}),
        ]
        moves = [(e.actor, e.detail) for e in await events(bot, conversation_id) if e.kind == "moved"]
        assert moves == [(STAFF2, {"slack_channel": BILLING, "previous": INBOX})]

        # Choosing the same category again changes nothing.
        before = len(bot.slack.messages)
        await choose(bot, CATEGORY_SELECT, conversation_id, option=("Billing", "billing"))
        await bot.idle()
        assert len(bot.slack.messages) == before


async def test_reassign_hands_the_inquiry_to_a_person(bot_factory: BotFactory, clock: Clock) -> None:
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        bot.telegram.push_text(CHAT, "a question")
        thread = await bot.thread_for(CHAT)
        conversation_id = (await conversation(bot, CHAT)).id
        await bot.click("conversation_claim", conversation_id, user=STAFF)
        await choose(bot, REASSIGN_SELECT, conversation_id, selected_user=STAFF2, user=STAFF)
        text = await bot.thread_text(thread, "handed this inquiry")
        assert f"<@{STAFF}> handed this inquiry to <@{STAFF2}>." in text
        await bot.idle()
        assert (await conversation(bot, CHAT)).holder == STAFF2
        header = header_of(bot, *thread)
        assert f"<@{STAFF2}>" in all_text(header)
        assert menus(header)["users_select"]["initial_user"] == STAFF2
        reassigned = [(e.actor, e.detail) for e in await events(bot, conversation_id) if e.kind == "reassigned"]
        assert reassigned == [(STAFF, {"holder": STAFF2, "previous": STAFF})]


# --- timers ----------------------------------------------------------------------------------------------------


def notices(bot: Bot, thread: tuple[str, str], needle: str) -> list[str]:
    return [all_text(m) for m in bot.slack.thread(*thread) if needle in all_text(m)]


async def test_an_unanswered_inquiry_is_escalated_once_then_again_elsewhere(
    bot_factory: BotFactory, clock: Clock, database_url: str
) -> None:
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        assert bot.rt.timers is not None and bot.rt.triage is not None
        bot.telegram.push_text(CHAT, "refund please")
        thread = await bot.thread_for(CHAT)
        await bot.idle()

        clock.advance(minutes=9, seconds=59)
        assert await bot.rt.timers.run_due() == 0
        await bot.idle()
        assert notices(bot, thread, "No reply yet") == []

        # Due now. Three pollers, one of them another process's connection pool, all at once: one escalation.
        clock.advance(seconds=2)
        other_engine = create_engine(database_url)
        try:
            other = TimerLoop(Database(other_engine), bot.rt.triage, owner="other-process", clock=clock)
            counts = await asyncio.gather(bot.rt.timers.run_due(), other.run_due(), bot.rt.timers.run_due())
        finally:
            await other_engine.dispose()
        assert sum(counts) == 1
        await bot.idle()
        [escalation] = notices(bot, thread, "No reply yet")
        assert "<@U0BIZ> <!subteam^S0BILLING>" in escalation and "waited 10 min (target: 10 min)" in escalation
        assert await bot.rt.timers.run_due() == 0  # fired is fired

        # The second escalation, 20 minutes later, goes to the leads' channel with a link to the thread.
        clock.advance(minutes=19)
        assert await bot.rt.timers.run_due() == 0
        clock.advance(minutes=2)
        assert await bot.rt.timers.run_due() == 1
        await bot.idle()
        [lead_post] = top_level(bot, LEADS)
        assert "Still unanswered" in all_text(lead_post) and "Min Kim" in all_text(lead_post)
        assert f"<{link(*thread)}|Open the thread>" in all_text(lead_post)
        assert notices(bot, thread, f"Escalated to <#{LEADS}>")
        conversation_id = (await conversation(bot, CHAT)).id
        levels = [e.detail["level"] for e in await events(bot, conversation_id) if e.kind == "escalated"]
        assert levels == ["first", "second"]
        clock.advance(days=3)
        assert await bot.rt.timers.run_due() == 0


async def test_the_second_escalation_may_go_to_a_person(bot_factory: BotFactory, clock: Clock) -> None:
    yaml = routing_yaml(ask_category=False)
    yaml["categories"]["billing"]["escalation"]["to"] = "U0BOSS"
    async with bot_factory(bot_yaml=yaml, clock=clock) as bot:
        assert bot.rt.timers is not None
        bot.telegram.push_text(CHAT, "refund please")
        thread = await bot.thread_for(CHAT)
        clock.advance(minutes=30)
        await bot.rt.timers.run_due()
        await bot.idle()
        [direct] = bot.slack.channel_messages("U0BOSS")  # chat.postMessage to a user id: a direct message
        assert f"<{link(*thread)}|Open the thread>" in all_text(direct)
        assert notices(bot, thread, "Escalated to <@U0BOSS>")


async def test_an_answer_in_time_stops_the_timers_and_is_archived(bot_factory: BotFactory, clock: Clock) -> None:
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        assert bot.rt.timers is not None
        bot.telegram.push_text(CHAT, "refund please")
        thread = await bot.thread_for(CHAT)
        clock.advance(minutes=4)
        await bot.staff_reply(thread, "Sure, let me check.")
        clock.advance(hours=2)
        assert await bot.rt.timers.run_due() == 0
        await bot.idle()
        assert notices(bot, thread, "No reply yet") == []
        conversation_id = (await conversation(bot, CHAT)).id
        await bot.click("conversation_close", conversation_id)
        async with bot.rt.db.transaction() as tx:
            state = await tx.timers.state(conversation_id)
            timers = await tx.timers.timers_of(conversation_id)
        assert state is not None
        assert state.first_response_seconds == 240 and state.first_response_by == STAFF
        assert state.resolution_seconds == 4 * 60 + 2 * 3600 and state.resolved_at == clock.now
        assert {t.status for t in timers} == {"cancelled"}
        await bot.idle()
        assert "answered after 4 min" in all_text(header_of(bot, *thread))


async def test_a_reply_to_an_answered_inquiry_leaves_its_clocks_alone(bot_factory: BotFactory, clock: Clock) -> None:
    """Only a reply that stops the waiting clock or is the first response writes the inquiry's state."""
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        bot.telegram.push_text(CHAT, "refund please")
        thread = await bot.thread_for(CHAT)
        clock.advance(minutes=4)
        await bot.staff_reply(thread, "Sure, let me check.")
        await bot.idle()
        writes: list[str] = []

        def state_writes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.startswith("UPDATE inquiry_state"):
                writes.append(statement.split("=")[0])  # the columns set first

        engine = bot.rt.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", state_writes)
        try:
            clock.advance(minutes=3)
            await bot.staff_reply(thread, "Found it.", user=STAFF2)
            assert writes == []
            conversation_id = (await conversation(bot, CHAT)).id
            async with bot.rt.db.reading() as tx:
                state = await tx.timers.state(conversation_id)
            assert state is not None and state.waiting_since is None
            assert (state.first_response_by, state.first_response_seconds) == (STAFF, 240)

            bot.telegram.push_text(CHAT, "still there?")
            await bot.thread_text(thread, "still there?")
            async with bot.rt.db.reading() as tx:
                state = await tx.timers.state(conversation_id)
            assert state is not None and state.waiting_since == clock.now  # the customer waits again
            writes.clear()
            await bot.staff_reply(thread, "Yes, refunded.", user=STAFF2)
            assert writes == ["UPDATE inquiry_state SET waiting_since"]  # the clock stops; the first response stays
            async with bot.rt.db.reading() as tx:
                state = await tx.timers.state(conversation_id)
            assert state is not None and state.waiting_since is None and state.first_response_by == STAFF
        finally:
            event.remove(engine, "before_cursor_execute", state_writes)
        await bot.idle()


async def test_closing_stops_the_clock_and_reopening_an_unanswered_inquiry_restarts_it(
    bot_factory: BotFactory, clock: Clock
) -> None:
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        assert bot.rt.timers is not None
        bot.telegram.push_text(CHAT, "refund please")
        thread = await bot.thread_for(CHAT)
        conversation_id = (await conversation(bot, CHAT)).id
        await bot.click("conversation_close", conversation_id)
        clock.advance(minutes=15)
        assert await bot.rt.timers.run_due() == 0
        await bot.click("conversation_reopen", conversation_id)
        assert await bot.rt.timers.run_due() == 1  # nobody answered: it is overdue at once
        await bot.idle()
        assert len(notices(bot, thread, "No reply yet")) == 1
        async with bot.rt.db.transaction() as tx:
            state = await tx.timers.state(conversation_id)
        assert state is not None and state.resolved_at is None and state.resolution_seconds is None


async def test_timers_survive_a_restart(bot_factory: BotFactory, clock: Clock) -> None:
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        bot.telegram.push_text(CHAT, "refund please")
        thread = await bot.thread_for(CHAT)
        await bot.idle()
    clock.advance(minutes=45)  # due while the bot was down
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        assert bot.rt.timers is not None
        await bot.rt.timers.run_due()  # racing the loop's first pass at start: between them, each fires once
        conversation_id = (await conversation(bot, CHAT)).id

        async def both_fired() -> bool:
            # This pass may return while the loop's still holds a timer it claimed: on PostgreSQL SKIP LOCKED passes
            # it by, uncommitted, jobs and all. A timer reads as fired in the commit that queues its jobs.
            async with bot.rt.db.reading() as tx:
                timers = await tx.timers.timers_of(conversation_id)
            return [(t.kind, t.status) for t in timers] == [("first", "fired"), ("second", "fired")]

        await wait_until(both_fired, what="both timers fired, each once")
        await bot.idle()
        assert len(notices(bot, thread, "No reply yet")) == 1
        assert len(top_level(bot, LEADS)) == 1


# --- business hours --------------------------------------------------------------------------------------------

HOURS_YAML = routing_yaml(
    ask_category=False,
    texts={"auto_reply": "Got it!"},
    business_hours={
        "default": {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}, "holidays": ["2026-11-30"]},
        "oncall": {"timezone": "UTC", "weekly": {"mon-sun": "00:00-24:00"}},
    },
)


async def test_after_hours_the_customer_is_told_once_and_the_clock_waits_for_the_opening(
    bot_factory: BotFactory,
) -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 30, tzinfo=SEOUL).astimezone(UTC))  # Friday evening
    async with bot_factory(bot_yaml=HOURS_YAML, clock=clock) as bot:
        assert bot.rt.timers is not None
        bot.telegram.push_text(CHAT, "refund please", user=english(CHAT))
        thread = await bot.thread_for(CHAT)
        bot.telegram.push_text(CHAT, "hello? anyone?", user=english(CHAT))
        await bot.thread_text(thread, "hello? anyone?")
        await bot.idle()
        after_hours = "Thanks for your message! Our team is away right now."
        texts = bot.telegram.sent_texts(CHAT)
        assert len(texts) == 1 and texts[0].startswith(after_hours)  # once, and instead of "Got it!"

        # Monday is a holiday: due Tuesday 09:10 Seoul time, not 18:40 on Friday.
        due = datetime(2026, 12, 1, 9, 10, tzinfo=SEOUL)
        conversation_id = (await conversation(bot, CHAT)).id
        async with bot.rt.db.transaction() as tx:
            state = await tx.timers.state(conversation_id)
        assert state is not None and state.first_response_due == due
        for moment in (datetime(2026, 11, 28, 12, 0), datetime(2026, 11, 30, 10, 0), datetime(2026, 12, 1, 9, 9)):
            clock.now = moment.replace(tzinfo=SEOUL).astimezone(UTC)
            assert await bot.rt.timers.run_due() == 0, moment
        clock.now = due.astimezone(UTC)
        assert await bot.rt.timers.run_due() == 1
        await bot.idle()
        assert "target: 10 min of business hours" in notices(bot, thread, "No reply yet")[0]

        # The customer writes again during hours: no second after-hours reply; a reply is measured in work time.
        bot.telegram.push_text(CHAT, "still there?", user=english(CHAT))
        clock.advance(minutes=5)
        await bot.staff_reply(thread, "Yes, sorry for the wait!")
        await bot.idle()
        assert [t for t in bot.telegram.sent_texts(CHAT) if t.startswith(after_hours)] == texts
        async with bot.rt.db.transaction() as tx:
            state = await tx.timers.state(conversation_id)
        assert state is not None and state.first_response_seconds == 15 * 60


async def test_a_team_at_work_around_the_clock_sends_no_after_hours_reply(bot_factory: BotFactory) -> None:
    yaml = copy.deepcopy(HOURS_YAML)
    yaml["categories"]["bugs"]["hours"] = "oncall"
    clock = Clock(datetime(2026, 11, 28, 3, 0, tzinfo=SEOUL).astimezone(UTC))  # Saturday night
    async with bot_factory(bot_yaml=yaml, clock=clock) as bot:
        bot.telegram.push_text(CHAT, "ERR-500 everywhere", user=english(CHAT))
        await bot.thread_for(CHAT)
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT) == ["Got it!"]
        bot.telegram.push_text(OTHER_CHAT, "a refund, please", user=english(OTHER_CHAT))
        await bot.thread_for(OTHER_CHAT)
        await bot.idle()
        assert bot.telegram.sent_texts(OTHER_CHAT)[0].startswith("Thanks for your message! Our team is away")


# --- /inquiries ------------------------------------------------------------------------------------------------


def listing_text(answer: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in answer.get("blocks") or []) or str(answer.get("text"))


def listed(answer: dict[str, Any]) -> list[str]:
    return [line for line in listing_text(answer).splitlines() if line.startswith("• ")]


async def test_inquiries_filter_by_mine_unclaimed_overdue_and_category(bot_factory: BotFactory, clock: Clock) -> None:
    people = {CHAT: "Ana", OTHER_CHAT: "Bo", THIRD_CHAT: "Cy"}
    async with bot_factory(bot_yaml=routing_yaml(ask_category=False), clock=clock) as bot:
        for chat, text in ((CHAT, "refund for Ana"), (OTHER_CHAT, "ERR-404 here"), (THIRD_CHAT, "refund for Cy")):
            user = {"id": chat, "is_bot": False, "first_name": people[chat]}
            bot.telegram.push_text(chat, text, user=user)
            await bot.thread_for(chat)
        clock.advance(minutes=3)
        await bot.staff_reply(await bot.thread_for(CHAT), "On it", user=STAFF)  # claims Ana's
        clock.advance(minutes=12)
        await bot.idle()

        everything = await bot.command("/inquiries", "")
        lines = listed(everything)
        assert "*3 open inquiries*" in listing_text(everything) and len(lines) == 3
        assert "Cy" in lines[0] and ":warning: *overdue*" in lines[0]  # overdue first
        cy = await conversation(bot, THIRD_CHAT)
        assert f"<{link(cy.slack_channel, cy.thread_ts or '')}|Cy>" in lines[0]
        assert "*unclaimed*" in lines[0] and "waiting 15 min" in lines[0] and "Billing (결제/환불)" in lines[0]
        ana = next(line for line in lines if "Ana" in line)
        assert f"held by <@{STAFF}>" in ana and "answered, not waiting" in ana

        assert [("Ana" in x) for x in listed(await bot.command("/inquiries", "mine", user=STAFF))] == [True]
        # An owner's "mine" also holds the unclaimed inquiries of their categories.
        assert [("Cy" in x) for x in listed(await bot.command("/inquiries", "mine", user="U0BIZ"))] == [True]
        unclaimed = listed(await bot.command("/inquiries", "unclaimed"))
        assert len(unclaimed) == 2 and not any("Ana" in x for x in unclaimed)
        [overdue] = listed(await bot.command("/inquiries", "overdue"))
        assert "Cy" in overdue
        [bug] = listed(await bot.command("/inquiries", "BUGS"))
        assert "Bo" in bug and "Bug report" in bug
        assert len(listed(await bot.command("/inquiries", "billing unclaimed"))) == 1
        empty = await bot.command("/inquiries", "overdue bugs")
        assert "No open inquiries (overdue, bugs)" in listing_text(empty)

        wrong = await bot.command("/inquiries", "sales")
        assert wrong["response_type"] == "ephemeral"
        assert wrong["text"].startswith("Unknown filter “sales”. Use `mine`, `unclaimed`, `overdue`, a category")
        assert "or `tag:<tag>`" in wrong["text"]
        assert "billing, bugs, hiring" in wrong["text"]


async def test_a_retired_category_keeps_working_and_shows_as_retired(bot_factory: BotFactory, clock: Clock) -> None:
    before = routing_yaml(ask_category=False)
    before["categories"]["bugs"]["first_response_minutes"] = 10
    async with bot_factory(bot_yaml=before, clock=clock) as bot:
        bot.telegram.push_text(CHAT, "ERR-500 again")
        thread = await bot.thread_for(CHAT)
        await bot.idle()
    retired = routing_yaml(ask_category=False)
    del retired["categories"]["bugs"]
    async with bot_factory(bot_yaml=retired, clock=clock) as bot:
        assert bot.rt.timers is not None
        clock.advance(minutes=11)  # armed under the old config: still fires, with nobody left to mention
        await bot.rt.timers.run_due()
        assert "the category is retired" in await bot.thread_text(thread, "No reply yet")
        conversation_id = (await conversation(bot, CHAT)).id
        await bot.click("conversation_claim", conversation_id)
        await bot.idle()
        header = header_of(bot, *thread)
        assert "bugs (retired)" in all_text(header)
        assert "initial_option" not in menus(header)["static_select"]  # not an option any more
        [line] = listed(await bot.command("/inquiries", "bugs"))
        assert "bugs (retired)" in line
        await bot.staff_reply(thread, "still answered")
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT) == ["still answered"]
        await choose(bot, CATEGORY_SELECT, conversation_id, option=("Billing", "billing"))
        await wait_until(lambda: top_level(bot, BILLING), what="moved out of the retired category")


async def test_menus_fit_slack_limits_with_many_long_categories(bot_factory: BotFactory, clock: Clock) -> None:
    many = {
        f"c{i:02d}-{'k' * 56}": {"label": f"{i:02d} " + "가" * 72, "owners": ["U0BIZ"], "keywords": [f"topic{i:02d}"]}
        for i in range(100)
    }
    yaml = routing_yaml(categories=many)
    async with bot_factory(bot_yaml=yaml, clock=clock) as bot:
        bot.telegram.push_text(CHAT, "about topic42")
        thread = await bot.thread_for(CHAT)
        await bot.idle()
        options = menus(header_of(bot, *thread))["static_select"]["options"]  # the fake checks Slack's limits
        assert len(options) == 100 and all(len(o["text"]["text"]) <= 75 for o in options)
        _, rows = await prompt(bot, CHAT)
        assert len(rows) == 100
        assert all(len(b["callback_data"].encode()) <= 64 for row in rows for b in row)
        message_id = bot.telegram.buttons(CHAT)[0][0]
        bot.telegram.push_callback(CHAT, message_id, rows[7][0]["callback_data"])
        await wait_until(
            lambda: json.dumps(bot.telegram.markup_edits, ensure_ascii=False).count("✓") == 1,
            what="the long-keyed pick shown",
        )
        assert (await conversation(bot, CHAT)).category == f"c07-{'k' * 56}"
