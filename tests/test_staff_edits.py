"""A staff member edits or deletes a reply in Slack: the customer's copy follows, every part of it, within the
channel's window; outside it, or on a channel that cannot, the thread says the customer still sees the original;
notes never leak by an edit. Every version and deletion is archived with who and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from bot.domain.models import Delivery
from bot.store.schema import messages, outbox
from tests.conftest import STAFF, STAFF2, Bot, BotFactory, all_text, wait_until
from tests.fakes.memory_channel import LIMITS, MemoryConnector, MemorySettings
from tests.fakes.slack_requests import message_changed_event, message_deleted_event, new_ts

CHAT = 4242


def long_text(word: str, parts: int) -> str:
    """A reply Telegram carries in exactly ``parts`` messages: four paragraphs of 985 characters fit in its 4,096,
    five do not."""
    paragraph = (f"{word} " * 200)[:980].strip()
    return "\n\n".join(f"{i:02d}: {paragraph}" for i in range(parts * 4))


def notices(bot: Bot, thread: tuple[str, str], words: str) -> list[str]:
    return [all_text(m) for m in bot.slack.thread(*thread) if words in all_text(m)]


def customer_sees(bot: Bot) -> list[str]:
    """The chat as the customer has it now: edits applied, deleted messages gone."""
    return [m["visible_text"] for m in bot.telegram.sent(CHAT) if m["kind"] == "text" and not m.get("deleted")]


async def versions(bot: Bot, thread: tuple[str, str], ts: str) -> list[tuple[Any, ...]]:
    """Every version of a staff message: (author, text, direction, delivery, edit_of), oldest first."""
    async with bot.rt.db.reading() as tx:
        original = await tx.archive.message_by_source_key(f"slack:{thread[0]}:{ts}")
        rows = await tx.conn.execute(
            select(messages.c.author_id, messages.c.text, messages.c.direction, messages.c.delivery, messages.c.edit_of)
            .where(or_(messages.c.id == original.id, messages.c.edit_of == original.id))
            .order_by(messages.c.id)
        )
        return [tuple(r) for r in rows.all()]


async def edit(bot: Bot, thread: tuple[str, str], ts: str, text: str, **kwargs: Any) -> None:
    event = message_changed_event(thread[0], ts, text, user=kwargs.pop("user", STAFF), thread_ts=thread[1], **kwargs)
    await bot.slack_event(event)


async def delete(bot: Bot, thread: tuple[str, str], ts: str) -> None:
    await bot.slack_event(message_deleted_event(thread[0], ts, user=STAFF, thread_ts=thread[1]))


async def replied(bot: Bot, text: str) -> tuple[tuple[str, str], str]:
    bot.telegram.push_text(CHAT, "where is my parcel?")
    thread = await bot.thread_for(CHAT)
    ts = new_ts()
    await bot.staff_reply(thread, text, ts=ts)
    await bot.idle()
    return thread, ts


async def test_an_edited_reply_changes_every_part_the_customer_has(bot: Bot) -> None:
    thread, ts = await replied(bot, long_text("before", 3))
    assert len(customer_sees(bot)) == 3
    ids = [m["message_id"] for m in bot.telegram.sent(CHAT)]

    same = long_text("before", 3)
    preview = message_changed_event(thread[0], ts, same, user=STAFF, thread_ts=thread[1], edited=False)
    await bot.slack_event({**preview, "message": {**preview["message"], "attachments": [{"fallback": "preview"}]}})
    changed = message_changed_event(thread[0], ts, long_text("after", 3), user=STAFF, thread_ts=thread[1])
    await bot.slack_event(changed, event_id="Ev0EDIT1")
    await bot.slack_event(changed, event_id="Ev0EDIT1", retry_num=1)  # Slack's retry
    await bot.slack_event(changed)  # the same edit once more, under a new event id
    await bot.idle()
    assert [m["message_id"] for m in bot.telegram.sent(CHAT)] == ids  # edited in place: nothing new, nothing lost
    assert " ".join(customer_sees(bot)).split() == long_text("after", 3).split()
    assert len(bot.telegram.edits) == 3  # each part once
    assert notices(bot, thread, "edited in Slack") == []  # nothing to tell: the customer has the new words

    await edit(bot, thread, ts, "Short now")  # fewer parts: the first edited, the rest deleted
    await bot.idle()
    assert customer_sees(bot) == ["Short now"] and bot.telegram.deleted == [(CHAT, ids[1]), (CHAT, ids[2])]
    await edit(bot, thread, ts, long_text("grown", 2))  # more parts: the next one sent after, replying to the first
    await bot.idle()
    assert " ".join(customer_sees(bot)).split() == long_text("grown", 2).split()
    added = bot.telegram.sent(CHAT)[-1]
    assert added["message_id"] not in ids and added["reply_to_message_id"] == ids[0]

    archived = await versions(bot, thread, ts)  # every version, who wrote it, and that the customer got it
    assert [(a, d, dl) for a, _, d, dl, _ in archived] == [(STAFF, "outbound", Delivery.DELIVERED)] * 4
    assert [t.split()[1] for _, t, _, _, _ in archived] == ["before", "after", "now", "grown"]
    assert archived[0][4] is None and len({row[4] for row in archived[1:]}) == 1
    async with bot.rt.db.reading() as tx:
        original = await tx.archive.message_by_source_key(f"slack:{thread[0]}:{ts}")
        parts = await tx.parts.customer_parts(original.id)
    assert [p.external_id for p in parts] == [str(ids[0]), str(added["message_id"])]


async def test_a_deleted_reply_is_deleted_from_the_customer_s_chat_every_part(bot: Bot) -> None:
    thread, ts = await replied(bot, long_text("oops", 2))
    ids = [m["message_id"] for m in bot.telegram.sent(CHAT)]
    await delete(bot, thread, ts)
    await delete(bot, thread, ts)  # Slack's retry
    text = await bot.thread_text(thread, "deleted in Slack and from the customer's chat too")
    assert bot.telegram.deleted == [(CHAT, i) for i in ids] and customer_sees(bot) == []
    assert text.count("from the customer's chat too") == 1
    async with bot.rt.db.reading() as tx:
        kinds = [e.kind for e in await tx.archive.events_of(await bot.conversation_id_for(CHAT))]
    assert "staff_deleted" in kinds and "customer_copy_deleted" in kinds


async def test_outside_the_window_the_thread_says_the_customer_still_sees_the_original(
    bot_factory: BotFactory,
) -> None:
    later = timedelta()

    def clock() -> datetime:
        return datetime.now(UTC) + later

    async with bot_factory(clock=clock) as bot:
        thread, ts = await replied(bot, "It ships on Monday")
        later = timedelta(hours=49)
        await edit(bot, thread, ts, "It ships on Tuesday")
        await edit(bot, thread, ts, "It ships on Wednesday")  # told once
        told = await bot.thread_text(thread, "edited in Slack")
        why = "Telegram lets the bot change or delete its messages for 48 hours only"
        assert f"the customer still sees the original: {why}" in told
        assert "> It ships on Monday" in told and len(notices(bot, thread, "edited in Slack")) == 1
        await delete(bot, thread, ts)
        deleted = await bot.thread_text(thread, "deleted in Slack, but the customer still has it")
        assert "48 hours only" in deleted
        await bot.idle()
        assert customer_sees(bot) == ["It ships on Monday"] and not bot.telegram.edits and not bot.telegram.deleted


async def test_a_refusal_of_the_platform_is_told_in_the_thread(bot: Bot) -> None:
    thread, ts = await replied(bot, "See you on Friday")
    bot.telegram.backdate(CHAT, bot.telegram.sent(CHAT)[0]["message_id"], 48 * 3600 + 60)  # Telegram's own clock
    await edit(bot, thread, ts, "See you on Saturday")
    told = await bot.thread_text(thread, "edited in Slack")
    assert "Telegram lets a bot change its messages for 48 hours only" in told
    assert customer_sees(bot) == ["See you on Friday"]
    assert [row[3] for row in await versions(bot, thread, ts)] == [Delivery.DELIVERED, Delivery.FAILED]


async def test_a_channel_that_cannot_edit_or_delete_leaves_the_copy_and_says_so(bot_factory: BotFactory) -> None:
    fixed = MemorySettings(limits=replace(LIMITS, edits=False, deletes=False))
    async with bot_factory(channels={"memory": fixed}) as bot:
        channel = bot.rt.connectors["memory"]
        assert isinstance(channel, MemoryConnector)
        await channel.says("visitor-1", "hello")
        thread = await bot.thread_for_address("memory", "visitor-1")
        ts = new_ts()
        await bot.staff_reply(thread, "First words", ts=ts)
        await wait_until(lambda: channel.texts("visitor-1") == ["First words"], what="the reply")
        await bot.idle()  # recorded as delivered (the channel shows it a moment before that is committed)
        await edit(bot, thread, ts, "Second words")
        await delete(bot, thread, ts)
        text = await bot.thread_text(thread, "edited in Slack", "deleted in Slack")
        assert text.count("Memory does not let the bot change or delete a message it sent") == 2
        await bot.idle()
        assert channel.texts("visitor-1") == ["First words"]


async def test_a_queued_reply_edited_reaches_the_customer_as_edited(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    bot.telegram.set_down(True)
    ts = new_ts()
    await bot.staff_reply(thread, "Typo in this reply", ts=ts)
    await edit(bot, thread, ts, "No typo here")
    bot.telegram.set_down(False)
    await bot.telegram.wait_for(lambda: customer_sees(bot) == ["No typo here"], timeout=10)
    assert notices(bot, thread, "edited in Slack") == []


async def test_notes_never_leak_by_an_edit(bot: Bot) -> None:
    thread, reply_ts = await replied(bot, "Your refund is on its way")
    note_ts = new_ts()
    await bot.staff_reply(thread, "note: she called twice", ts=note_ts)
    await bot.idle()

    await edit(bot, thread, note_ts, "she called twice")  # reads like a reply now: still not sent
    await edit(bot, thread, note_ts, "she called three times")
    told = await bot.thread_text(thread, "edited to read like a reply")
    assert "an edit never sends a note to the customer" in told and "post it as a new reply" in told
    assert len(notices(bot, thread, "edited to read like a reply")) == 1

    await edit(bot, thread, reply_ts, "note: wrong customer!")  # a reply turned note: taken back
    await bot.thread_text(thread, "edited into a note: it was deleted from the customer's chat too")
    await edit(bot, thread, reply_ts, "Your refund is on its way")  # and back: an edit never sends it again
    await bot.thread_text(thread, "edited to read like a reply")
    await bot.idle()
    assert customer_sees(bot) == [] and len(bot.telegram.sent(CHAT)) == 1
    assert [row[2] for row in await versions(bot, thread, reply_ts)] == ["outbound", "note", "outbound"]


async def test_a_queued_reply_turned_note_or_deleted_is_never_sent(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    bot.telegram.delay("sendMessage", 3)  # the first reply takes a while (within the timeout): the rest wait
    to_note, to_delete = new_ts(), new_ts()
    await bot.staff_reply(thread, "the real answer")
    await bot.staff_reply(thread, "internal: do not send", ts=to_note)
    await bot.staff_reply(thread, "wrong chat", ts=to_delete, user=STAFF2)
    await edit(bot, thread, to_note, "private: do not send")
    await delete(bot, thread, to_delete)
    await bot.thread_text(thread, "edited into a note before it was sent", "deleted before it was sent")
    await bot.idle()
    assert customer_sees(bot) == ["the real answer"] and bot.telegram.deleted == []  # never sent, so none deleted


async def test_a_reply_deleted_while_it_is_being_sent_is_deleted_once_it_lands(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    bot.telegram.delay("sendMessage", 1.5)  # the send is under way when the deletion comes
    ts = new_ts()
    await bot.staff_reply(thread, "sent to the wrong customer", ts=ts)

    async def sending() -> bool:
        async with bot.rt.db.reading() as tx:
            found = await tx.conn.execute(
                select(outbox.c.id).where(outbox.c.kind == "send_to_customer", outbox.c.status == "sending")
            )
            return found.first() is not None

    await wait_until(sending, what="the reply being sent")
    await delete(bot, thread, ts)
    # Either the send had not begun (it is then not sent) or its request was on its way (it is deleted once it
    # lands): whichever it was, the customer ends without it and the thread says which.
    told = await bot.thread_text(thread, "This reply was deleted")
    assert "before it was sent" in told or "from the customer's chat too" in told
    await bot.idle()
    assert customer_sees(bot) == [] and len(bot.telegram.deleted) == len(bot.telegram.sent(CHAT))
