"""The weekly digest posts last week's report once: two bots on one database at the same moment, a bot started
again after the time, and a bot that was down at the time and starts later in the same week."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import parse_bot_config
from bot.config.errors import ConfigError
from bot.store.toolkit_schema import digest_runs
from tests.clock import Clock
from tests.conftest import INBOX, Bot, BotFactory, all_text, wait_until

SEOUL = ZoneInfo("Asia/Seoul")
DIGEST = "C0DIGEST"
DIGEST_YAML: dict[str, Any] = {
    "language": "en",
    "slack": {"inbox_channel": INBOX},
    "texts": {"auto_reply": False},
    "reports": {"timezone": "Asia/Seoul", "digest": {"channel": DIGEST, "day": "monday", "time": "09:00"}},
}


def seoul(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


def digests(bot: Bot) -> list[dict[str, Any]]:
    return [m for m in bot.slack.channel_messages(DIGEST) if not m.get("thread_ts")]


async def runs(bot: Bot) -> list[Any]:
    async with bot.rt.db.transaction() as tx:
        return list((await tx.conn.execute(select(digest_runs).order_by(digest_runs.c.period))).all())


async def test_two_bots_post_the_digest_once_and_a_restart_does_not_post_it_again(bot_factory: BotFactory) -> None:
    clock = Clock(seoul(11, 23, 8))  # Monday 08:00, before this week's digest time
    async with bot_factory(bot_yaml=DIGEST_YAML, clock=clock) as first, bot_factory(
        bot_yaml=DIGEST_YAML, clock=clock, WORKER_ID="second"
    ) as second:
        assert first.rt.digest is not None and second.rt.digest is not None
        first.telegram.push_text(8101, "hello, a question about my order")
        await first.thread_for(8101)
        clock.now = seoul(11, 30, 8, 59)  # next Monday, a minute early
        assert await asyncio.gather(first.rt.digest.run_due(), second.rt.digest.run_due()) == [None, None]
        clock.now = seoul(11, 30, 9, 0)
        taken = await asyncio.gather(first.rt.digest.run_due(), second.rt.digest.run_due())
        assert sorted(taken, key=str) == ["2026-W48", None]  # exactly one of the two claimed the week
        await wait_until(lambda: len(first.slack.uploads) >= 2, what="the digest's chart and CSV")
        await first.idle()
        await second.idle()
        posted = digests(first)
        assert len(posted) == 1
        assert "Report: everyone, last week (2026-11-23 – 2026-11-29)" in all_text(posted[0])
        assert "*1* inquiries opened, *0* closed" in all_text(posted[0])
        assert [u["thread_ts"] for u in first.slack.uploads] == [posted[0]["ts"]] * 2
        clock.advance(hours=3)
        assert await asyncio.gather(first.rt.digest.run_due(), second.rt.digest.run_due()) == [None, None]
        (run,) = await runs(first)
        assert run.period == "2026-W48" and run.claimed_by in ("test-worker", "second") and run.posted_at is not None

    clock.now = seoul(12, 2, 15)  # started again on Wednesday: the week's digest is there already
    async with bot_factory(bot_yaml=DIGEST_YAML, clock=clock) as again:
        assert again.rt.digest is not None and await again.rt.digest.run_due() is None
        await again.idle()
        assert len(digests(again)) == 1


async def test_a_digest_missed_while_down_is_posted_on_start_in_the_same_week(bot_factory: BotFactory) -> None:
    clock = Clock(seoul(12, 10, 14))  # Thursday: the bot was down on Monday at 09:00
    async with bot_factory(bot_yaml=DIGEST_YAML, clock=clock) as bot:
        await wait_until(lambda: len(digests(bot)) == 1, what="the missed digest, posted on start")
        assert "last week (2026-11-30 – 2026-12-06)" in all_text(digests(bot)[0])
        assert bot.rt.digest is not None and await bot.rt.digest.run_due() is None
        await bot.idle()
        assert [r.period for r in await runs(bot)] == ["2026-W49"]  # the weeks before it are not posted late


def test_the_digest_settings_are_checked() -> None:
    base = {"slack": {"inbox_channel": INBOX}}
    config = parse_bot_config({**base, "reports": {"digest": {"channel": DIGEST}}})
    assert config.reports.digest is not None
    assert (config.reports.digest.weekday, config.reports.digest.minute) == (0, 9 * 60)
    assert parse_bot_config(base).reports.digest is None
    for bad, key in (
        ({"digest": {"channel": "general"}}, "reports.digest.channel"),
        ({"digest": {"channel": DIGEST, "day": "someday"}}, "reports.digest.day"),
        ({"digest": {"channel": DIGEST, "time": "25:00"}}, "reports.digest.time"),
        ({"timezone": "Mars/Base"}, "reports.timezone"),
        ({"weekly": True}, "reports.weekly"),
    ):
        with pytest.raises(ConfigError) as error:
            parse_bot_config({**base, "reports": bad})
        assert error.value.key == key, bad
