"""Satisfaction after Close, through the fakes: the question some time after Close (a durable timer that fires once
across processes), the rating from Telegram's inline keyboard and the widget's buttons, the optional comment, and
what happens to a late, repeated or redelivered press, to a reopened conversation, a cooldown and a sample.
Time is a clock the tests move."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.domain.models import Status
from bot.domain.surveys import in_sample, parse_rate, rate_data
from bot.slack.blocks import CLAIM, CLOSE, REOPEN
from bot.store.surveys import Survey
from bot.usecases.crm import Customers
from bot.usecases.surveys import SURVEY
from bot.usecases.timers import TimerLoop
from tests.clock import Clock
from tests.conftest import BILLING, BOT_YAML, STAFF, Bot, BotFactory, all_text, wait_until
from tests.website_helpers import WEBSITE_ENV, visitor, website_yaml

CHAT = 7007
QUESTION_EN = "How did we do?\nPlease rate this conversation from 1 (poor) to 5 (excellent)."
QUESTION_KO = "상담은 만족스러우셨나요?\n1점(아쉬워요)부터 5점(아주 좋아요)까지 골라 주세요."


def survey_yaml(**settings: Any) -> dict[str, Any]:
    return {**BOT_YAML, "surveys": {"delay_minutes": 30, **settings}}


def english(chat: int) -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": "Min", "last_name": "Kim", "language_code": "en"}


async def survey_of(bot: Bot, conversation_id: int) -> Survey | None:
    async with bot.rt.db.reading() as tx:
        return await tx.surveys.of(conversation_id)


async def event_kinds(bot: Bot, conversation_id: int) -> list[str]:
    async with bot.rt.db.reading() as tx:
        return [e.kind for e in await tx.archive.events_of(conversation_id)]


async def answered_and_closed(bot: Bot, chat: int, text: str, *, user: dict[str, Any] | None = None,
                              claim: bool = False) -> tuple[int, tuple[str, str]]:  # fmt: skip
    """A customer writes, staff answer and close; returns the conversation and its thread."""
    bot.telegram.push_text(chat, text, user=user)
    thread = await bot.thread_for(chat)
    conversation_id = await bot.conversation_id_for(chat)
    if claim:
        await bot.click(CLAIM, conversation_id)
    await bot.staff_reply(thread, "Done, anything else?")
    await bot.idle()
    await bot.click(CLOSE, conversation_id)
    await bot.idle()
    return conversation_id, thread


async def asked(bot: Bot, clock: Clock, chat: int, *, minutes: float = 30) -> tuple[int, list[list[dict[str, Any]]]]:
    """Move past the delay, fire the timer, wait for the question; returns its message id and keyboard."""
    clock.advance(minutes=minutes)
    assert await bot.rt.timers.run_due() == 1
    await bot.idle()
    await wait_until(lambda: bot.telegram.buttons(chat), what="the rating buttons")
    return bot.telegram.buttons(chat)[-1]


def header(bot: Bot, thread: tuple[str, str]) -> str:
    return all_text(bot.slack.message(*thread) or {})


async def test_the_question_comes_after_the_delay_once_and_the_rating_and_comment_are_kept(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(), clock=clock) as bot:
        conversation_id, thread = await answered_and_closed(bot, CHAT, "my order has not arrived", user=english(CHAT))
        survey = await survey_of(bot, conversation_id)
        assert survey is not None and survey.status == "due" and survey.due_at == clock.now + timedelta(minutes=30)

        clock.advance(minutes=29)
        assert await bot.rt.timers.run_due() == 0
        assert not bot.telegram.buttons(CHAT)
        clock.advance(minutes=1)
        other = TimerLoop(bot.rt.db, bot.rt.triage, owner="another-process", clock=clock,
                          handlers={SURVEY: bot.rt.surveys.fire} if bot.rt.surveys else None)  # fmt: skip
        assert await bot.rt.timers.run_due() + await other.run_due() == 1  # asked once, whoever saw it first
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT)[-1] == QUESTION_EN
        [(message_id, rows)] = bot.telegram.buttons(CHAT)
        assert [b["text"] for b in rows[0]] == ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
        assert all(len(b["callback_data"].encode()) <= 64 for b in rows[0])
        assert "Satisfaction:* asked, no answer yet" in header(bot, thread)

        bot.telegram.push_callback(CHAT, message_id, rows[0][3]["callback_data"])
        await wait_until(lambda: bot.telegram.callback_answers, what="the tap answered")
        assert bot.telegram.callback_answers[0]["text"] == "Thank you for your rating!"
        await bot.thread_text(thread, "The customer rated this conversation *4/5* ★★★★☆.")
        await bot.idle()
        edited = bot.telegram.markup_edits[-1]["reply_markup"]["inline_keyboard"]
        assert [b["text"] for b in edited[0]] == ["1 ★", "2 ★", "3 ★", "✓ 4 ★", "5 ★"]
        assert bot.telegram.sent_texts(CHAT)[-1].startswith("Thank you! If you'd like to tell us more")
        assert "*Satisfaction:* ★★★★☆ 4/5" in header(bot, thread)
        rated = await survey_of(bot, conversation_id)
        assert rated is not None and (rated.status, rated.rating, rated.rated_at) == ("rated", 4, clock.now)

        clock.advance(minutes=5)
        bot.telegram.push_text(CHAT, "Quick and friendly <@U0BIZ>", user=english(CHAT))
        comment = "That was the customer's comment on their 4/5 rating."
        await bot.thread_text(thread, "Quick and friendly &lt;@U0BIZ&gt;", comment)
        await bot.idle()
        assert await bot.rt.service.open_inquiries() == []  # a comment opens no inquiry
        commented = await survey_of(bot, conversation_id)
        assert commented is not None and commented.status == "commented"
        assert commented.comment == "Quick and friendly <@U0BIZ>" and commented.commented_at == clock.now
        assert "“Quick and friendly &lt;@U0BIZ&gt;”" in header(bot, thread)
        assert bot.telegram.sent_texts(CHAT)[-1] == "Thank you for your feedback, we've passed it on to the team."
        kinds = await event_kinds(bot, conversation_id)
        assert [k for k in kinds if k.startswith("survey")] == ["survey_asked", "survey_rated", "survey_commented"]

        bot.telegram.push_text(CHAT, "one more question about a refund", user=english(CHAT))  # commented: as before
        await bot.thread_for(CHAT)
        assert len(await bot.rt.service.open_inquiries()) == 1


async def test_the_first_press_counts_a_low_one_mentions_the_holder_and_owners_and_a_redelivery_is_nothing(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(), clock=clock) as bot:
        conversation_id, thread = await answered_and_closed(bot, CHAT, "환불 받고 싶어요", claim=True)  # Korean
        assert thread[0] == BILLING
        message_id, rows = await asked(bot, clock, CHAT)
        assert bot.telegram.sent_texts(CHAT)[-1] == QUESTION_KO

        tap = bot.telegram.push_callback(CHAT, message_id, rows[0][1]["callback_data"])  # 2: low
        await wait_until(lambda: len(bot.telegram.callback_answers) == 1, what="the tap answered")
        assert bot.telegram.callback_answers[0]["text"] == "평가해 주셔서 감사합니다!"
        text = await bot.thread_text(thread, "rated this conversation *2/5*")
        assert f"*2/5* ★★☆☆☆. <@{STAFF}> <@U0BIZ> <!subteam^S0BILLING>" in text

        bot.telegram.push_duplicate(tap)  # Telegram delivers the first tap again: nothing happens twice
        bot.telegram.push_callback(CHAT, message_id, rows[0][4]["callback_data"])  # 5: a change of mind
        await wait_until(lambda: len(bot.telegram.callback_answers) == 2, what="the second tap answered")
        assert bot.telegram.callback_answers[1]["text"] == "이미 평가해 주셨어요. 감사합니다!"
        await bot.idle()
        survey = await survey_of(bot, conversation_id)
        assert survey is not None and survey.rating == 2 and survey.status == "rated"
        assert bot.slack_count(thread, "rated this conversation") == 1
        assert (await event_kinds(bot, conversation_id)).count("survey_refused") == 1


async def test_a_late_rating_is_refused_politely_and_a_reopened_conversation_still_takes_one(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(answer_within_days=7), clock=clock) as bot:
        first, thread = await answered_and_closed(bot, CHAT, "hello", user=english(CHAT))
        message_id, rows = await asked(bot, clock, CHAT)
        clock.advance(days=7, minutes=1)
        bot.telegram.push_callback(CHAT, message_id, rows[0][4]["callback_data"])
        await wait_until(lambda: bot.telegram.callback_answers, what="the tap answered")
        assert bot.telegram.callback_answers[0]["text"] == "Sorry, this survey has closed. Thank you all the same!"
        await wait_until(lambda: not bot.telegram.buttons(CHAT), what="the keyboard removed")
        late = await survey_of(bot, first)
        assert late is not None and (late.status, late.rating) == ("asked", None)
        assert "survey_refused" in await event_kinds(bot, first)
        assert bot.slack_count(thread, "rated this conversation") == 0

        other = CHAT + 1
        second, thread = await answered_and_closed(bot, other, "hi again", user=english(other))
        message_id, rows = await asked(bot, clock, other)
        await bot.click(REOPEN, second)  # reopened after the question: the rating is still about what was done
        await bot.idle()
        bot.telegram.push_callback(other, message_id, rows[0][2]["callback_data"])
        await bot.thread_text(thread, "rated this conversation *3/5*")
        bot.telegram.push_text(other, "and a follow-up", user=english(other))  # open: part of it, not a comment
        await bot.thread_text(thread, "and a follow-up")
        await bot.idle()
        survey = await survey_of(bot, second)
        assert survey is not None and (survey.status, survey.rating, survey.comment) == ("rated", 3, None)
        assert bot.slack_count(thread, "comment") == 0


async def test_reopening_before_the_question_cancels_it_a_second_close_plans_it_and_it_survives_a_restart(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(), clock=clock) as bot:
        conversation_id, _ = await answered_and_closed(bot, CHAT, "hello", user=english(CHAT))
        clock.advance(minutes=10)
        await bot.click(REOPEN, conversation_id)
        await bot.idle()
        skipped = await survey_of(bot, conversation_id)
        assert skipped is not None and skipped.status == "skipped"
        clock.advance(minutes=30)
        assert await bot.rt.timers.run_due() == 0
        await bot.click(CLOSE, conversation_id)
        await bot.idle()
        planned = await survey_of(bot, conversation_id)
        assert planned is not None and planned.status == "due" and planned.due_at == clock.now + timedelta(minutes=30)
    async with bot_factory(bot_yaml=survey_yaml(), clock=clock) as bot:  # a restart: the timer is in the database
        clock.advance(minutes=30)
        assert await bot.rt.timers.run_due() == 1
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT).count(QUESTION_EN) == 1
        clock.advance(days=1)
        assert await bot.rt.timers.run_due() == 0


async def test_a_customer_asked_within_the_cooldown_is_not_asked_again_and_the_sample_is_deterministic(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(cooldown_days=30), clock=clock) as bot:
        await answered_and_closed(bot, CHAT, "first question", user=english(CHAT))
        await asked(bot, clock, CHAT)
        clock.advance(days=29)
        again, _ = await answered_and_closed(bot, CHAT, "second question", user=english(CHAT))
        clock.advance(minutes=30)
        assert await bot.rt.timers.run_due() == 1  # the timer fires, and finds the customer asked 29 days ago
        await bot.idle()
        skipped = await survey_of(bot, again)
        assert skipped is not None and (skipped.status, skipped.asked_at) == ("skipped", None)
        assert bot.telegram.sent_texts(CHAT).count(QUESTION_EN) == 1

    picked = [n for n in range(1, 1001) if in_sample(n, 30)]
    assert picked == [n for n in range(1, 1001) if in_sample(n, 30)]  # the same answer every time
    assert 250 < len(picked) < 350
    assert all(in_sample(n, 100) for n in range(1, 50)) and not any(in_sample(n, 0) for n in range(1, 50))
    assert parse_rate(rate_data(2**53, 5)) == (2**53, 5) and len(rate_data(2**63 - 1, 5)) <= 64
    assert parse_rate("rate:12:6") is None and parse_rate("rate:x:1") is None and parse_rate("cat:1:a") is None


async def test_a_conversation_outside_the_sample_is_never_asked(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(sample_percent=0), clock=clock) as bot:
        conversation_id, _ = await answered_and_closed(bot, CHAT, "hello", user=english(CHAT))
        survey = await survey_of(bot, conversation_id)
        assert survey is not None and survey.status == "skipped"
        clock.advance(days=1)
        assert await bot.rt.timers.run_due() == 0
        assert not bot.telegram.buttons(CHAT)


async def test_a_thanks_after_a_rating_is_its_comment_and_after_the_window_a_thanks_as_before(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(comment_minutes=60), clock=clock) as bot:
        conversation_id, thread = await answered_and_closed(bot, CHAT, "hello", user=english(CHAT))
        message_id, rows = await asked(bot, clock, CHAT)
        bot.telegram.push_callback(CHAT, message_id, rows[0][4]["callback_data"])
        await bot.thread_text(thread, "rated this conversation *5/5*")
        bot.telegram.push_text(CHAT, "감사합니다!", user=english(CHAT))
        await bot.thread_text(thread, "감사합니다!", "That was the customer's comment on their 5/5 rating.")
        kinds = await event_kinds(bot, conversation_id)
        assert "survey_commented" in kinds and "thanked_after_close" not in kinds

        other = CHAT + 1
        second, thread = await answered_and_closed(bot, other, "hi", user=english(other))
        message_id, rows = await asked(bot, clock, other)
        bot.telegram.push_callback(other, message_id, rows[0][3]["callback_data"])
        await bot.thread_text(thread, "rated this conversation *4/5*")
        clock.advance(minutes=61)  # past the comment window, within the thanks-after-close day
        bot.telegram.push_text(other, "thanks", user=english(other))
        await wait_until(lambda: any(all_text(m) == "thanks" for m in bot.slack.thread(*thread)), what="the thanks")
        await bot.idle()
        kinds = await event_kinds(bot, second)
        assert "thanked_after_close" in kinds and "survey_commented" not in kinds
        survey = await survey_of(bot, second)
        assert survey is not None and survey.comment is None
        conversation = await bot.rt.service.conversation(second)
        assert conversation is not None and conversation.status == Status.CLOSED


async def test_the_widget_shows_the_rating_buttons_and_a_tap_records_it(bot_factory: BotFactory) -> None:
    clock = Clock()
    yaml = {**website_yaml(), "surveys": {"delay_minutes": 5}}
    async with bot_factory(bot_yaml=yaml, clock=clock, **WEBSITE_ENV) as bot:
        v = visitor(bot)
        await v.connect()
        await v.say("where is my parcel?")
        conversation = await wait_for_website_conversation(bot)
        thread = await bot.thread_for_address("website", conversation.address)
        await bot.staff_reply(thread, "On its way!")
        await bot.idle()
        await bot.click(CLOSE, conversation.id)
        await bot.idle()
        clock.advance(minutes=5)
        assert await bot.rt.timers.run_due() == 1
        await v.sees(lambda: any(e.get("buttons") for e in v.entries.values()), "the rating buttons")
        buttons = next(e["buttons"] for e in v.entries.values() if e.get("buttons"))
        assert [b["label"] for b in buttons[0]] == ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
        assert QUESTION_EN in v.team_texts()
        await v.send({"t": "pick", "data": buttons[0][4]["data"], "key": "rate-00000001"})
        await v.sees(lambda: any(f["t"] == "picked" for f in v.frames), "the tap answered")
        picked = next(f for f in v.frames if f["t"] == "picked")
        assert picked["status"] == "chosen" and picked["notice"] == "Thank you for your rating!"
        await bot.thread_text(thread, "rated this conversation *5/5*")
        await v.send({"t": "pick", "data": buttons[0][0]["data"], "key": "rate-00000002"})
        await v.sees(lambda: sum(f["t"] == "picked" for f in v.frames) == 2, "the second tap answered")
        assert [f for f in v.frames if f["t"] == "picked"][-1]["status"] == "kept"
        survey = await survey_of(bot, conversation.id)
        assert survey is not None and survey.rating == 5
        await v.close()


async def wait_for_website_conversation(bot: Bot) -> Any:
    found: list[Any] = []

    async def check() -> bool:
        found.extend(c for c in await bot.rt.service.open_inquiries() if c.channel == "website")
        return bool(found)

    await wait_until(check, what="the website conversation")
    return found[0]


async def test_erasing_the_customer_forgets_their_comment_keeps_the_rating_and_asks_nothing_more(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(cooldown_days=0), clock=clock) as bot:
        first, thread = await answered_and_closed(bot, CHAT, "hello", user=english(CHAT))
        message_id, rows = await asked(bot, clock, CHAT)
        bot.telegram.push_callback(CHAT, message_id, rows[0][0]["callback_data"])
        await bot.thread_text(thread, "rated this conversation *1/5*")
        bot.telegram.push_text(CHAT, "my phone is 010-1234-5678, call me", user=english(CHAT))
        await bot.thread_text(thread, "That was the customer's comment")
        second, _ = await answered_and_closed(bot, CHAT, "and another thing", user=english(CHAT))
        conversation = await bot.rt.service.conversation(second)
        assert conversation is not None
        await Customers(bot.rt.db, bot.rt.config.bot, clock=clock).erase(conversation.customer_id, "cli:admin")
        await bot.idle()
        erased = await survey_of(bot, first)
        assert erased is not None and (erased.rating, erased.comment) == (1, None)
        never = await survey_of(bot, second)
        assert never is not None and never.status == "skipped"
        sent = len(bot.telegram.sent_texts(CHAT))
        clock.advance(minutes=30)
        await bot.rt.timers.run_due()
        await bot.idle()
        assert len(bot.telegram.sent_texts(CHAT)) == sent


async def test_a_customer_back_with_a_new_question_before_the_delay_is_not_asked_about_the_old_one(
    bot_factory: BotFactory,
) -> None:
    clock = Clock()
    async with bot_factory(bot_yaml=survey_yaml(), clock=clock) as bot:
        first, _ = await answered_and_closed(bot, CHAT, "hello", user=english(CHAT))
        clock.advance(minutes=10)
        bot.telegram.push_text(CHAT, "actually, one more problem", user=english(CHAT))
        await bot.thread_for(CHAT)
        clock.advance(minutes=20)
        assert await bot.rt.timers.run_due() == 1
        await bot.idle()
        survey = await survey_of(bot, first)
        assert survey is not None and survey.status == "skipped"
        assert QUESTION_EN not in bot.telegram.sent_texts(CHAT)
