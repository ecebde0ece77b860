"""The customer sees who answers: the staff member's name before the reply by default, a signature line in the
customer's language when the team chooses it, or nothing; a channel that shows authors natively shows the name its
own way, and its text stays the reply's own."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.i18n import SIGNATURES
from bot.slack.names import SlackNames
from tests.conftest import BOT_TOKEN, BOT_YAML, STAFF, BotFactory, wait_until
from tests.fakes.memory_channel import MemoryConnector, MemorySettings
from tests.fakes.slack import FakeSlack

CHAT = 4242
ENGLISH_CHAT = 4343


def yaml(**replies: Any) -> dict[str, Any]:
    data = {k: v for k, v in BOT_YAML.items() if k != "replies"}
    return {**data, "replies": replies} if replies else data


def english(chat: int) -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": "Ann", "username": "ann", "language_code": "en-US"}


async def test_by_default_the_name_comes_first_and_a_native_channel_shows_it_beside(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=yaml(), channels={"memory": MemorySettings()}) as bot:
        bot.telegram.push_text(CHAT, "언제 도착하나요?")
        thread = await bot.thread_for(CHAT)
        await bot.staff_reply(thread, "내일 *도착* 예정입니다", user=STAFF)
        await bot.telegram.wait_for(lambda: bool(bot.telegram.sent(CHAT)), timeout=10)
        sent = bot.telegram.sent(CHAT)[0]
        assert sent["visible_text"] == "Jiwoo: 내일 도착 예정입니다"  # the display name from users.info
        assert sent["text"] == "Jiwoo: 내일 <b>도착</b> 예정입니다" and sent["parse_mode"] == "HTML"

        channel = bot.rt.connectors["memory"]
        assert isinstance(channel, MemoryConnector)
        await channel.says("visitor-1", "hello")
        widget_thread = await bot.thread_for_address("memory", "visitor-1")
        await bot.staff_reply(widget_thread, "Hello from the team", user=STAFF)
        await wait_until(lambda: bool(channel.texts("visitor-1")), what="the reply on the native channel")
        reply = channel.delivered[-1]
        assert (reply.body, reply.author) == ("Hello from the team", "Jiwoo")


async def test_a_signature_line_in_each_customer_s_language(bot_factory: BotFactory) -> None:
    custom = {"ko": "— {name}, 스텔라랩 고객지원"}
    async with bot_factory(bot_yaml=yaml(author="signature", signature=custom)) as bot:
        bot.telegram.push_text(CHAT, "안녕하세요")
        bot.telegram.push_text(ENGLISH_CHAT, "hello", user=english(ENGLISH_CHAT))
        korean, other = await bot.thread_for(CHAT), await bot.thread_for(ENGLISH_CHAT)
        await bot.staff_reply(korean, "내일 도착 예정입니다")
        await bot.staff_reply(other, "It arrives tomorrow")
        await bot.idle()
        assert bot.telegram.sent_texts(CHAT) == ["내일 도착 예정입니다\n\n— Jiwoo, 스텔라랩 고객지원"]
        english_line = SIGNATURES["en"].format(name="Jiwoo")  # "— Jiwoo": the default English signature
        assert bot.telegram.sent_texts(ENGLISH_CHAT) == [f"It arrives tomorrow\n\n{english_line}"]


async def test_nothing_when_the_team_says_none(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=yaml(author="none"), channels={"memory": MemorySettings()}) as bot:
        channel = bot.rt.connectors["memory"]
        assert isinstance(channel, MemoryConnector)
        await channel.says("visitor-2", "hello")
        thread = await bot.thread_for_address("memory", "visitor-2")
        await bot.staff_reply(thread, "Just the words")
        await wait_until(lambda: bool(channel.texts("visitor-2")), what="the reply")
        assert (channel.delivered[-1].body, channel.delivered[-1].author) == ("Just the words", None)


async def test_a_name_slack_does_not_tell_is_left_out_never_shown_as_the_bare_id(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=yaml()) as bot:
        bot.telegram.push_text(CHAT, "hello")
        thread = await bot.thread_for(CHAT)
        bot.slack.fail("users.info", status=500, times=1)
        await bot.staff_reply(thread, "One moment please", user=STAFF)
        await bot.telegram.wait_for(lambda: len(bot.telegram.sent(CHAT)) == 1, timeout=10)
        assert bot.telegram.sent_texts(CHAT) == ["One moment please"]  # not "U0STAFF: One moment please"
        await bot.staff_reply(thread, "Found it", user=STAFF)  # Slack answers again: the name comes back
        await bot.telegram.wait_for(lambda: len(bot.telegram.sent(CHAT)) == 2, timeout=10)
        assert bot.telegram.sent_texts(CHAT)[-1] == "Jiwoo: Found it"


async def test_names_are_read_again_after_an_hour_so_a_renamed_staff_member_is_shown_by_the_new_name(
    slack: FakeSlack,
) -> None:
    now = [0.0]
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    names = SlackNames(client, clock=lambda: now[0])
    assert names.shown(STAFF) == ""  # never asked: no name a customer could read
    assert await names.name(STAFF) == "Jiwoo"
    slack.add_user(STAFF, name="jiwoo", profile={"display_name": "Jiwoo Kim"})
    now[0] = 3599.0
    assert await names.name(STAFF) == "Jiwoo"  # within the hour: the cache answers
    now[0] = 3601.0
    assert await names.name(STAFF) == "Jiwoo Kim"
    slack.fail("users.info", status=500, times=1)
    now[0] = 7300.0
    assert await names.name(STAFF) == "Jiwoo Kim"  # Slack failing: the name it last told, not the id
