"""What customers send beyond text, where they came from, and who they are, end to end: updates pushed as the Bot
API sends them, through the running bot, into the Slack thread, the archive and ``/customer``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from itertools import count
from typing import Any

from sqlalchemy import func, select

from bot.cli.admin import archive_records, reading_engine
from bot.domain.models import InboundMessage, Sender
from bot.slack.blocks import CLAIM, CLOSE
from bot.store.schema import identities, messages, origins
from bot.usecases.crm import Customers
from tests.conftest import Bot, all_text, wait_until
from tests.customer_helpers import customer_of, shown

CHAT = 4242
MIN = {"id": CHAT, "is_bot": False, "first_name": "Min", "last_name": "Kim", "username": "minkim"}
_message_ids = count(100)


def update(user: dict[str, Any], **content: Any) -> dict[str, Any]:
    """A private-chat message update as Telegram sends it: the sender, their chat, a date, and the content."""
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    chat.update({k: user[k] for k in ("last_name", "username") if k in user})
    message = {"message_id": next(_message_ids), "from": user, "chat": chat, "date": int(time.time()), **content}
    return {"message": message}


def command(user: dict[str, Any], text: str) -> dict[str, Any]:
    """A command message: Telegram marks the command itself with a bot_command entity."""
    entity = {"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}
    return update(user, text=text, entities=[entity])


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


async def _origins(bot: Bot) -> list[Any]:
    async with bot.rt.db.reading() as tx:
        return list((await tx.conn.execute(select(origins).order_by(origins.c.id))).all())


async def test_a_start_payload_is_archived_and_shown_on_the_next_conversation_as_where_the_customer_came_from(
    bot: Bot,
) -> None:
    start = bot.telegram.push_raw(command(MIN, "/start ref_spring"))
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent(CHAT)) == 1, timeout=5)
    greeting = bot.rt.intake.receiving.texts().greeting  # Telegram reports no language: the team's default
    assert bot.telegram.sent_texts(CHAT) == [greeting]  # the greeting, as before
    await bot.idle()
    assert bot.slack.calls_to("chat.postMessage") == []  # and still no conversation
    (kept,) = await _origins(bot)
    assert (kept.origin, kept.conversation_id) == ("ref_spring", None) and kept.created_at.tzinfo is not None

    bot.telegram.push_duplicate(start)  # Telegram delivers it again: kept once (updates are taken in order)
    bot.telegram.push_raw(update(MIN, text="Hi, I saw your spring sale"))
    thread = await bot.thread_for(CHAT)
    assert "Came from: ref_spring" in header(bot, thread).replace("*", "")
    assert bot.telegram.delivered_update_ids.count(start) == 2
    conversation_id = await bot.conversation_id_for(CHAT)
    (kept,) = await _origins(bot)
    assert kept.conversation_id == conversation_id

    await bot.click(CLAIM, conversation_id)  # the first message is redrawn: the origin stays on it
    await bot.idle()
    assert "Held by:* <@" in header(bot, thread) and "Came from:* ref_spring" in header(bot, thread)

    await bot.click(CLOSE, conversation_id)
    await bot.idle()
    bot.telegram.push_raw(update(MIN, text="another question, weeks later"))
    await wait_until(lambda: len(bot.slack.channel_messages(thread[0])) >= 2, what="the next conversation's thread")
    later = await bot.thread_for(CHAT)
    assert later != thread and "Came from" not in header(bot, later)  # it belonged to the conversation it opened


async def test_origins_are_exported_with_their_customer_and_erased_with_them(bot: Bot, database_url: str) -> None:
    bot.telegram.push_raw(command(MIN, "/start ref_4242"))
    bot.telegram.push_raw(update(MIN, text="hello"))
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    customer = await customer_of(bot, CHAT)
    assert "ref_4242" in header(bot, thread)
    reader = reading_engine(database_url)
    try:
        exported = [r async for kind, r in archive_records(reader, customer=customer) if kind == "origin"]
        assert [r["origin"] for r in exported] == ["ref_4242"]
        assert [r async for kind, r in archive_records(reader, customer=customer + 1) if kind == "origin"] == []

        await Customers(bot.rt.db, bot.rt.config.bot).erase(customer, "cli:test")
        (erased,) = [r async for kind, r in archive_records(reader) if kind == "origin"]
    finally:
        await reader.dispose()
    assert erased["origin"] == "" and str(CHAT) not in erased["source_key"]  # the row and its time stay
    assert erased["created_at"] == exported[0]["created_at"]
    await wait_until(lambda: "ref_4242" not in header(bot, thread), what="the first message without the origin")


async def test_a_plain_start_changes_nothing_and_a_payload_is_untrusted_text(bot: Bot) -> None:
    bot.telegram.push_raw(command(MIN, "/start"))
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent(CHAT)) == 1, timeout=5)
    await bot.idle()
    async with bot.rt.db.reading() as tx:
        assert (await tx.conn.execute(select(func.count()).select_from(identities))).scalar_one() == 0
    assert await _origins(bot) == []

    evil = {"id": 5151, "is_bot": False, "first_name": "Ana", "username": "ana_b"}
    bot.telegram.push_raw(command(evil, "/start <!channel>\n<https://evil.example|bank> " + "x" * 500))
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent(5151)) == 1, timeout=5)
    bot.telegram.push_raw(update(evil, text="hello"))
    thread = await bot.thread_for(5151)
    shown_header = header(bot, thread)
    assert "&lt;!channel&gt; &lt;https://evil.example|bank&gt; xxx" in shown_header
    assert "<!channel>" not in shown_header and "<https://evil" not in shown_header
    (kept,) = await _origins(bot)
    assert len(kept.origin) == 256 and "\n" not in kept.origin  # one line, cut to a bounded length


async def test_a_channel_that_reports_the_origin_with_the_first_message_shows_it_on_that_conversation(
    bot: Bot,
) -> None:
    """The website widget will report the page a visitor came from with their first message; any channel may."""
    message = InboundMessage(
        channel="web",
        address="visitor-1",
        sender=Sender(external_id="visitor-1", display_name="Visitor"),
        text="Is this in stock?",
        source_key="web:visitor-1:1",
        sent_at=datetime.now(UTC),
        external_message_id="1",
        origin="https://shop.example/spring?utm=<!here>",
    )
    receipt = await bot.rt.intake.receive(message)
    assert receipt.opened and receipt.conversation_id is not None
    await bot.idle()
    conversation = await bot.rt.service.conversation(receipt.conversation_id)
    assert conversation is not None and conversation.thread_ts is not None
    assert "Came from:* https://shop.example/spring?utm=&lt;!here&gt;" in header(
        bot, (conversation.slack_channel, conversation.thread_ts)
    )
