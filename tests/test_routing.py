"""Routing rules and business-hours arithmetic: pure functions, no Slack, no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import BusinessHours, Category, parse_bot_config
from bot.domain.hours import add_business_time, business_seconds, is_open, next_open
from bot.domain.routing import categorize, match_rules
from bot.slack.mentions import duration, mention, mentions, who
from bot.usecases.picks import parse_pick, pick_data

CALLBACK_DATA_LIMIT = 64  # bytes Telegram allows in a button's callback_data

SEOUL = ZoneInfo("Asia/Seoul")


def categories(**specs: dict[str, object]) -> dict[str, Category]:
    return dict(parse_bot_config({"slack": {"inbox_channel": "C0INBOX"}, "categories": specs}).categories)


def test_keywords_match_anywhere_in_any_case() -> None:
    cats = categories(billing={"owners": ["U0BIZ"], "keywords": ["Refund", "환불"]})
    assert categorize("I want a REFUND please", cats) == "billing"
    assert categorize("환불해 주세요", cats) == "billing"
    assert categorize("hello", cats) is None
    assert categorize("hello", cats, "billing") == "billing"


def test_patterns_are_regular_expressions_ignoring_case() -> None:
    cats = categories(bugs={"owners": ["U0DEV"], "patterns": [r"\berr(or)?[- ]?\d{3}\b", r"^crash"]})
    assert match_rules("the app says ERR-503 again", cats) == "bugs"
    assert match_rules("Crash on start", cats) == "bugs"
    assert match_rules("I got an error", cats) is None  # no code: the pattern wants three digits
    assert match_rules("it crashed", cats) is None  # ^ anchors at the start


def test_the_highest_priority_wins_and_config_order_breaks_ties() -> None:
    cats = categories(
        billing={"owners": ["U0BIZ"], "keywords": ["refund"]},
        bugs={"owners": ["U0DEV"], "keywords": ["refund", "error"]},
        hiring={"owners": ["U0CEO"], "keywords": ["job"], "priority": 5},
    )
    assert categorize("refund error", cats) == "billing"  # equal priority: first in the file
    assert categorize("a job? and a refund", cats) == "hiring"
    assert categorize("error", cats) == "bugs"


def test_user_groups_are_mentioned_as_groups() -> None:
    assert mention("U0BIZ") == "<@U0BIZ>"
    assert mention("W0GRID") == "<@W0GRID>"
    assert mention("S0BILLING") == "<!subteam^S0BILLING>"
    assert mentions(("U0BIZ", "S0BILLING")) == "<@U0BIZ> <!subteam^S0BILLING>"


def test_pick_data_fits_telegram_and_round_trips() -> None:
    keys = ["billing", "k" * 64]
    for key in keys:
        data = pick_data(1_234_567_890, key, CALLBACK_DATA_LIMIT)
        assert data is not None and len(data.encode()) <= CALLBACK_DATA_LIMIT
        assert parse_pick(data, keys) == (1_234_567_890, key)
    assert parse_pick(pick_data(7, "gone", CALLBACK_DATA_LIMIT) or "", keys) == (7, None)  # a key since removed
    assert pick_data(7, "billing", 10) is None  # a channel whose buttons carry too little is offered none
    assert parse_pick("cat:x:billing", keys) is None
    assert parse_pick("something else", keys) is None


def test_durations_and_actors_read_naturally() -> None:
    assert duration(59) == "0 min"
    assert duration(4 * 60 + 5) == "4 min"
    assert duration(125 * 60) == "2 h 5 min"
    assert duration(3 * 24 * 3600) == "3 days"
    assert who("U0STAFF") == "<@U0STAFF>"
    assert who("telegram:4242") == "the customer"


# --- business hours ------------------------------------------------------------------------------------------


def office(**extra: object) -> BusinessHours:
    spec: dict[str, object] = {
        "timezone": "Asia/Seoul",
        "weekly": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
        "holidays": ["2026-11-30"],
    }
    spec.update(extra)
    data = {"slack": {"inbox_channel": "C0INBOX"}, "business_hours": {"default": spec}}
    return parse_bot_config(data).business_hours["default"]


def kst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


def test_open_and_closed_moments() -> None:
    hours = office()
    assert is_open(hours, kst(2026, 11, 27, 10, 0))  # Friday morning
    assert not is_open(hours, kst(2026, 11, 27, 12, 30))  # lunch
    assert not is_open(hours, kst(2026, 11, 27, 18, 0))  # the end is exclusive
    assert not is_open(hours, kst(2026, 11, 28, 10, 0))  # Saturday
    assert not is_open(hours, kst(2026, 11, 30, 10, 0))  # a holiday Monday
    assert next_open(hours, kst(2026, 11, 27, 18, 30)) == kst(2026, 12, 1, 9, 0)
    assert is_open(None, kst(2026, 11, 28, 3, 0))  # no hours configured: always open


def test_the_clock_pauses_outside_hours() -> None:
    hours = office()
    # Friday 17:55 + 10 working minutes: five on Friday, five after Tuesday's opening (Monday is a holiday).
    assert add_business_time(hours, kst(2026, 11, 27, 17, 55), 10) == kst(2026, 12, 1, 9, 5)
    # Over lunch.
    assert add_business_time(hours, kst(2026, 12, 1, 11, 55), 10) == kst(2026, 12, 1, 13, 5)
    # Written at night: the clock starts at the opening.
    assert add_business_time(hours, kst(2026, 12, 1, 2, 0), 0) == kst(2026, 12, 1, 9, 0)
    assert business_seconds(hours, kst(2026, 11, 27, 17, 55), kst(2026, 12, 1, 9, 5)) == 600
    assert business_seconds(hours, kst(2026, 11, 28, 0, 0), kst(2026, 11, 30, 23, 0)) == 0
    assert add_business_time(None, kst(2026, 11, 28, 3, 0), 10) == kst(2026, 11, 28, 3, 10)
    assert business_seconds(None, kst(2026, 11, 28, 3, 0), kst(2026, 11, 28, 3, 10)) == 600


def test_a_daylight_saving_day_counts_its_real_hours() -> None:
    data = {
        "slack": {"inbox_channel": "C0INBOX"},
        "business_hours": {"ny": {"timezone": "America/New_York", "weekly": {"sun": "00:00-24:00"}}},
    }
    hours = parse_bot_config(data).business_hours["ny"]
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 8, 0, 0, tzinfo=ny)  # clocks jump from 02:00 to 03:00 that night
    end = datetime(2026, 3, 9, 0, 0, tzinfo=ny)
    assert business_seconds(hours, start, end) == 23 * 3600
    assert add_business_time(hours, start.astimezone(UTC), 23 * 60) == end.astimezone(UTC)


def test_a_schedule_that_never_opens_again_gives_no_due_time() -> None:
    hours = office(weekly={"mon": "09:00-10:00"}, holidays=[])
    far = BusinessHours(name="never", timezone="UTC", weekly=((),) * 7)  # refused by the config; built directly
    assert add_business_time(far, kst(2026, 1, 1, 0, 0), 1) is None
    assert next_open(far, kst(2026, 1, 1, 0, 0)) is None
    assert add_business_time(hours, kst(2026, 11, 30, 9, 0), 60 * 2) == kst(2026, 12, 7, 10, 0)


@pytest.mark.parametrize("minutes", [1, 10, 90, 600, 2000])
def test_adding_then_measuring_gives_the_same_minutes(minutes: int) -> None:
    hours = office()
    start = kst(2026, 11, 26, 16, 37)
    due = add_business_time(hours, start, minutes)
    assert due is not None and due > start
    assert business_seconds(hours, start, due) == pytest.approx(minutes * 60)
    assert business_seconds(hours, start, due - timedelta(seconds=1)) < minutes * 60
