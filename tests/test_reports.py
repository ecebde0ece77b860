"""/report over known data: conversations opened, answered and closed through the real clients at moments a clock
sets, surveys, tags and saved replies written into their tables; every figure checked exactly, the chart a real
PNG of the stated size, the CSV the conversations behind the numbers."""

from __future__ import annotations

import csv
import io
import struct
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from matplotlib import font_manager, image
from sqlalchemy import update

from bot.domain.periods import parse_request
from bot.domain.report_figures import percentile
from bot.slack.header_controls import STATUS_SELECT
from bot.slack.report_charts import HANGUL_FAMILIES, HEIGHT, WIDTH, chart_font
from bot.store.schema import messages
from bot.store.toolkit_schema import conversation_tags, saved_replies, surveys
from bot.usecases.reports import Built, Reports
from tests.clock import Clock
from tests.conftest import INBOX, SIGNING_SECRET, STAFF, STAFF2, Bot, BotFactory, all_text, wait_until
from tests.fakes.slack_requests import command_body, post_signed, select_action_body

SEOUL = ZoneInfo("Asia/Seoul")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT_YAML: dict[str, Any] = {
    "language": "en",
    "slack": {"inbox_channel": INBOX},
    "texts": {"auto_reply": False},
    "replies": {"author": "none"},
    "business_hours": {"default": {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}}},
    "categories": {
        "billing": {"label": "결제/환불", "owners": ["U0BIZ"], "keywords": ["refund"], "first_response_minutes": 10},
        "bugs": {"label": "Bug report", "owners": ["U0DEV"], "keywords": ["error"], "first_response_minutes": 60},
    },
}
E, A, B, C, D = 7001, 7002, 7003, 7004, 7005  # the customers' Telegram chats, in the order they write


def seoul(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


async def opens(bot: Bot, clock: Clock, chat: int, text: str, at: datetime) -> tuple[tuple[str, str], int]:
    clock.now = at
    bot.telegram.push_text(chat, text)
    thread = await bot.thread_for(chat)
    return thread, await bot.conversation_id_for(chat)


async def replies(bot: Bot, clock: Clock, thread: tuple[str, str], user: str, at: datetime) -> None:
    clock.now = at
    await bot.staff_reply(thread, "On it.", user=user)
    await bot.idle()


async def closes(bot: Bot, clock: Clock, conversation_id: int, at: datetime) -> None:
    clock.now = at
    response = await bot.click("conversation_close", conversation_id)
    assert response.status == 200


async def known_week(bot: Bot, clock: Clock) -> dict[int, int]:
    """Five conversations, one from the week before (E), and what staff and customers did with them."""
    t_e, e = await opens(bot, clock, E, "refund for order 1", seoul(20, 10))  # Friday of the week before
    await replies(bot, clock, t_e, STAFF2, seoul(20, 10, 5))  # 300 s
    await closes(bot, clock, e, seoul(23, 9, 30))  # Monday: 2 d 23.5 h after opening
    t_a, a = await opens(bot, clock, A, "refund please", seoul(23, 10))
    await replies(bot, clock, t_a, STAFF, seoul(23, 10, 4))  # 240 s, within billing's 10 minutes
    t_b, b = await opens(bot, clock, B, "refund again", seoul(23, 11))
    await closes(bot, clock, a, seoul(23, 11, 4))  # 64 min after opening
    await replies(bot, clock, t_b, STAFF2, seoul(23, 11, 30))  # 1800 s, past the target; B stays open
    t_c, c = await opens(bot, clock, C, "error 500 on checkout", seoul(23, 17, 50))
    await replies(bot, clock, t_c, STAFF, seoul(24, 9, 15))  # 10 min on Monday + 15 on Tuesday: 1500 s
    await closes(bot, clock, c, seoul(24, 9, 30))  # 15 h 40 min after opening
    _, d = await opens(bot, clock, D, "hello", seoul(24, 12))  # no category, never answered
    await bot.idle()
    async with bot.rt.db.transaction() as tx:
        conn = tx.conn
        for conversation, asked, rating in ((a, seoul(23, 12), 5), (c, seoul(24, 10), 3), (e, seoul(23, 10), None)):
            customer = (await tx.archive.conversation(conversation)).customer_id  # type: ignore[union-attr]
            await conn.execute(surveys.insert().values(
                conversation_id=conversation, customer_id=customer, status="rated" if rating else "asked",
                due_at=asked, asked_at=asked, rating=rating, rated_at=asked if rating else None,
            ))  # fmt: skip
        for conversation, tag in ((a, "refund"), (a, "vip"), (b, "refund"), (c, "outage"), (e, "refund")):
            row = {"conversation_id": conversation, "tag": tag, "actor": STAFF, "created_at": clock.now}
            await conn.execute(conversation_tags.insert().values(**row))
        ids = {}
        for title in ("Refund timeline", "Restart the app"):
            ids[title] = (await conn.execute(saved_replies.insert().values(
                title=title, body_en=title, body_ko=title, tags=[], created_by=STAFF, created_at=clock.now,
                updated_by=STAFF, updated_at=clock.now,
            ).returning(saved_replies.c.id))).scalar_one()  # fmt: skip
        for conversation, title in ((a, "Refund timeline"), (b, "Refund timeline"), (c, "Restart the app")):
            await conn.execute(
                update(messages)
                .where(messages.c.conversation_id == conversation, messages.c.direction == "outbound")
                .values(saved_reply_id=ids[title])
            )
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


@pytest.fixture
def clock() -> Clock:
    return Clock(seoul(20, 9))


def build(bot: Bot, clock: Clock, text: str) -> Any:
    reports = Reports(bot.rt.db, bot.rt.config.bot, clock=clock)
    request = parse_request(text, clock.now, reports.zone, list(bot.rt.config.bot.categories))
    assert not isinstance(request, str), request
    return reports.build(request)


async def test_a_week_of_known_conversations_gives_exact_figures(bot_factory: BotFactory, clock: Clock) -> None:
    async with bot_factory(bot_yaml=REPORT_YAML, clock=clock) as bot:
        ids = await known_week(bot, clock)
        clock.now = seoul(25, 10)  # Wednesday
        built: Built = await build(bot, clock, "this week")
        r, t = built.report, built.report.total
        assert (t.opened, t.closed, t.answered) == (4, 3, 3)
        assert (t.first_response_p50, t.first_response_p90) == (1500, 1800)  # of 240, 1500, 1800
        assert (t.within_target, t.targeted) == (2, 3)  # A and C in time, B late; D has no target
        assert (t.resolution_p50, t.resolution_p90) == (56400, 257400)  # of A 3840, C 56400, E 257400
        assert (t.surveys_asked, t.surveys_rated, t.rating_average) == (3, 2, 4.0)
        billing, bugs, none = r.by_category["billing"], r.by_category["bugs"], r.by_category[""]
        assert (billing.opened, billing.closed, billing.first_response_p50, billing.first_response_p90) == (
            2, 2, 240, 1800)  # fmt: skip
        assert (billing.within_target, billing.targeted, billing.resolution_p50, billing.rating_average) == (
            1, 2, 3840, 5.0)  # fmt: skip
        assert (bugs.opened, bugs.closed, bugs.first_response_p50, bugs.within_target, bugs.rating_average) == (
            1, 1, 1500, 1, 3.0)  # fmt: skip
        assert (none.opened, none.answered, none.targeted) == (1, 0, 0)
        mine, theirs = r.by_person[STAFF], r.by_person[STAFF2]
        assert (mine.opened, mine.closed, mine.first_response_p50, mine.first_response_p90) == (2, 2, 240, 1500)
        assert (theirs.opened, theirs.closed, theirs.first_response_p50, theirs.resolution_p50) == (1, 1, 1800, 257400)
        assert r.by_person[""].opened == 1
        assert [h for h in range(24) if r.hours[h]] == [10, 11, 12, 17] and sum(r.hours) == 4
        assert r.busiest_hours() == [10, 11, 12]
        assert r.top_tags == [("refund", 2), ("outage", 1), ("vip", 1)]  # E's tag is last week's
        assert r.saved_replies == [("Refund timeline", 2), ("Restart the app", 1)]
        rows = await Reports(bot.rt.db, bot.rt.config.bot, clock=clock).rows(built)
        assert [row.id for row in rows] == sorted(ids.values())  # E closed this week: its resolution counts

        last = (await build(bot, clock, "last week")).report
        assert (last.total.opened, last.total.closed, last.total.first_response_p50) == (1, 0, 300)
        only_e = (await build(bot, clock, "2026-11-20..2026-11-20")).report
        assert (only_e.total.opened, list(only_e.by_person)) == (1, [STAFF2])
        billing_only = (await build(bot, clock, "this week billing")).report.total
        assert (billing_only.opened, billing_only.closed, billing_only.within_target) == (2, 2, 1)
        person = (await build(bot, clock, f"this week <@{STAFF}|jiwoo>")).report
        assert (person.total.opened, person.scope, list(person.by_person)) == (2, f"<@{STAFF}>", [STAFF])


async def test_the_command_answers_at_once_then_posts_the_numbers_chart_and_csv(
    bot_factory: BotFactory, clock: Clock
) -> None:
    async with bot_factory(bot_yaml=REPORT_YAML, clock=clock) as bot:
        ids = await known_week(bot, clock)
        clock.now = seoul(25, 10)
        before = len(bot.slack.channel_messages(INBOX))
        answer = await bot.command("/report", "this week")
        assert answer["response_type"] == "ephemeral" and answer["text"].startswith("Working on the report")

        def report_post() -> dict[str, Any] | None:
            posts = [m for m in bot.slack.channel_messages(INBOX)[before:] if "Report:" in all_text(m)]
            return posts[0] if posts else None

        await wait_until(lambda: report_post() and len(bot.slack.uploads) >= 2, what="the report and its files")
        post = report_post()
        assert post is not None
        text = all_text(post)
        assert "*4* inquiries opened, *3* closed" in text
        assert "p50 *25 min*, p90 *30 min*; *67%* within the category's target (2 of 3)" in text
        assert "*Resolution*: p50 *15.7 h*, p90 *3.0 d*" in text
        assert "satisfaction 4.00/5 (67% of 3 answered)" in text
        assert "*Busiest hours*: 10:00, 11:00, 12:00" in text
        assert "*Top tags*: refund (2), outage (1), vip (1)" in text
        assert "*Saved replies used*: Refund timeline (2), Restart the app (1)" in text
        assert "*결제/환불*: 2 opened, 2 closed" in text and f"<@{STAFF}>: 2 opened, 2 closed" in text
        chart, table = bot.slack.uploads[-2:]
        assert len(bot.slack.calls_to("files.getUploadURLExternal")) == 2  # files_upload_v2, one URL per file
        assert len(bot.slack.calls_to("files.completeUploadExternal")) == 1 and not bot.slack.calls_to("files.upload")
        assert {chart["channel"], table["channel"]} == {INBOX}
        assert chart["thread_ts"] == table["thread_ts"] == post["ts"]  # in the report's thread

        png = chart["content"]
        assert chart["filename"].endswith(".png") and png[:8] == PNG_SIGNATURE
        _, kind, width, height = struct.unpack(">I4sII", png[8:24])
        assert (kind, width, height) == (b"IHDR", WIDTH, HEIGHT) == (b"IHDR", 1200, 900)
        pixels = image.imread(io.BytesIO(png))
        assert pixels.shape[:2] == (900, 1200)
        colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
        assert len(colours) > 50  # bars, text and axes, not a blank canvas
        assert (pixels[..., :3] < 0.5).any(axis=-1).mean() > 0.01  # something dark was drawn

        stem = "report-2026-11-23-2026-11-25"  # Monday to today, Wednesday, in Seoul
        assert (chart["filename"], table["filename"]) == (f"{stem}.png", f"{stem}.csv")
        lines = list(csv.DictReader(io.StringIO(table["content"].decode("utf-8-sig"))))
        assert [int(row["conversation_id"]) for row in lines] == sorted(ids.values())
        a = next(row for row in lines if int(row["conversation_id"]) == ids["A"])
        assert (a["category"], a["person"], a["first_response_seconds"], a["within_target"], a["resolution_seconds"],
                a["rating"], a["tags"]) == ("billing", STAFF, "240", "yes", "3840", "5", "refund vip")  # fmt: skip
        assert (a["opened_at"], a["closed_at"]) == ("2026-11-23T01:00:00+00:00", "2026-11-23T02:04:00+00:00")
        e = next(row for row in lines if int(row["conversation_id"]) == ids["E"])
        assert (e["opened_in_period"], e["first_response_seconds"], e["resolution_seconds"]) == ("no", "", "257400")


async def test_bad_input_is_answered_to_the_caller_and_a_refused_channel_is_explained(
    bot_factory: BotFactory, clock: Clock
) -> None:
    async with bot_factory(bot_yaml=REPORT_YAML, clock=clock) as bot:
        for words, expected in (
            ("yesterday", "“yesterday” is neither a period, a category (billing, bugs) nor a person."),
            ("2026-11-30..2026-11-01", "ends before it starts"),
            ("400d", "A period of 1 to 366 days"),
            ("this week billing bugs", "Only one category or person"),
            ("@jiwoo", "Pick the person from Slack's list"),
        ):
            answer = await bot.command("/report", words)
            assert answer["response_type"] == "ephemeral" and expected in answer["text"], (words, answer)
            assert "Usage: `/report" in answer["text"]
        assert not [m for m in bot.slack.messages if "Report:" in all_text(m)]

        bot.slack.missing_channels.add("C0GONE")
        body = command_body("/report", "last week", user_id=STAFF, channel_id="C0GONE",
                            response_url=bot.slack.response_url())  # fmt: skip
        response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET,
                                     content_type="application/x-www-form-urlencoded")  # fmt: skip
        assert response.status == 200
        await wait_until(lambda: bot.slack.responses, what="the refusal on the response_url")
        assert "The report was not posted. I cannot see this channel" in bot.slack.responses[-1]["body"]["text"]


def test_periods_start_on_monday_in_the_team_zone_and_ranges_include_both_days() -> None:
    now = seoul(25, 10)
    parsed = parse_request("", now, SEOUL, [])
    assert not isinstance(parsed, str) and parsed.period.start == seoul(23, 0) and parsed.period.end == now
    last = parse_request("Last Week", now, SEOUL, [])
    assert not isinstance(last, str) and (last.period.start, last.period.end) == (seoul(16, 0), seoul(23, 0))
    span = parse_request("2026-11-01..2026-11-30 BILLING", now, SEOUL, ["billing"])
    assert not isinstance(span, str) and span.category == "billing"
    assert (span.period.start, span.period.end) == (seoul(1, 0), datetime(2026, 12, 1, tzinfo=SEOUL).astimezone(UTC))
    days = parse_request("90d <@U0STAFF>", now, SEOUL, [])
    assert not isinstance(days, str) and days.person == "U0STAFF" and (now - days.period.start).days == 90
    assert isinstance(parse_request("2026-02-30..2026-03-01", now, SEOUL, []), str)


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 90) == 7
    assert [percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p) for p in (50, 90, 100)] == [5, 9, 10]


def test_the_chart_font_is_the_configured_one_or_an_installed_one_with_hangul() -> None:
    """.ci/run installs fonts-nanum, so Korean category names and tags are drawn, not boxes."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    assert chart_font("Some Family") == "Some Family"
    found = chart_font(None)
    assert found in HANGUL_FAMILIES and found in installed


async def test_time_spent_waiting_on_the_customer_does_not_count_against_the_target(
    bot_factory: BotFactory, clock: Clock
) -> None:
    """As the escalations count it: 2 minutes, 30 waiting on the customer, 5 more: 7 minutes of a 10-minute target."""
    async with bot_factory(bot_yaml=REPORT_YAML, clock=clock) as bot:
        thread, conversation_id = await opens(bot, clock, A, "refund please", seoul(23, 10))
        clock.now = seoul(23, 10, 2)
        body = select_action_body(
            STATUS_SELECT, f"controls:{conversation_id}", option=("Waiting on the customer", "waiting"), user=STAFF
        )
        response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET,
                                     content_type="application/x-www-form-urlencoded")  # fmt: skip
        assert response.status == 200
        await bot.idle()
        clock.now = seoul(23, 10, 32)
        bot.telegram.push_text(A, "here is the order number")
        await bot.thread_text(thread, "here is the order number")
        await bot.idle()
        await replies(bot, clock, thread, STAFF, seoul(23, 10, 37))
        clock.now = seoul(23, 12)
        total = (await build(bot, clock, "this week")).report.total
        assert (total.first_response_p50, total.within_target, total.targeted) == (7 * 60, 1, 1)
