"""What customers send beyond text, where they came from, and who they are, end to end: updates pushed as the Bot
API sends them, through the running bot, into the Slack thread, the archive and ``/customer``."""

from __future__ import annotations

import time
from itertools import count
from typing import Any

from sqlalchemy import select

from bot.store.schema import identities, messages
from tests.conftest import Bot, all_text
from tests.customer_helpers import shown

CHAT = 4242
MIN = {"id": CHAT, "is_bot": False, "first_name": "Min", "last_name": "Kim", "username": "minkim"}
_message_ids = count(100)


def update(user: dict[str, Any], **content: Any) -> dict[str, Any]:
    """A private-chat message update as Telegram sends it: the sender, their chat, a date, and the content."""
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    chat.update({k: user[k] for k in ("last_name", "username") if k in user})
    message = {"message_id": next(_message_ids), "from": user, "chat": chat, "date": int(time.time()), **content}
    return {"message": message}


def header(bot: Bot, thread: tuple[str, str]) -> str:
    message = bot.slack.message(*thread)
    assert message is not None
    return all_text(message)


async def test_a_venue_shows_its_name_and_address_not_only_coordinates(bot: Bot) -> None:
    place = {"latitude": 37.565847, "longitude": 126.975069}
    venue = {
        "location": place,
        "title": "Deoksugung <!channel>",
        "address": "99 Sejong-daero, Jung-gu, Seoul",
        "foursquare_id": "4b5bc7eef964a520a91a29e3",
    }
    bot.telegram.push_raw(update(MIN, location=place, venue=venue))  # Telegram sends the location beside it
    thread = await bot.thread_for(CHAT)
    await bot.thread_text(
        thread, "[venue: Deoksugung &lt;!channel&gt;, 99 Sejong-daero, Jung-gu, Seoul (37.565847, 126.975069)]"
    )


def _option(index: int, text: str) -> dict[str, Any]:
    return {"persistent_id": str(index), "text": text, "voter_count": 0}


async def test_a_poll_shows_its_question_and_every_option(bot: Bot) -> None:
    poll = {
        "id": "5800000000000000001",
        "question": "Which size should I order?",
        "options": [_option(0, "S"), _option(1, "M"), _option(2, "L <@U0BIZ>")],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": True,
        "allows_revoting": True,
        "members_only": False,
    }
    bot.telegram.push_raw(update(MIN, poll=poll))
    thread = await bot.thread_for(CHAT)
    text = await bot.thread_text(thread, "[poll: Which size should I order?] (anonymous, multiple answers)")
    assert "• S\n• M\n• L &lt;@U0BIZ&gt;" in text

    quiz = {**poll, "id": "5800000000000000002", "question": "Where is the shop?", "type": "quiz"}
    quiz.update(is_anonymous=False, allows_multiple_answers=False, correct_option_ids=[1])
    quiz["options"] = [_option(0, "Busan"), _option(1, "Seoul")]
    bot.telegram.push_raw(update(MIN, poll=quiz))
    text = await bot.thread_text(thread, "[quiz: Where is the shop?]")
    assert "[quiz: Where is the shop?]\n• Busan\n✓ Seoul" in text  # the right answer is marked


async def test_a_forwarded_story_says_so_and_whose_it_was(bot: Bot) -> None:
    poster = {"id": 777001, "is_bot": False, "first_name": "Coffee", "last_name": "Lab", "username": "coffeelab"}
    story_chat = {"id": 777001, "type": "private", "first_name": "Coffee", "last_name": "Lab", "username": "coffeelab"}
    origin = {"type": "user", "sender_user": poster, "date": int(time.time()) - 600}
    bot.telegram.push_raw(update(MIN, forward_origin=origin, story={"chat": story_chat, "id": 12}))
    thread = await bot.thread_for(CHAT)
    await bot.thread_text(thread, "[forwarded a story from Coffee Lab (@coffeelab)]")

    channel = {"id": -1001234567890, "type": "channel"}  # the story's chat may carry no name: the origin does
    origin = {"type": "channel", "chat": {**channel, "title": "Daily Deals"}, "message_id": 0, "date": 1}
    bot.telegram.push_raw(update(MIN, forward_origin=origin, story={"chat": channel, "id": 3}))
    await bot.thread_text(thread, "[forwarded a story from Daily Deals]")


async def test_a_blank_or_invisible_name_shows_as_the_username_or_the_telegram_id(bot: Bot) -> None:
    filler = {"id": 6161, "is_bot": False, "first_name": "\u3164", "username": "hidden_min"}
    zero_width = {"id": 6262, "is_bot": False, "first_name": "\u200b\u200d", "last_name": "\u2060\ufeff"}
    bot.telegram.push_raw(update(filler, text="can you see me?"))
    bot.telegram.push_raw(update(zero_width, text="and me?"))
    first, second = await bot.thread_for(6161), await bot.thread_for(6262)
    assert "New inquiry from *@hidden_min* via Telegram" in header(bot, first)  # not "**", nor the name twice
    assert "New inquiry from *Telegram user 6262* via Telegram" in header(bot, second)
    await bot.idle()

    async with bot.rt.db.reading() as tx:
        authors = set((await tx.conn.execute(select(messages.c.author_name))).scalars())
        names = set((await tx.conn.execute(select(identities.c.display_name))).scalars())
    assert authors == names == {"@hidden_min", "Telegram user 6262"}

    assert "*@hidden_min* · customer #" in shown(await bot.command("/customer", "@hidden_min"))
    assert "*Telegram user 6262* · customer #" in shown(await bot.command("/customer", "6262"))
