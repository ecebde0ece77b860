"""Emoji on a thread's first message act: :eyes: claims, :white_check_mark: closes (configurable), only for staff,
only on the first message, once however often Slack delivers the event."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.customer_schema import audit_log
from tests.conftest import BOT_YAML, OUTSIDER, STAFF, STAFF2, Bot, BotFactory
from tests.fakes.slack_requests import message_event, new_ts, reaction_added_event

CHAT = 4242


async def react(bot: Bot, thread: tuple[str, str], reaction: str, *, user: str = STAFF, ts: str | None = None) -> None:
    response = await bot.slack_event(reaction_added_event(thread[0], ts or thread[1], reaction, user=user))
    assert response.status == 200


async def test_eyes_claim_and_a_check_mark_closes(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hello")
    thread = await bot.thread_for(CHAT)
    conversation_id = await bot.conversation_id_for(CHAT)
    await react(bot, thread, "eyes", user=OUTSIDER)  # not staff: nothing happens, the attempt is recorded
    await react(bot, thread, "thumbsup")  # not one that acts
    reply_ts = new_ts()
    await bot.slack_event(message_event(thread[0], STAFF2, "note: looking", thread_ts=thread[1], ts=reply_ts))
    await react(bot, thread, "eyes", ts=reply_ts)  # on a reply, not the first message
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and conversation.holder is None

    await react(bot, thread, "eyes")
    await react(bot, thread, "eyes::skin-tone-3", user=STAFF2)  # someone else: told who holds it
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and conversation.holder == STAFF
    await bot.slack.wait_for(lambda: bool(bot.slack.ephemerals), timeout=5)
    told = bot.slack.ephemerals[-1]
    assert told["user"] == STAFF2 and f"<@{STAFF}> already holds" in told["text"]

    await react(bot, thread, "white_check_mark")
    await react(bot, thread, "white_check_mark")
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and conversation.status == "closed"
    async with bot.rt.db.reading() as tx:
        kinds = [e.kind for e in await tx.archive.events_of(conversation_id)]
        refused = (await tx.conn.execute(select(audit_log.c.actor, audit_log.c.action))).all()
    assert kinds.count("closed") == 1 and kinds.count("claimed") == 1
    assert [tuple(r) for r in refused] == [(OUTSIDER, "refused")]


async def test_the_team_chooses_the_emoji(bot_factory: BotFactory) -> None:
    yaml = {**BOT_YAML, "reactions": {"claim": "raising_hand", "close": False}}
    async with bot_factory(bot_yaml=yaml) as bot:
        bot.telegram.push_text(CHAT, "hello")
        thread = await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        await react(bot, thread, "eyes")
        await react(bot, thread, "white_check_mark")
        before = await bot.rt.service.conversation(conversation_id)
        assert before is not None and (before.holder, before.status) == (None, "open")
        await react(bot, thread, "raising_hand")
        after = await bot.rt.service.conversation(conversation_id)
        assert after is not None and after.holder == STAFF
