"""Every optional feature switched on at once: categories with owners and the category question, business hours,
tags and their rules, surveys, saved replies, the App Home, reports with the digest, named replies sent explicitly
(``send:``), resurfacing, thanks after Close, reactions, and the website widget beside Telegram. One Korean customer's
conversation is walked through all of it, and the thread's first message is checked against Block Kit's limits (the
fake Slack refuses what Slack refuses) at every step, and once more for the longest content a header realistically
carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.slack import saved_reply_views as views
from bot.slack.blocks import CLOSE, REOPEN
from bot.slack.header_controls import LANGUAGE_SELECT, STATUS_SELECT
from bot.slack.toolkit_blocks import TAGS_SELECT
from bot.store.toolkit_schema import surveys
from tests.clock import Clock
from tests.conftest import BILLING, INBOX, SIGNING_SECRET, STAFF, STAFF2, Bot, BotFactory, all_text, wait_until
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_requests import (
    app_home_opened_event,
    message_changed_event,
    new_ts,
    post_signed,
    reaction_added_event,
    select_action_body,
    view_submission_body,
)
from tests.fakes.visitor import PAGE_ORIGIN
from tests.website_helpers import WEBSITE_ENV, signed_user, visitor

CHAT = 9090
DIGEST = "C0DIGEST"
TAGS = ["billing", "shipping", "bug", "vip", "refund-delay", "card-error", "invoice", "korea", "urgent", "repeat"]
QUESTION_KO = "상담은 만족스러우셨나요?\n1점(아쉬워요)부터 5점(아주 좋아요)까지 골라 주세요."

EVERYTHING: dict[str, Any] = {
    "language": "en",
    "default_category": "general",
    "ask_category": True,
    "slack": {"inbox_channel": INBOX},
    "texts": {"auto_reply": False},
    "replies": {"author": "name", "send": "explicit", "send_prefix": "send:"},
    "resurface": {"after_minutes": 60},
    "after_close": {"thanks": ["감사합니다", "thanks"], "within_minutes": 1440},
    "surveys": {"enabled": True, "delay_minutes": 30, "low_rating": 2, "comment_minutes": 60},
    "tags": {"list": TAGS, "rules": [{"tag": "billing", "keywords": ["환불", "refund"]}]},
    "reactions": {"claim": "eyes", "close": "white_check_mark"},
    "saved_replies": [
        {
            "title": "환불 안내",
            "body_ko": "{customer_name}님, 환불은 3일 안에 처리됩니다. 담당 {staff_name}",
            "body_en": "Hi {customer_name}, refunds take 3 days.",
            "tags": ["billing"],
        },
    ],
    "app_home": {"refresh_seconds": 3600},
    "reports": {"timezone": "Asia/Seoul", "digest": {"channel": DIGEST, "day": "monday", "time": "09:00"}},
    "business_hours": {"default": {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}}},
    "categories": {
        "billing": {
            "label": {"ko": "결제/환불", "en": "Billing"},
            "owners": ["U0BIZ", "S0BILLING"],
            "channel": BILLING,
            "keywords": ["환불", "결제", "refund"],
            "first_response_minutes": 10,
        },
        "bugs": {"label": {"ko": "버그 신고", "en": "Bug report"}, "owners": ["U0DEV"], "keywords": ["error"]},
        "general": {"label": {"ko": "일반 문의", "en": "General"}, "owners": [STAFF2]},
    },
    "channels": {"telegram": {}, "website": {"allowed_origins": [PAGE_ORIGIN]}},
}


# The most the configuration allows: 100 tags (one Slack menu's options) of up to 63 characters.
LONG_TAGS = [f"{n:02d}-" + "customer-asked-about-the-refund-of-a-card-payment-abroad"[: 60 - n % 7] for n in range(100)]


def everything(bot_factory: BotFactory, slack: Any, clock: Clock, **yaml: Any) -> Any:
    slack.blocks_chars_limit = 12_000  # the low end of Slack's undocumented total (msg_blocks_too_long)
    return bot_factory(bot_yaml={**EVERYTHING, **yaml}, clock=clock, **WEBSITE_ENV)


async def signed(bot: Bot, body: bytes) -> dict[str, Any]:
    response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET)
    assert response.status == 200, await response.text()
    text = await response.text()
    return json.loads(text) if text else {}


def first_message(bot: Bot, thread: tuple[str, str]) -> dict[str, Any]:
    """The thread's first message, checked again as Slack would check it if it were posted as it is now."""
    message = bot.slack.message(*thread)
    assert message is not None
    blocks = message["blocks"]
    assert bot.slack.block_errors(blocks) is None, bot.slack.block_errors(blocks)
    assert len(blocks) <= 50 and len(message["text"]) <= 40_000
    action_ids = [e["action_id"] for b in blocks for e in [*b.get("elements", []), b.get("accessory") or {}]
                  if isinstance(e, dict) and "action_id" in e]  # fmt: skip
    assert len(action_ids) == len(set(action_ids)), action_ids  # every control tells itself apart
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), block_ids
    return message


def controls_of(message: dict[str, Any]) -> set[str]:
    return {e["action_id"] for b in message["blocks"] for e in [*b.get("elements", []), b.get("accessory") or {}]
            if isinstance(e, dict) and "action_id" in e}  # fmt: skip


async def choose_tags(bot: Bot, conversation_id: int, *tags: str) -> None:
    body = select_action_body(TAGS_SELECT, f"tags:{conversation_id}", options=[(t, t) for t in tags], user=STAFF)
    await signed(bot, body)
    await bot.idle()


async def react(bot: Bot, thread: tuple[str, str], reaction: str) -> None:
    assert (await bot.slack_event(reaction_added_event(thread[0], thread[1], reaction, user=STAFF))).status == 200
    await bot.idle()


async def header_refreshed(bot: Bot, thread: tuple[str, str], needle: str) -> str:
    await wait_until(lambda: needle in all_text(bot.slack.message(*thread) or {}), what=f"{needle!r} on the header")
    return all_text(first_message(bot, thread))


async def test_one_korean_conversation_through_every_feature_at_once(
    bot_factory: BotFactory, slack: FakeSlack
) -> None:
    clock = Clock()  # a Tuesday, 10:00 in Seoul: within business hours
    async with everything(bot_factory, slack, clock) as bot:
        bot.telegram.push_text(CHAT, "안녕하세요, 지난주 주문 환불 받고 싶어요")
        thread = await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        await bot.idle()
        assert thread[0] == BILLING
        header = first_message(bot, thread)
        assert {TAGS_SELECT, views.OPEN, STATUS_SELECT, LANGUAGE_SELECT, CLOSE} <= controls_of(header)
        assert "*Tags:* billing (rule)" in all_text(header)

        await react(bot, thread, "eyes")  # claims
        conversation = await bot.rt.service.conversation(conversation_id)
        assert conversation is not None and conversation.holder == STAFF
        await choose_tags(bot, conversation_id, "billing", "vip")
        await header_refreshed(bot, thread, "vip")

        before = len(bot.slack.views)
        await bot.click(views.OPEN, conversation_id)  # the saved reply button on the header
        await wait_until(lambda: len(bot.slack.views) > before, what="the saved replies modal")
        search = bot.slack.views[-1]["view"]
        (refund,) = await bot.rt.toolkit.saved_replies.search("환불")
        block = next(b["block_id"] for b in search["blocks"] if b.get("block_id", "").startswith(f"{views.CHOICE}:"))
        chosen = {block: {views.CHOICE: {"type": "radio_buttons", "selected_option": {"value": str(refund.id)}}}}
        answer = await signed(bot, view_submission_body(
            views.SEARCH, chosen, user=STAFF, private_metadata=search["private_metadata"], view_id=search["id"]))
        preview = answer["view"]
        text = next(b for b in preview["blocks"] if b.get("block_id") == views.TEXT)["element"]["initial_value"]
        assert "환불은 3일 안에 처리됩니다" in text  # the Korean body for a Korean customer
        values = {views.TEXT: {views.TEXT: {"type": "plain_text_input", "value": text}}}
        answer = await signed(bot, view_submission_body(
            views.SEND, values, user=STAFF, private_metadata=preview["private_metadata"]))
        assert answer == {"response_action": "clear"}
        assert f"*Held by:* <@{STAFF}>" in all_text(first_message(bot, thread))
        await wait_until(lambda: any(text in t for t in bot.telegram.sent_texts(CHAT)), what="the saved reply")

        await bot.staff_reply(thread, "카드사 확인이 필요해 보여요")  # explicit send: stays in the thread
        ts = new_ts()
        await bot.staff_reply(thread, "send: 카드 결제는 취소 처리까지 하루 걸려요", ts=ts)
        await bot.idle()
        card = [t for t in bot.telegram.sent_texts(CHAT) if "카드" in t]
        assert card == ["Jiwoo: 카드 결제는 취소 처리까지 하루 걸려요"]
        edited = "send: 카드 결제는 취소 처리까지 이틀 걸려요"
        await bot.slack_event(message_changed_event(thread[0], ts, edited, user=STAFF, thread_ts=thread[1]))
        await bot.idle()
        shown = "Jiwoo: 카드 결제는 취소 처리까지 이틀 걸려요"  # without the prefix
        await wait_until(lambda: any(e.get("text") == shown for e in bot.telegram.edits), what="the edit")

        clock.advance(minutes=61)  # quiet for an hour: the customer's next words mention the holder
        bot.telegram.push_text(CHAT, "네 알겠습니다, 기다릴게요")
        mention = f"<@{STAFF}> The customer wrote again after 1 h 1 min"
        await bot.thread_text(thread, "네 알겠습니다, 기다릴게요", mention)
        await bot.idle()

        await react(bot, thread, "white_check_mark")  # closes
        conversation = await bot.rt.service.conversation(conversation_id)
        assert conversation is not None and conversation.status == "closed"
        bot.telegram.push_text(CHAT, "감사합니다")  # thanks after Close: no new inquiry
        await bot.thread_text(thread, "감사합니다")
        await bot.idle()
        assert await bot.rt.service.open_inquiries() == []

        clock.advance(minutes=30)
        await bot.rt.timers.run_due()
        await bot.idle()
        await wait_until(lambda: bot.telegram.buttons(CHAT), what="the rating buttons")
        assert bot.telegram.sent_texts(CHAT)[-1] == QUESTION_KO
        message_id, rows = bot.telegram.buttons(CHAT)[-1]
        bot.telegram.push_callback(CHAT, message_id, rows[0][1]["callback_data"])  # 2: low
        said = await bot.thread_text(thread, "rated this conversation *2/5*")
        assert f"*2/5* ★★☆☆☆. <@{STAFF}> <@U0BIZ> <!subteam^S0BILLING>" in said
        await bot.idle()
        clock.advance(minutes=2)
        bot.telegram.push_text(CHAT, "환불이 너무 늦어요")
        await bot.thread_text(thread, "환불이 너무 늦어요", "the customer's comment")
        await bot.idle()
        assert await bot.rt.service.open_inquiries() == []  # a comment opens nothing

        clock.advance(minutes=10)  # "this week" runs up to now: the report is asked for a little later
        answer = await bot.command("/report", "this week", user=STAFF)
        assert answer["response_type"] == "ephemeral"

        def report() -> str:
            posts = [all_text(m) for m in bot.slack.channel_messages(INBOX) if "Report:" in all_text(m)]
            return posts[-1] if posts else ""

        await wait_until(lambda: report(), what="the report")
        assert "*1* inquiries opened, *1* closed" in report()
        assert "satisfaction 2.00/5 (100% of 1 answered)" in report()
        assert "billing (1)" in report() and "vip (1)" in report() and "환불 안내 (1)" in report()

        assert bot.telegram.sent_texts(CHAT)[-2:] == [  # the customer read Korean throughout
            "감사합니다! 더 하실 말씀이 있으면 이 채팅에 편하게 남겨 주세요. (선택 사항이에요)",
            "소중한 의견 감사합니다. 팀에 잘 전달할게요.",
        ]
        final = await header_refreshed(bot, thread, "2/5")
        assert "환불이 너무 늦어요" in final and "vip" in final
        assert REOPEN in controls_of(first_message(bot, thread))
        assert (await bot.slack_event(app_home_opened_event(STAFF))).status == 200  # the App Home is valid too
        await wait_until(lambda: STAFF in bot.slack.home_views, what="the App Home")

        clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Seoul")).astimezone(UTC)  # the next Monday
        assert bot.rt.digest is not None and await bot.rt.digest.run_due() == "2026-W48"  # W47 went on start

        def digest() -> str:
            week = "(2026-11-23 – 2026-11-29)"
            return next((all_text(m) for m in bot.slack.channel_messages(DIGEST) if week in all_text(m)), "")

        await wait_until(digest, what="the weekly digest")
        assert "*1* inquiries opened, *1* closed" in digest() and "satisfaction 2.00/5 (100% of 1 answered)" in digest()


async def test_the_longest_realistic_header_stays_within_block_kits_limits(
    bot_factory: BotFactory, slack: FakeSlack
) -> None:
    clock = Clock()
    long_name = "김" * 20 + " " + "Alexandria-Konstantinopolous " * 3
    user = signed_user("customer-0000000042", name=long_name.strip(), email="a" * 60 + "@example.com")
    page = f"{PAGE_ORIGIN}/products/" + "/".join(f"category-{n:02d}-with-a-long-slug" for n in range(12)) + "?q=1"
    page_views = [{"vid": f"view-{n:06d}", "url": f"{PAGE_ORIGIN}/docs/section-{n}/" + "long-page-name-" * 8,
                   "title": "제목 " * 30} for n in range(60)]  # fmt: skip
    async with everything(bot_factory, slack, clock, tags={"list": LONG_TAGS}) as bot:
        v = visitor(bot, user=user, page=page, lang="ko")
        welcome = await v.connect()
        assert welcome["t"] == "welcome", welcome
        for earlier in range(3):  # previous conversations, each closed
            said = await v.say(f"예전 문의 {earlier}: 환불 " + "자세한 설명 " * 200)
            assert said["t"] == "ack", said
            conversation = await website_conversation(bot)
            await bot.click(CLOSE, conversation.id)
            await bot.idle()
        await v.close()  # comes back another day, from the long page: that is where this one came from
        v = visitor(bot, user=user, page=page, lang="ko", token=v.token)
        assert (await v.connect())["t"] == "welcome"
        said = await v.say("결제 오류가 계속 나요 " + "아주 긴 설명입니다. " * 300, views=page_views)
        assert said["t"] == "ack", said
        conversation = await website_conversation(bot)
        thread = await bot.thread_for_address("website", conversation.address)
        await choose_tags(bot, conversation.id, *LONG_TAGS[:60])
        await bot.click(CLOSE, conversation.id)
        await bot.idle()
        async with bot.rt.db.transaction() as tx:  # the customer's answer, as the survey records it
            await tx.conn.execute(update(surveys).where(surveys.c.conversation_id == conversation.id).values(
                status="commented", asked_at=clock.now, rating=1, rated_at=clock.now,
                comment="정말 실망했습니다 <@U0BIZ> " * 200, commented_at=clock.now))  # fmt: skip
        await bot.click(REOPEN, conversation.id)
        await bot.idle()
        body = select_action_body(STATUS_SELECT, f"controls:{conversation.id}", option=("1 week", "hold:10080"),
                                  user=STAFF)  # fmt: skip
        await signed(bot, body)
        await bot.idle()
        text = await header_refreshed(bot, thread, "on hold until")
        message = first_message(bot, thread)
        assert "1/5" in text and LONG_TAGS[0] in text and "*Came from:*" in text and "*Before writing:*" in text
        assert "3 earlier" in text or "earlier conversations" in text, text
        assert long_name.split()[0] in text
        assert message["blocks"]
        await v.close()


async def website_conversation(bot: Bot) -> Any:
    found: list[Any] = []

    async def check() -> bool:
        found[:] = [c for c in await bot.rt.service.open_inquiries() if c.channel == "website"]
        return bool(found)

    await wait_until(check, what="the website conversation")
    return found[0]



async def test_on_a_saturday_the_customer_hears_the_hours_and_the_categories_in_korean(
    bot_factory: BotFactory, slack: FakeSlack
) -> None:
    clock = Clock(datetime(2026, 11, 28, 14, 0, tzinfo=ZoneInfo("Asia/Seoul")).astimezone(UTC))  # a Saturday
    async with everything(bot_factory, slack, clock) as bot:
        bot.telegram.push_text(CHAT, "결제 오류가 나요")
        thread = await bot.thread_for(CHAT)
        await bot.idle()
        await wait_until(lambda: bot.telegram.buttons(CHAT), what="the category buttons")
        after_hours, question = bot.telegram.sent_texts(CHAT)
        assert after_hours.startswith("지금은 상담 시간이 아니에요.") and question.startswith("어떤 문의인지")
        [(_, rows)] = bot.telegram.buttons(CHAT)
        assert [row[0]["text"] for row in rows] == ["결제/환불", "버그 신고", "일반 문의"]
        header = all_text(first_message(bot, thread))
        assert "*First reply:* due <!date^" in header and "|2026-11-30 00:10 UTC>" in header  # Monday 09:10 Seoul
