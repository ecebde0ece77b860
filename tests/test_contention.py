"""Contention: two things happening to one conversation at the same moment.

Each test holds a transaction at the point of danger (an ``asyncio.Event`` inside the real use case) and runs the
other side against it, or has the database itself refuse a transaction, so what is tested is the lock order and the
retry, never how the scheduler happened to interleave two tasks.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from bot.domain.models import InboundMessage, Sender
from bot.slack.routing_blocks import CATEGORY_SELECT, REASSIGN_SELECT
from bot.store.archive import Archive
from bot.store.database import ATTEMPTS
from bot.store.follow_ups import FollowUpStore
from bot.store.timers import TimerStore
from bot.usecases.jobs import SEND_TO_CUSTOMER
from tests.conftest import STAFF, STAFF2, Bot, all_text, wait_until
from tests.contention_helpers import Pause, Refusal, Retries, archived, count, pause_after, someone_waits
from tests.fakes.slack_requests import message_event
from tests.test_inquiries import choose, events, header_of, menus

CHAT = 7301
STAFF3 = "U0NEW"


async def open_thread(bot: Bot, *, claimed_by: str | None = None) -> tuple[tuple[str, str], int]:
    bot.telegram.push_text(CHAT, "my order is late")
    thread = await bot.thread_for(CHAT)
    conversation_id = await bot.conversation_id_for(CHAT)
    if claimed_by is not None:
        await bot.click("conversation_claim", conversation_id, user=claimed_by)
    await bot.idle()
    return thread, conversation_id


def reply_event(thread: tuple[str, str], words: str) -> dict[str, Any]:
    return message_event(thread[0], STAFF, words, thread_ts=thread[1])


# --- running a refused transaction again -----------------------------------------------------------------------


async def deadlock_the_reply_once(bot: Bot, monkeypatch: pytest.MonkeyPatch, conversation_id: int) -> None:
    """A real deadlock on PostgreSQL, with the reply as its victim: the reply holds the conversation row (its touch)
    and waits for the inquiry's state row, which another session holds while it asks for the conversation row.
    That session waits far longer than the reply before it looks for deadlocks, so the reply is the one refused."""
    pause = Pause()
    monkeypatch.setattr(Archive, "touch", pause_after(Archive.touch, pause))
    await asyncio.wait_for(pause.reached.wait(), 10)
    async with bot.rt.db.engine.connect() as other, other.begin():
        await other.execute(text("SET LOCAL deadlock_timeout = '60s'"))
        held = await other.execute(
            text("SELECT 1 FROM inquiry_state WHERE conversation_id = :c FOR UPDATE"), {"c": conversation_id}
        )
        assert held.scalar_one() == 1
        pause.release.set()
        await wait_until(lambda: someone_waits(bot.rt.db), what="the reply to wait for the inquiry's state")
        await other.execute(text("SELECT 1 FROM conversations WHERE id = :c FOR UPDATE"), {"c": conversation_id})


async def test_a_reply_refused_for_contention_runs_again_and_nothing_is_doubled(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the reply is chosen as a deadlock's victim after it archived, queued and claimed. SQLite: the
    database is locked. Either way its transaction rolled back whole and the reply runs again, once."""
    thread, conversation_id = await open_thread(bot)
    use_case = "Conversations.staff_message"
    with Retries(use_case) as retries:
        if bot.rt.db.dialect == "postgresql":
            contender = asyncio.create_task(deadlock_the_reply_once(bot, monkeypatch, conversation_id))
            response = await bot.slack_event(reply_event(thread, "it ships today"))
            await contender
            kind = "deadlock"
        else:
            refusal = Refusal(bot, use_case, times=1, table="messages", when="NEW.channel = 'slack'")
            await refusal.start()
            try:
                response = await bot.slack_event(reply_event(thread, "it ships today"))
            finally:
                await refusal.stop()
            kind = "database is locked"
    assert response.status == 200
    assert retries.seen == [f"{use_case}: {kind}, running it again (attempt 2 of {ATTEMPTS})"]
    await wait_until(lambda: "it ships today" in bot.telegram.sent_texts(CHAT), what="the reply on Telegram")
    await bot.idle()
    assert bot.telegram.sent_texts(CHAT).count("it ships today") == 1
    assert await archived(bot, "it ships today") == 1
    jobs = "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE m.text = :t AND o.kind = :k"
    assert await count(bot, jobs, t="it ships today", k=SEND_TO_CUSTOMER) == 1
    claims = "SELECT count(*) FROM events WHERE conversation_id = :c AND kind = 'claimed'"
    assert await count(bot, claims, c=conversation_id) == 1


async def test_contention_that_does_not_pass_fails_after_a_bounded_number_of_attempts(bot: Bot) -> None:
    """Refused every time: after the last attempt the error reaches Slack (a 500, so Slack sends the event again),
    with nothing stored; Slack's retry then goes through and is stored once."""
    thread, _ = await open_thread(bot)
    use_case = "Conversations.staff_message"
    reply = reply_event(thread, "it ships today")
    refusal = Refusal(bot, use_case, times=None, table="messages", when="NEW.channel = 'slack'")
    await refusal.start()
    try:
        response = await bot.slack_event(reply, event_id="Ev0REFUSED")
    finally:
        await refusal.stop()
    assert response.status == 500
    assert len(refusal.retries.seen) == ATTEMPTS - 1  # one warning per attempt after the first
    assert await archived(bot, "it ships today") == 0
    retried = await bot.slack_event(reply, event_id="Ev0REFUSED", retry_num=1)
    assert retried.status == 200
    await wait_until(lambda: "it ships today" in bot.telegram.sent_texts(CHAT), what="the reply on Telegram")
    await bot.idle()
    assert await archived(bot, "it ships today") == 1
    assert bot.telegram.sent_texts(CHAT).count("it ships today") == 1


async def test_a_refused_item_runs_its_whole_group_again_and_each_caller_is_answered_once(bot: Bot) -> None:
    """Group commit: contention inside one message's savepoint refuses the whole transaction (on PostgreSQL the
    others may be waiting for it), so the whole group runs again, and every caller hears once, after the commit."""
    thread, _ = await open_thread(bot)
    texts = [f"g-{i}" for i in range(1, 6)]
    messages = [customer_message(words, i) for i, words in enumerate(texts, start=1)]
    refusal = Refusal(bot, "Intake._store_group", times=1, table="messages", when="NEW.text = 'g-3'")
    await refusal.start()
    try:
        receipts = await asyncio.gather(*(bot.rt.intake.receive(m) for m in messages))
    finally:
        await refusal.stop()
    assert len(refusal.retries.seen) == 1
    assert [r.duplicate for r in receipts] == [False] * 5 and len({r.conversation_id for r in receipts}) == 1
    await bot.thread_text(thread, *texts)
    await bot.idle()
    assert [await archived(bot, t) for t in texts] == [1] * 5
    posted = "\n".join(all_text(m) for m in bot.slack.thread(*thread))
    assert [posted.count(t) for t in texts] == [1] * 5


def customer_message(words: str, n: int) -> InboundMessage:
    return InboundMessage(
        channel="telegram",
        address=str(CHAT),
        sender=Sender(str(CHAT), f"Customer {CHAT}"),
        text=words,
        source_key=f"telegram:{CHAT}:g{n}",
        sent_at=datetime.now(UTC),
        external_message_id=str(9000 + n),
    )


async def test_a_delivery_whose_bookkeeping_is_refused_is_recorded_once_and_not_sent_again(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply reached the customer; marking its job done was refused. Run again, the job is done and the
    customer has one copy (without the retry the job would stay leased and be sent again when the lease ends)."""
    thread, _ = await open_thread(bot, claimed_by=STAFF)
    await bot.staff_reply(thread, "looking into it")  # the first response (it refreshes the header): behind us
    await bot.idle()
    sender = bot.rt.worker.handlers[SEND_TO_CUSTOMER]
    real_deliver = sender.deliver
    done = f"NEW.status = 'done' AND NEW.kind = '{SEND_TO_CUSTOMER}'"
    refusal = Refusal(bot, "DeliveryWorker._finish", times=1, table="outbox", when=done)
    started: list[bool] = []

    async def deliver_then_contend(batch: Any) -> Any:
        delivered = await real_deliver(batch)
        if not started:  # between the send and its bookkeeping
            started.append(True)
            await refusal.start()
        return delivered

    monkeypatch.setattr(sender, "deliver", deliver_then_contend)
    try:
        await bot.staff_reply(thread, "it ships today")
        await wait_until(lambda: refusal.retries.seen, what="the bookkeeping to be refused")
        jobs = f"SELECT count(*) FROM outbox WHERE kind = '{SEND_TO_CUSTOMER}' AND status = 'done'"
        await wait_until(lambda: _at_least(bot, jobs, 1), what="the job to be done")
    finally:
        await refusal.stop()
    await bot.idle()
    assert len(refusal.retries.seen) == 1  # the one job in flight, refused once
    assert bot.telegram.sent_texts(CHAT).count("it ships today") == 1


async def _at_least(bot: Bot, query: str, n: int) -> bool:
    return await count(bot, query) >= n


# --- no deadlock by design -------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["customer", "staff"])
async def test_a_staff_reply_and_a_customer_message_at_the_same_moment_do_not_deadlock(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """``customer``: the customer's message holds its identity (locked so a merge cannot move it) while the reply
    updates the conversation twice (touch, claim: the second update checks the conversation's foreign keys, the
    identity among them). ``staff``: the reply holds the conversation row; the message waits for it, then the
    reply's claim checks the identity the waiting message holds."""
    db = bot.rt.db
    postgres = db.dialect == "postgresql"
    thread, conversation_id = await open_thread(bot)
    pause = Pause()
    if first == "customer":  # the identity is locked by whichever way the message takes (one alone, or a group)
        monkeypatch.setattr(Archive, "upsert_identity", pause_after(Archive.upsert_identity, pause))
        monkeypatch.setattr(FollowUpStore, "read_group", pause_after(FollowUpStore.read_group, pause))
    else:
        monkeypatch.setattr(Archive, "touch", pause_after(Archive.touch, pause))

    async def reply() -> int:
        return (await bot.slack_event(reply_event(thread, "it ships today"))).status

    with Retries("Intake._store_group") as receive_retries, Retries("Conversations.staff_message") as retries:
        try:
            if first == "customer":
                bot.telegram.push_text(CHAT, "any news?")
                await asyncio.wait_for(pause.reached.wait(), 10)  # the message's transaction holds the identity
                replying = asyncio.create_task(reply())
                if postgres:  # SQLite has one writer at a time: there the reply simply waits for the commit
                    await wait_until(
                        lambda: replying.done() or someone_waits(db), what="the reply to finish or to wait"
                    )
                    assert replying.done(), "the reply waits for the lock the customer's message holds"
            else:
                replying = asyncio.create_task(reply())
                await asyncio.wait_for(pause.reached.wait(), 10)  # the reply's transaction holds the conversation
                bot.telegram.push_text(CHAT, "any news?")
                if postgres:
                    await wait_until(lambda: someone_waits(db), what="the customer's message to wait for the reply")
        finally:
            pause.release.set()
        assert await replying == 200
        await bot.thread_text(thread, "any news?")
        await wait_until(lambda: "it ships today" in bot.telegram.sent_texts(CHAT), what="the reply on Telegram")
        await bot.idle()
    assert (receive_retries.seen, retries.seen) == ([], [])  # neither was refused: nothing to run again
    assert (await archived(bot, "any news?"), await archived(bot, "it ships today")) == (1, 1)
    assert bot.telegram.sent_texts(CHAT).count("it ships today") == 1
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and conversation.holder == STAFF
    assert "\n".join(all_text(m) for m in bot.slack.thread(*thread)).count("any news?") == 1


async def test_a_follow_up_held_while_a_reply_commits_waits_for_an_answer(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A follow-up has found its sender and conversation when a staff reply answers the customer and commits. The
    follow-up is then the newest unanswered message: on PostgreSQL its inquiry state is read once its conversation
    is locked, after the reply, so it starts the waiting clock again. On SQLite the reply waits for the follow-up's
    commit (one writer) and then stops the clock."""
    db = bot.rt.db
    postgres = db.dialect == "postgresql"
    thread, conversation_id = await open_thread(bot)
    async with db.reading() as tx:
        state = await tx.timers.state(conversation_id)
    assert state is not None and state.waiting_since is not None  # the customer's first message waits
    pause = Pause()
    monkeypatch.setattr(Archive, "upsert_identity", pause_after(Archive.upsert_identity, pause))
    monkeypatch.setattr(FollowUpStore, "read_group", pause_after(FollowUpStore.read_group, pause))
    try:
        bot.telegram.push_text(CHAT, "any news?")
        await asyncio.wait_for(pause.reached.wait(), 10)
        replying = asyncio.create_task(bot.slack_event(reply_event(thread, "it ships today")))
        if postgres:  # the reply commits while the follow-up holds its sender
            assert (await asyncio.wait_for(replying, 10)).status == 200
    finally:
        pause.release.set()
    assert (await replying).status == 200
    await bot.thread_text(thread, "any news?")
    await bot.idle()
    async with db.reading() as tx:
        state = await tx.timers.state(conversation_id)
    assert state is not None
    if postgres:
        assert state.waiting_since is not None  # the follow-up came after the answer: it waits for one
    else:
        assert state.waiting_since is None  # the reply came after the follow-up and answered it


async def test_a_category_change_and_a_reply_at_the_same_moment_do_not_deadlock(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply holds the conversation row and will next update the inquiry's state. The category change takes the
    conversation row before the state (as every path does), so it waits rather than hold what the reply needs."""
    db = bot.rt.db
    thread, conversation_id = await open_thread(bot)
    pause = Pause()
    monkeypatch.setattr(Archive, "touch", pause_after(Archive.touch, pause))
    with Retries("Triage.change_category") as changes, Retries("Conversations.staff_message") as replies:
        replying = asyncio.create_task(bot.slack_event(reply_event(thread, "it ships today")))
        try:
            await asyncio.wait_for(pause.reached.wait(), 10)
            option = ("Bug report", "bugs")
            changing = asyncio.create_task(choose(bot, CATEGORY_SELECT, conversation_id, option=option, user=STAFF2))
            if db.dialect == "postgresql":
                await wait_until(lambda: someone_waits(db), what="the category change to wait for the reply")
        finally:
            pause.release.set()
        assert (await replying).status == 200
        await changing
        await bot.thread_text(thread, "set the category to")
        await bot.idle()
    assert (changes.seen, replies.seen) == ([], [])  # neither was refused: nothing to run again
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and (conversation.category, conversation.holder) == ("bugs", STAFF)
    assert bot.telegram.sent_texts(CHAT).count("it ships today") == 1


# --- reassigning at the same moment ----------------------------------------------------------------------------


@pytest.mark.parametrize("targets", [(STAFF2, STAFF2), (STAFF2, STAFF3)], ids=["same-person", "different-people"])
async def test_two_people_handing_an_inquiry_on_at_once_change_it_once_per_actual_change(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, targets: tuple[str, str]
) -> None:
    """Both saw STAFF holding it. Each change is archived and announced once, and starts from the holder it
    replaces: never two events that both claim to replace STAFF."""
    thread, conversation_id = await open_thread(bot, claimed_by=STAFF)
    postgres = bot.rt.db.dialect == "postgresql"
    if postgres:  # both read the holder before either writes (SQLite lets one writer in at a time, so it cannot)
        both_read = asyncio.Barrier(2)
        real_set_holder = TimerStore.set_holder

        async def after_both_read(*args: Any, **kwargs: Any) -> Any:
            await asyncio.wait_for(both_read.wait(), 10)
            return await real_set_holder(*args, **kwargs)

        monkeypatch.setattr(TimerStore, "set_holder", after_both_read)
    await asyncio.gather(
        choose(bot, REASSIGN_SELECT, conversation_id, selected_user=targets[0], user=STAFF),
        choose(bot, REASSIGN_SELECT, conversation_id, selected_user=targets[1], user=STAFF3),
    )
    await bot.idle()
    changes = [
        (e.detail["previous"], e.detail["holder"]) for e in await events(bot, conversation_id) if e.kind == "reassigned"
    ]
    assert [previous for previous, _ in changes] == [STAFF, *(holder for _, holder in changes[:-1])]
    if targets[0] == targets[1] or postgres:  # on PostgreSQL both read STAFF: the second finds it handed on
        assert len(changes) == 1
    else:  # one after the other: the second hands it on from whom the first handed it to
        assert len(changes) == 2
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and conversation.holder == changes[-1][1]
    handed = [all_text(m) for m in bot.slack.thread(*thread) if "handed this inquiry" in all_text(m)]
    assert len(handed) == len(changes)
    assert menus(header_of(bot, *thread))["users_select"]["initial_user"] == conversation.holder
