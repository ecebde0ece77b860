"""Each customer's language: chosen from what their channel reports (Telegram's language_code), others falling back
to the team's default; staff change it from the thread's first message; every later text and the category buttons
follow it."""

from __future__ import annotations

from typing import Any

from bot.domain.i18n import customer_texts
from bot.slack.header_controls import LANGUAGE_SELECT
from tests.conftest import SIGNING_SECRET, STAFF, Bot, BotFactory
from tests.fakes.slack_requests import post_signed, select_action_body

YAML: dict[str, Any] = {
    "language": "en",
    "ask_category": True,
    "slack": {"inbox_channel": "C0INBOX"},
    "replies": {"author": "none"},
    "categories": {
        "billing": {"label": {"ko": "결제/환불", "en": "Billing"}, "owners": ["U0BIZ"]},
        "bugs": {"label": {"ko": "버그 신고", "en": "Bug report"}, "owners": ["U0DEV"]},
    },
}


def user(chat: int, language: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": chat, "is_bot": False, "first_name": f"Customer {chat}"}
    if language:
        found["language_code"] = language
    return found


async def prompt(bot: Bot, chat: int) -> tuple[str, list[str], int]:
    """The acknowledgement's category prompt a customer got: its words, the buttons' labels, its message id."""
    await bot.telegram.wait_for(lambda: bool(bot.telegram.buttons(chat)), timeout=10)
    message_id, rows = bot.telegram.buttons(chat)[0]
    sent = next(m for m in bot.telegram.sent(chat) if m["message_id"] == message_id)
    return sent["visible_text"], [row[0]["text"] for row in rows], message_id


async def test_each_customer_reads_the_language_their_telegram_speaks(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        for chat, language in ((101, "ko"), (102, "en-GB"), (103, "fr"), (104, None)):
            bot.telegram.push_text(chat, "hello", user=user(chat, language))
        ko, en = customer_texts("ko"), customer_texts("en")
        words, labels, _ = await prompt(bot, 101)
        assert (words, labels) == (ko.choose_category, ["결제/환불", "버그 신고"])
        for chat in (102, 103, 104):  # English, and French and unknown fall back to the team's default (English)
            words, labels, _ = await prompt(bot, chat)
            assert (words, labels) == (en.choose_category, ["Billing", "Bug report"]), chat
        assert bot.telegram.sent_texts(101)[0] == ko.auto_reply and bot.telegram.sent_texts(102)[0] == en.auto_reply


async def test_staff_change_a_customer_s_language_from_the_first_message(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        chat = 201
        bot.telegram.push_text(chat, "안녕하세요", user=user(chat, "ko"))
        thread = await bot.thread_for(chat)
        _, labels, message_id = await prompt(bot, chat)
        assert labels == ["결제/환불", "버그 신고"]
        await bot.idle()
        assert language_menu(bot, thread)["initial_option"]["value"] == "ko"

        conversation_id = await bot.conversation_id_for(chat)
        body = select_action_body(
            LANGUAGE_SELECT, f"controls:{conversation_id}", option=("Customer reads English", "en"), user=STAFF
        )
        response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET)
        assert response.status == 200
        await response.read()
        await bot.idle()
        assert language_menu(bot, thread)["initial_option"]["value"] == "en"

        button = bot.telegram.buttons(chat)[0][1][0][0]["callback_data"]
        bot.telegram.push_callback(chat, message_id, button, user=user(chat, "ko"))
        await bot.telegram.wait_for(lambda: bool(bot.telegram.callback_answers), timeout=10)
        assert bot.telegram.callback_answers[0]["text"] == customer_texts("en").category_chosen
        bot.telegram.push_text(chat, "/start", user=user(chat, "ko"))  # their Telegram still says Korean
        await bot.telegram.wait_for(lambda: customer_texts("en").greeting in bot.telegram.sent_texts(chat), timeout=10)
        async with bot.rt.db.reading() as tx:
            chosen = [e.detail for e in await tx.archive.events_of(conversation_id) if e.kind == "language_set"]
        assert chosen == [{"language": "en", "previous": "ko"}]


def language_menu(bot: Bot, thread: tuple[str, str]) -> dict[str, Any]:
    message = bot.slack.message(*thread) or {}
    return next(
        element
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == LANGUAGE_SELECT
    )
