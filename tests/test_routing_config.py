"""Routing configuration: categories with labels per language, patterns, priority, targets, escalation and business
hours, and every mistake refused at start with one line naming the key."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.config import ConfigError, Escalation, load_bot_config, parse_bot_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "bot.example.yaml"
RANGE = 'a time range "HH:MM-HH:MM" (24-hour clock), a list of them, or "closed"'


def config(**top: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"slack": {"inbox_channel": "C0INBOX"}}
    data.update(top)
    return data


def category(**fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"owners": ["U0BIZ"]}
    spec.update(fields)
    return config(categories={"billing": spec})


def hours(**fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}}
    spec.update(fields)
    return config(business_hours={"default": spec})


def error(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_bot_config(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_full_routing_configuration() -> None:
    cfg = parse_bot_config(
        config(
            language="en",
            ask_category=True,
            texts={"after_hours": "We're closed.", "choose_category": "Pick one:"},
            business_hours={
                "default": {
                    "timezone": "Asia/Seoul",
                    "weekly": {"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": "10:00-14:00", "sun": "closed"},
                    "holidays": [date(2026, 1, 1), "2026-02-17"],
                    "auto_reply": "Office closed.",
                },
                "dev": {"timezone": "UTC", "weekly": {"mon-sun": "00:00-24:00"}},
            },
            categories={
                "billing": {
                    "label": {"ko": "결제/환불", "en": "Billing"},
                    "owners": ["U0BIZ", "S0BILLING"],
                    "channel": "C0BIZ",
                    "keywords": ["refund"],
                    "patterns": [r"invoice\s*#?\d+"],
                    "priority": 3,
                    "first_response_minutes": 10,
                    "escalation": {"after_minutes": 20, "to": "C0LEADS"},
                },
                "bugs": {"label": "Bug report", "owners": ["U0DEV"], "hours": "dev", "first_response_minutes": 30},
            },
        )
    )
    assert cfg.ask_category is True
    assert cfg.after_hours_reply == "We're closed." and cfg.choose_category == "Pick one:"
    billing, bugs = cfg.categories["billing"], cfg.categories["bugs"]
    assert billing.label == "Billing (결제/환불)"  # staff read the bot's language first, then the other
    assert billing.label_in("ko") == "결제/환불" and billing.label_in("en") == "Billing"
    assert bugs.label_in("ko") == bugs.label_in("en") == "Bug report"
    assert billing.patterns == (re.compile(r"invoice\s*#?\d+", re.IGNORECASE),)
    assert billing.priority == 3 and bugs.priority == 0
    assert billing.first_response_minutes == 10
    assert billing.escalation == Escalation(after_minutes=20, to="C0LEADS")
    assert bugs.escalation is None and bugs.hours == "dev"
    office = cfg.business_hours["default"]
    assert office.timezone == "Asia/Seoul"
    assert office.weekly[0] == ((540, 720), (780, 1080))
    assert office.weekly[5] == ((600, 840),) and office.weekly[6] == ()
    assert office.holidays == frozenset({date(2026, 1, 1), date(2026, 2, 17)})
    assert office.auto_reply == "Office closed."
    assert cfg.hours_for("billing") is office  # no `hours`: the default team's
    assert cfg.hours_for("bugs") is cfg.business_hours["dev"]
    assert cfg.hours_for(None) is office and cfg.hours_for("retired") is office


def test_adjacent_ranges_merge_and_no_hours_means_always_open() -> None:
    cfg = parse_bot_config(hours(weekly={"mon": ["13:00-18:00", "09:00-13:00"]}))
    assert cfg.business_hours["default"].weekly[0] == ((540, 1080),)
    assert parse_bot_config(config()).hours_for(None) is None
    assert parse_bot_config(config()).ask_category is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            category(hours="office"),
            "categories.billing.hours: a name under business_hours, but no business hours are defined",
        ),
        (
            {**hours(), "categories": {"billing": {"owners": ["U0BIZ"], "hours": "night"}}},
            "categories.billing.hours: one of the business_hours (default)",
        ),
        (
            category(escalation={"after_minutes": 5, "to": "U0BOSS"}),
            "categories.billing.escalation: needs first_response_minutes, the target it escalates after",
        ),
        (
            category(first_response_minutes=10, escalation={"after_minutes": 5, "to": "S0GROUP"}),
            "categories.billing.escalation.to: a Slack channel or user id (C…, G…, U…, W…)",
        ),
        (
            category(first_response_minutes=10, escalation={"after_minutes": 5, "to": "#leads"}),
            "categories.billing.escalation.to: a Slack channel or user id (C…, G…, U…, W…)",
        ),
        (
            category(first_response_minutes=10, escalation={"after": 5, "to": "C0LEADS"}),
            "categories.billing.escalation.after: unknown key (expected one of: after_minutes, to)",
        ),
        (
            category(first_response_minutes=10, escalation={"after_minutes": 0, "to": "C0LEADS"}),
            "categories.billing.escalation.after_minutes: a whole number of minutes from 1 to 43200",
        ),
        (
            category(first_response_minutes="10"),
            "categories.billing.first_response_minutes: a whole number of minutes from 1 to 43200",
        ),
        (
            category(first_response_minutes=True),
            "categories.billing.first_response_minutes: a whole number of minutes from 1 to 43200",
        ),
        (
            category(owners=["U0BIZ", "alice"]),
            "categories.billing.owners[1]: a Slack user or user group id (U…, W…, S…)",
        ),
        (
            category(patterns=["(refund"]),
            "categories.billing.patterns[0]: a valid regular expression (missing ), unterminated subpattern at "
            "position 0)",
        ),
        (category(patterns="refund"), "categories.billing.patterns: a list of regular expressions"),
        (category(patterns=[""]), "categories.billing.patterns[0]: a non-empty regular expression"),
        (
            category(priority="high"),
            "categories.billing.priority: a whole number from -1000 to 1000 (higher wins; default 0)",
        ),
        (
            category(label={"jp": "請求"}),
            "categories.billing.label.jp: unknown language (expected one of: ko, en)",
        ),
        (category(label={"en": ""}), "categories.billing.label.en: a non-empty text of at most 75 characters"),
        (
            category(label="x" * 76),
            "categories.billing.label: a non-empty text of at most 75 characters, or one per language (ko, en)",
        ),
        (config(ask_category="yes"), "ask_category: true or false"),
        (
            config(categories={f"c{i}": {"owners": ["U0BIZ"]} for i in range(101)}),
            "categories: at most 100 categories (Slack's select menu shows no more)",
        ),
        (
            config(default_category="sales", categories={"billing": {"owners": ["U0BIZ"]}}),
            "default_category: one of the categories (billing)",
        ),
        (config(texts={"after_hours": ""}), "texts.after_hours: a non-empty text of at most 4096 characters"),
        (config(business_hours=["default"]), "business_hours: a mapping of team name to timezone, weekly and holidays"),
        (
            hours(timezone="Asia/Seol"),
            'business_hours.default.timezone: an IANA time zone such as Asia/Seoul, not "Asia/Seol"',
        ),
        (
            hours(timezone="+09:00"),
            'business_hours.default.timezone: an IANA time zone such as Asia/Seoul, not "+09:00"',
        ),
        (hours(timezone=None), "business_hours.default.timezone: an IANA time zone such as Asia/Seoul"),
        (
            hours(weekly={"mon-fri": "09:00-18:00", "mon": "12:00-13:00"}),
            "business_hours.default.weekly: hours that do not overlap, but mon has 09:00-18:00 and 12:00-13:00",
        ),
        (
            hours(weekly={"wed": ["09:00-12:30", "12:00-18:00"]}),
            "business_hours.default.weekly: hours that do not overlap, but wed has 09:00-12:30 and 12:00-18:00",
        ),
        (
            hours(weekly={"mon": "22:00-06:00"}),
            "business_hours.default.weekly.mon: a range ending after it starts, not 22:00-06:00 "
            "(split a night: 22:00-24:00 and 00:00-06:00)",
        ),
        (
            hours(weekly={"mon": "9-18"}),
            f"business_hours.default.weekly.mon: {RANGE}",
        ),
        (
            hours(weekly={"mon": "09:00-24:30"}),
            f"business_hours.default.weekly.mon: {RANGE}",
        ),
        (
            hours(weekly={"monday": "09:00-18:00"}),
            "business_hours.default.weekly.monday: a day (mon, tue, wed, thu, fri, sat, sun) or a span of days such as "
            "mon-fri",
        ),
        (
            hours(weekly={"fri-mon": "09:00-18:00"}),
            "business_hours.default.weekly.fri-mon: a day (mon, tue, wed, thu, fri, sat, sun) or a span of days such "
            "as mon-fri, Monday to Sunday in order",
        ),
        (hours(weekly={"sat": "closed"}), "business_hours.default.weekly: hours on at least one day"),
        (
            hours(weekly="9-6"),
            'business_hours.default.weekly: a mapping of days to hours, e.g. {mon-fri: "09:00-18:00"}',
        ),
        (
            hours(holidays=["2026-02-30"]),
            'business_hours.default.holidays[0]: a date that exists ("2026-02-30" is not in the calendar)',
        ),
        (hours(holidays=["next monday"]), "business_hours.default.holidays[0]: a date YYYY-MM-DD"),
        (hours(holidays="2026-01-01"), "business_hours.default.holidays: a list of dates (YYYY-MM-DD)"),
        (
            hours(lunch="12:00-13:00"),
            "business_hours.default.lunch: unknown key (expected one of: timezone, weekly, holidays, auto_reply)",
        ),
    ],
)
def test_bad_routing_config_is_refused_with_one_line(data: object, message: str) -> None:
    assert error(data) == message


def test_example_configuration_documents_and_uses_routing() -> None:
    cfg = load_bot_config(EXAMPLE)
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in ("ask_category", "business_hours", "patterns", "priority", "first_response_minutes", "escalation"):
        assert key in text, key
    assert cfg.ask_category
    assert any(c.patterns for c in cfg.categories.values())
    assert any(c.escalation for c in cfg.categories.values())
    assert "default" in cfg.business_hours
    for c in cfg.categories.values():
        assert c.label_in("ko") and c.label_in("en")


def test_check_config_refuses_bad_routing_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(
        "slack: {inbox_channel: C0INBOX}\n"
        "business_hours:\n  default: {timezone: Mars/Olympus, weekly: {mon-fri: '09:00-18:00'}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("BOT_CONFIG", str(path))
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "configuration error: business_hours.default.timezone: an IANA time zone such as Asia/Seoul, "
        'not "Mars/Olympus"\n'
    )


def test_an_impossible_holiday_written_as_a_bare_yaml_date_names_its_key(tmp_path: Path) -> None:
    """YAML reads 2026-02-30 as a date and fails inside the parser, which names no key; the file says which."""
    path = tmp_path / "bot.yaml"
    path.write_text(
        "slack: {inbox_channel: C0INBOX}\n"
        "business_hours:\n  default:\n    timezone: Asia/Seoul\n    weekly: {mon-fri: '09:00-18:00'}\n"
        "    holidays: [2026-03-01, 2026-02-30]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_bot_config(path)
    expected = 'business_hours.default.holidays[1]: a date that exists ("2026-02-30" is not in the calendar)'
    assert str(caught.value) == expected
    path.write_text(path.read_text().replace("2026-02-30", "2026-02-28"), encoding="utf-8")
    assert load_bot_config(path).business_hours["default"].holidays == {date(2026, 3, 1), date(2026, 2, 28)}
