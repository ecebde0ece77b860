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
