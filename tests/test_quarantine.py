"""One bad update never stops every other customer: it is kept whole as a dead letter, the team is told once, and
everything after it goes on, in order, on both databases."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from bot.store.schema import dead_letters
from tests.conftest import INBOX, Bot, BotFactory, all_text, wait_until
from tests.test_delivery import occurrences

CHAT = 5150
HOOK = "https://bot.example.test/telegram/webhook"
SECRET = "quarantine-s3cret"


def old_server_poll(chat: int) -> dict[str, Any]:
    """A poll as an older (or local) Bot API server sends it: options without ``persistent_id``, which
    python-telegram-bot 22.8 requires, so parsing the update raises TypeError."""
    return {
        "message": {
            "message_id": 77,
            "date": 1767225600,
            "chat": {"id": chat, "type": "private", "first_name": "Min", "last_name": "Kim", "username": "minkim"},
            "from": {"id": chat, "is_bot": False, "first_name": "Min", "last_name": "Kim", "username": "minkim"},
            "poll": {
                "id": "5123",
                "question": "Which size?",
                "options": [{"text": "S", "voter_count": 0}, {"text": "M", "voter_count": 0}],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            },
        }
    }


async def kept(bot: Bot) -> list[Any]:
    async with bot.rt.db.reading() as tx:
        return list((await tx.conn.execute(select(dead_letters).order_by(dead_letters.c.id))).all())


def alerts(bot: Bot) -> list[str]:
    return [all_text(m) for m in bot.slack.channel_messages(INBOX) if "dead letter" in all_text(m)]


async def archived_texts(bot: Bot) -> list[str]:
    async with bot.rt.db.reading() as tx:
        return list((await tx.conn.execute(text("SELECT text FROM messages ORDER BY id"))).scalars().all())


async def test_an_update_the_library_cannot_parse_is_kept_and_the_others_go_on_in_order(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "before the poll")
    poll_id = bot.telegram.push_raw(old_server_poll(CHAT))
    last_id = bot.telegram.push_text(CHAT, "after the poll")
    thread = await bot.thread_for(CHAT)
    texts = await bot.thread_text(thread, "before the poll", "after the poll")
    assert texts.index("before the poll") < texts.index("after the poll")
    await wait_until(lambda: (bot.telegram.confirmed_offset or 0) > last_id, what="the offset past every update")

    [letter] = await kept(bot)
    assert letter.channel == "telegram" and letter.key == f"telegram:update:{poll_id}"
    assert json.loads(letter.raw) == bot.telegram.update(poll_id)  # the update exactly as Telegram sent it
    assert "persistent_id" in letter.error and letter.address == str(CHAT) and "minkim" in (letter.who or "")
    await wait_until(lambda: len(alerts(bot)) == 1, what="the team told in the inbox channel")
    [alert] = alerts(bot)
    assert f"dead letter #{letter.id}" in alert and str(CHAT) in alert and "Telegram" in alert

    bot.telegram.push_text(CHAT, "and later")  # the poller did not stop at it
    await bot.thread_text(thread, "and later")
    assert len(await kept(bot)) == 1 and len(alerts(bot)) == 1


async def test_the_same_bad_update_delivered_again_is_kept_once_and_told_once(bot_factory: BotFactory) -> None:
    async with bot_factory(TELEGRAM_WEBHOOK_URL=HOOK, TELEGRAM_WEBHOOK_SECRET=SECRET) as bot:
        bot.telegram.forward_webhooks_to(bot.rt.url)
        poll_id = bot.telegram.push_raw(old_server_poll(CHAT))
        assert await bot.telegram.deliver_webhook(poll_id) == 200  # stored as a dead letter: nothing to retry
        assert await bot.telegram.deliver_webhook(poll_id) == 200
        [letter] = await kept(bot)
        assert letter.key == f"telegram:update:{poll_id}"
        await bot.idle()
        assert len(alerts(bot)) == 1


async def test_a_customer_text_with_nul_is_stored_the_same_way_on_every_database(bot: Bot) -> None:
    """PostgreSQL refuses NUL in text and SQLite takes it: cleaned before storing, it reads the same on both."""
    bot.telegram.push_text(CHAT, "a\x00b and a lone \ud800 surrogate")
    thread = await bot.thread_for(CHAT)
    await bot.thread_text(thread, "ab and a lone \ufffd surrogate")
    assert await archived_texts(bot) == ["ab and a lone \ufffd surrogate"]
    assert await kept(bot) == []


async def test_a_message_the_database_refuses_for_what_it_is_is_quarantined_not_retried(bot: Bot) -> None:
    receiving = bot.rt.intake.receiving
    real = receiving.message

    async def refuses_one(tx: Any, message: Any, known: Any) -> Any:
        if message.text == "poison":
            raise ValueError("a value this archive cannot hold")
        return await real(tx, message, known)

    receiving.message = refuses_one  # type: ignore[method-assign]
    bot.telegram.push_text(CHAT, "m-1")
    poison = bot.telegram.push_text(CHAT, "poison")
    last = bot.telegram.push_text(CHAT, "m-2")
    thread = await bot.thread_for(CHAT)
    assert occurrences(await bot.thread_text(thread, "m-2"), "m") == [1, 2]
    await wait_until(lambda: (bot.telegram.confirmed_offset or 0) > last, what="the offset past the poison")
    [letter] = await kept(bot)
    assert "ValueError: a value this archive cannot hold" in letter.error
    assert json.loads(letter.raw) == bot.telegram.update(poison)
    assert "poison" not in await archived_texts(bot)


async def test_webhook_answers_only_once_stored_and_5xx_while_the_database_cannot_take_it(
    bot_factory: BotFactory,
) -> None:
    async with bot_factory(TELEGRAM_WEBHOOK_URL=HOOK, TELEGRAM_WEBHOOK_SECRET=SECRET) as bot:
        bot.telegram.forward_webhooks_to(bot.rt.url)
        receiving = bot.rt.intake.receiving
        real = receiving.message
        down = [True]

        async def database_down(tx: Any, message: Any, known: Any) -> Any:
            if down[0]:
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            return await real(tx, message, known)

        receiving.message = database_down  # type: ignore[method-assign]
        update = bot.telegram.push_text(CHAT, "while the database is down")
        assert await bot.telegram.deliver_webhook(update) == 503  # Telegram sends it again
        assert await kept(bot) == []  # a database failure is no reason to quarantine
        down[0] = False
        assert await bot.telegram.deliver_webhook(update) == 200
        assert await archived_texts(bot) == ["while the database is down"]

        local = f"{bot.rt.url}/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for body in (b"[]", b"{}", b'{"update_id": "7"}', b"not json", b"\xff\xfe"):
            async with bot.http.post(local, data=body, headers=headers) as response:
                assert response.status == 400, body
        assert await kept(bot) == []
