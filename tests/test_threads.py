"""Threads that resurface: a customer writing into a thread quiet for longer than the configured time mentions its
holder there (and may show in the channel); a short thanks after Close is archived into the closed thread instead of
opening a new inquiry. Time is a clock the tests move."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.behaviour import DEFAULT_THANKS
from bot.domain.thanks import is_thanks
from bot.slack.blocks import CLAIM, CLOSE
from tests.clock import Clock
from tests.conftest import BILLING, BOT_YAML, INBOX, STAFF, Bot, BotFactory, all_text

CHAT = 4242




def yaml(**sections: Any) -> dict[str, Any]:
    return {**BOT_YAML, **sections}


def posts_with(bot: Bot, thread: tuple[str, str], words: str) -> list[dict[str, Any]]:
    return [m for m in bot.slack.thread(*thread) if words in all_text(m)]


async def test_a_message_into_a_quiet_thread_mentions_its_holder(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(clock=clock) as bot:
        bot.telegram.push_text(CHAT, "is my order shipped?")
        thread = await bot.thread_for(CHAT)
        await bot.click(CLAIM, await bot.conversation_id_for(CHAT))
        clock.advance(minutes=30)
        bot.telegram.push_text(CHAT, "still here")  # half an hour: not quiet yet
        await bot.thread_text(thread, "still here")
        clock.advance(minutes=61)
        bot.telegram.push_text(CHAT, "hello again?")
        await bot.thread_text(thread, "hello again?")
        await bot.idle()
        (post,) = posts_with(bot, thread, "hello again?")
        assert f"<@{STAFF}> The customer wrote again after 1 h 1 min of quiet." in all_text(post)
        assert f"<@{STAFF}>" in post["text"]  # in the notification too: the holder is pinged
        assert not post.get("reply_broadcast")
        assert "wrote again" not in all_text(posts_with(bot, thread, "still here")[0])

        clock.advance(minutes=59)
        await bot.staff_reply(thread, "Yes, it ships today")  # the staff reply counts as activity
        clock.advance(minutes=59)
        bot.telegram.push_text(CHAT, "great, thanks for the update")
        await bot.thread_text(thread, "great, thanks for the update")
        assert "wrote again" not in all_text(posts_with(bot, thread, "great, thanks")[0])


async def test_unheld_it_mentions_the_owners_and_may_show_in_the_channel(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(clock=clock, bot_yaml=yaml(resurface={"after_minutes": 10, "broadcast": True})) as bot:
        bot.telegram.push_text(CHAT, "a refund question")
        thread = await bot.thread_for(CHAT)
        assert thread[0] == BILLING
        clock.advance(minutes=11)
        bot.telegram.push_text(CHAT, "anyone?")
        await bot.thread_text(thread, "anyone?")
        await bot.idle()
        (post,) = posts_with(bot, thread, "anyone?")
        assert "<@U0BIZ> <!subteam^S0BILLING> The customer wrote again after 11 min of quiet." in all_text(post)
        assert post["reply_broadcast"] is True and post["thread_ts"] == thread[1]


async def test_a_team_may_turn_resurfacing_off(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(clock=clock, bot_yaml=yaml(resurface={"after_minutes": False})) as bot:
        bot.telegram.push_text(CHAT, "hi")
        thread = await bot.thread_for(CHAT)
        clock.advance(days=3)
        bot.telegram.push_text(CHAT, "three days later")
        await bot.thread_text(thread, "three days later")
        assert "wrote again" not in all_text(posts_with(bot, thread, "three days later")[0])


async def test_a_short_thanks_after_close_is_archived_in_the_closed_thread(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(clock=clock) as bot:
        bot.telegram.push_text(CHAT, "where is my parcel?")
        thread = await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        await bot.staff_reply(thread, "It arrives tomorrow")
        await bot.click(CLOSE, conversation_id)
        await bot.idle()
        clock.advance(hours=2)
        bot.telegram.push_text(CHAT, "감사합니다!!")
        bot.telegram.push_sticker(CHAT, b"RIFF....WEBPVP8 thumbs", emoji="👍")
        bot.telegram.push_text(CHAT, "Thank you 🙏")
        await bot.thread_text(thread, "감사합니다!!", "Thank you 🙏")
        await bot.idle()
        assert await bot.rt.service.open_inquiries() == []  # nothing reopened, no new thread
        assert len([m for m in bot.slack.channel_messages(INBOX) if not m.get("thread_ts")]) == 1
        assert len(bot.slack.uploads) == 1 and bot.slack.uploads[0]["thread_ts"] == thread[1]
        async with bot.rt.db.reading() as tx:
            kept = [m.conversation_id for m in await tx.archive.message_rows(list(range(1, 20)))]
        assert set(kept) == {conversation_id}

        bot.telegram.push_text(CHAT, "thanks, and one more question")  # more than a thanks: a new inquiry
        new_thread = await bot.thread_for(CHAT)
        assert new_thread != thread


async def test_a_thanks_long_after_close_opens_a_new_inquiry(bot_factory: BotFactory) -> None:
    clock = Clock()
    async with bot_factory(clock=clock, bot_yaml=yaml(after_close={"within_minutes": 60, "thanks": ["ㄳ"]})) as bot:
        bot.telegram.push_text(CHAT, "hi")
        thread = await bot.thread_for(CHAT)
        await bot.click(CLOSE, await bot.conversation_id_for(CHAT))
        await bot.idle()
        clock.advance(minutes=30)
        bot.telegram.push_text(CHAT, "thanks")  # not in this team's list
        assert await bot.thread_for(CHAT) != thread
        await bot.click(CLOSE, await bot.conversation_id_for(CHAT))
        await bot.idle()
        clock.advance(minutes=61)
        bot.telegram.push_text(CHAT, "ㄳ")  # in the list, but an hour after Close
        third = await bot.thread_for(CHAT)
        assert third != thread


@pytest.mark.parametrize(
    ("text", "sticker", "expected"),
    [("감사합니다~", None, True), ("Thanks :)", None, True), ("THANK YOU!!!", None, True), ("👍🏻", None, True),
     ("", "👍", True), ("", "😡", False), ("thanks for the quick answer", None, False),
     ("감사합니다 그런데요", None, False), ("고맙습니다 👍", None, True), ("", None, False), ("ok", None, False),
     ("thanks " * 700, None, False)],  # a long message is more than a thanks (and is told at once)
)  # fmt: skip
def test_a_thanks_is_only_thanks(text: str, sticker: str | None, expected: bool) -> None:
    assert is_thanks(text, sticker, DEFAULT_THANKS) is expected
