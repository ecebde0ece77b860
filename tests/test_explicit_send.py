"""Explicit-send mode, for teams afraid that a slip reaches the customer: only replies that start with the send
prefix, or that are sent with the "Send to customer" message shortcut, go out; everything else stays internal. The
default stays: every thread reply goes out, note:/private: stay internal (and the shortcut sends a note on purpose)."""

from __future__ import annotations

from typing import Any

from bot.handlers.send_shortcut import SEND_TO_CUSTOMER
from tests.conftest import BOT_YAML, OUTSIDER, SIGNING_SECRET, STAFF, Bot, BotFactory, wait_until
from tests.fakes.slack_requests import message_changed_event, message_shortcut_body, new_ts, post_signed

CHAT = 4242
EXPLICIT = {**BOT_YAML, "replies": {"author": "none", "send": "explicit", "send_prefix": "send:"}}


async def shortcut(bot: Bot, thread: tuple[str, str], message: dict[str, Any], *, user: str = STAFF) -> str:
    """Use "Send to customer" on ``message``; returns what the bot answered the user (ephemeral)."""
    before, answered = len(bot.slack.ephemerals), len(bot.slack.responses)
    body = message_shortcut_body(
        SEND_TO_CUSTOMER, message, user=user, channel=thread[0], response_url=bot.slack.response_url()
    )
    response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET)
    assert response.status == 200
    await response.read()
    if user == OUTSIDER:  # refused before the shortcut runs: told through the response_url
        await wait_until(lambda: len(bot.slack.responses) > answered, what="the refusal")
        return str(bot.slack.responses[-1]["body"]["text"])
    await wait_until(lambda: len(bot.slack.ephemerals) > before, what="the answer to the shortcut")
    return str(bot.slack.ephemerals[-1]["text"])


async def test_in_explicit_mode_only_prefixed_replies_go_out(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=EXPLICIT) as bot:
        bot.telegram.push_text(CHAT, "is the store open today?")
        thread = await bot.thread_for(CHAT)
        await bot.staff_reply(thread, "I think it is, let me check")  # a slip: stays in Slack
        await bot.staff_reply(thread, "note: ask the manager")
        await bot.staff_reply(thread, "SEND: Yes, *open* until 9 pm")
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT) == ["Yes, open until 9 pm"]
        async with bot.rt.db.reading() as tx:
            rows = await tx.archive.message_rows(list(range(1, 10)))
        assert [(r.direction, r.text) for r in rows if r.channel == "slack"] == [
            ("note", "I think it is, let me check"),
            ("note", "note: ask the manager"),
            ("outbound", "Yes, open until 9 pm"),  # archived as the customer reads it
        ]


async def test_the_shortcut_sends_an_internal_message_once(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=EXPLICIT) as bot:
        bot.telegram.push_text(CHAT, "when will it ship?")
        thread = await bot.thread_for(CHAT)
        ts = new_ts()
        await bot.staff_reply(thread, "It ships *tomorrow* morning", ts=ts)
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT) == []
        message = {"user": STAFF, "ts": ts, "thread_ts": thread[1], "text": "It ships *tomorrow* morning"}
        assert "only for the support team" in await shortcut(bot, thread, message, user=OUTSIDER)  # nothing sent
        assert await shortcut(bot, thread, message) == ":outbox_tray: Sent to the customer."
        await bot.telegram.wait_for(lambda: bot.telegram.sent_texts(CHAT) == ["It ships tomorrow morning"], timeout=10)
        assert await shortcut(bot, thread, message) == "This message already went to the customer."
        customer_post = bot.slack.thread(*thread)[0]
        bot_message = {"user": "UBOT", "bot_id": "BBOT", "ts": customer_post["ts"], "thread_ts": thread[1], "text": ""}
        assert "Only a team member's message" in await shortcut(bot, thread, bot_message)

        # once sent, it is a reply: an edit follows it to the customer, the same as any reply's
        edit = message_changed_event(thread[0], ts, "It ships tomorrow at 10", user=STAFF, thread_ts=thread[1])
        await bot.slack_event(edit)
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT) == ["It ships tomorrow at 10"]
        await bot.idle()
        async with bot.rt.db.reading() as tx:
            conversation_id = await bot.conversation_id_for(CHAT)
            kinds = [e.kind for e in await tx.archive.events_of(conversation_id)]
        assert kinds.count("note_sent") == 1


async def test_by_default_replies_go_out_and_the_shortcut_sends_a_note_without_its_prefix(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hello")
    thread = await bot.thread_for(CHAT)
    await bot.staff_reply(thread, "Hello! How can I help?")
    note_ts = new_ts()
    await bot.staff_reply(thread, "note: we are closed on Monday", ts=note_ts)
    await bot.idle()
    assert bot.telegram.sent_texts(CHAT) == ["Hello! How can I help?"]
    note = {"user": STAFF, "ts": note_ts, "thread_ts": thread[1], "text": "note: we are closed on Monday"}
    assert await shortcut(bot, thread, note) == ":outbox_tray: Sent to the customer."
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent_texts(CHAT)) == 2, timeout=10)
    assert bot.telegram.sent_texts(CHAT)[-1] == "we are closed on Monday"
    # a typo fixed in the note it was: the customer's copy follows, without the mark, and is not taken back
    edit = message_changed_event(
        thread[0], note_ts, "note: we are closed on Monday and Tuesday", user=STAFF, thread_ts=thread[1]
    )
    await bot.slack_event(edit)
    await bot.idle()
    assert bot.telegram.sent_texts(CHAT) == ["Hello! How can I help?", "we are closed on Monday and Tuesday"]
    assert not bot.telegram.deleted
    elsewhere = ("C0INBOX", "1600000000.000100")
    untracked = {"user": STAFF, "ts": new_ts(), "thread_ts": elsewhere[1], "text": "elsewhere"}
    assert "not a message of a customer conversation" in await shortcut(bot, elsewhere, untracked)
