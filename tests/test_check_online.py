"""``check-config --online``: the configuration checked against (fake) Slack and Telegram, read-only; one line per
check, and each kind of failure said with what to fix."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot as TelegramBot

from bot.cli.online import lines, online_checks
from bot.connectors.base import CheckResult
from tests.conftest import BILLING, INBOX, TELEGRAM_TOKEN, free_port, make_config
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import ROOT, bot_env

LEADS = "C0LEADS"
HOOK = "https://bot.example.test/telegram/webhook"
WEBHOOK = {"TELEGRAM_WEBHOOK_URL": HOOK, "TELEGRAM_WEBHOOK_SECRET": "hook-secret"}
YAML: dict[str, Any] = {
    "language": "en",
    "slack": {"inbox_channel": INBOX, "staff_groups": ["S0SUPPORT"]},
    "categories": {
        "billing": {
            "label": "Billing", "owners": ["U0BIZ", "S0BILLING"], "channel": BILLING, "keywords": ["refund"],
            "first_response_minutes": 10, "escalation": {"after_minutes": 20, "to": LEADS},
        },
        "bugs": {
            "label": "Bugs", "owners": ["U0DEV"], "keywords": ["error"],
            "first_response_minutes": 30, "escalation": {"after_minutes": 10, "to": "U0LEAD"},
        },
    },
}  # fmt: skip
EVERY_CHECK = [
    "Slack token", "Slack scopes", f"Slack channel {INBOX} (inbox, staff)",
    f"Slack channel {BILLING} (category billing, staff)", f"Slack channel {LEADS} (escalations of billing)",
    "Slack user U0BIZ (owner of billing)", "Slack user U0DEV (owner of bugs)",
    "Slack user U0LEAD (escalations of bugs)",
    "Slack user group S0BILLING (owner of billing)", "Slack user group S0SUPPORT (staff)",
    "Telegram token", "Telegram webhook",
]  # fmt: skip
READ_ONLY_SLACK = {"auth.test", "conversations.info", "users.info", "usergroups.list"}
READ_ONLY_TELEGRAM = {"getme", "getwebhookinfo"}


@pytest.fixture(autouse=True)
def workspace(slack: FakeSlack) -> None:
    """A workspace where everything the YAML names exists, with the bot in every channel."""
    for user in ("U0BIZ", "U0DEV", "U0LEAD"):
        slack.add_user(user, name=user.lower())
    slack.add_usergroup("S0BILLING", ["U0BIZ"], handle="billing-team")
    slack.add_usergroup("S0SUPPORT", ["U0STAFF"], handle="support")
    slack.add_channel(INBOX, "inbox")
    slack.add_channel(BILLING, "billing")
    slack.add_channel(LEADS, "leads")


async def check(database_url: str, slack: FakeSlack, telegram: FakeTelegram, **env: str) -> list[CheckResult]:
    slack.calls.clear()
    telegram.calls.clear()
    results = await online_checks(make_config(database_url, slack, telegram, bot_yaml=YAML, **env))
    assert {c.method for c in slack.calls} <= READ_ONLY_SLACK
    assert {c.method.lower() for c in telegram.calls} <= READ_ONLY_TELEGRAM
    return results


def failures(results: list[CheckResult]) -> dict[str, str]:
    return {r.name: r.detail for r in results if not r.ok}


async def set_webhook(telegram: FakeTelegram, url: str) -> None:
    bot = TelegramBot(TELEGRAM_TOKEN, base_url=telegram.base_url)
    async with bot:
        await bot.set_webhook(url, secret_token="hook-secret")


async def test_everything_in_place_passes_one_line_per_check(
    database_url: str, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    results = await check(database_url, slack, telegram)
    assert [r.name for r in results] == EVERY_CHECK
    assert failures(results) == {}
    shown = lines(results)
    assert shown[0] == "OK    Slack token: valid for Example as @threadbridge"
    assert f"OK    Slack channel {LEADS} (escalations of billing): #leads, the bot is a member" in shown
    assert "OK    Slack user group S0BILLING (owner of billing): @billing-team" in shown
    assert "OK    Telegram webhook: none set: the bot long-polls getUpdates" in shown


async def test_a_webhook_set_where_configured_passes(
    database_url: str, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    await set_webhook(telegram, HOOK)
    results = await check(database_url, slack, telegram, **WEBHOOK)
    assert failures(results) == {} and results[-1].detail == f"set to {HOOK}"


def without_scopes(*scopes: str) -> Callable[[FakeSlack], None]:
    return lambda slack: setattr(slack, "scopes", [s for s in slack.scopes if s not in scopes])


SLACK_FAILURES: list[tuple[str, Callable[[FakeSlack], None], dict[str, str]]] = [
    ("channel missing", lambda s: s.missing_channel(BILLING),
     {f"Slack channel {BILLING} (category billing, staff)": "not found: check the id"}),
    ("bot not in the channel", lambda s: s.add_channel(LEADS, "leads", member=False),
     {f"Slack channel {LEADS} (escalations of billing)": "the bot is not in #leads: /invite @threadbridge there"}),
    ("private channel without the bot", lambda s: s.add_channel(LEADS, "leads", private=True, member=False),
     {f"Slack channel {LEADS} (escalations of billing)": "not found: check the id, and invite the bot"}),
    ("archived channel", lambda s: s.add_channel(LEADS, "leads", archived=True),
     {f"Slack channel {LEADS} (escalations of billing)": "#leads is archived"}),
    ("owner unknown", lambda s: s.users.pop("U0DEV"),
     {"Slack user U0DEV (owner of bugs)": "no such user in this workspace"}),
    ("owner deactivated", lambda s: s.add_user("U0LEAD", name="lead", deleted=True),
     {"Slack user U0LEAD (escalations of bugs)": "@lead is deactivated"}),
    ("user group unknown", lambda s: (s.usergroups.pop("S0SUPPORT"), s.usergroup_info.pop("S0SUPPORT")),
     {"Slack user group S0SUPPORT (staff)": "no such user group"}),
    ("user group disabled", lambda s: s.add_usergroup("S0BILLING", [], handle="billing-team", disabled=True),
     {"Slack user group S0BILLING (owner of billing)": "@billing-team is disabled"}),
    ("no usergroups:read", without_scopes("usergroups:read"),
     {"Slack scopes": "missing usergroups:read (for user groups S0BILLING, S0SUPPORT)",
      "Slack user group S0BILLING (owner of billing)": "missing_scope: the token lacks usergroups:read",
      "Slack user group S0SUPPORT (staff)": "missing_scope: the token lacks usergroups:read"}),
    ("no reactions:read", without_scopes("reactions:read"),
     {"Slack scopes": "missing reactions:read (for emoji that claim and close (reactions))"}),
    ("a private channel without groups scopes", lambda s: (s.add_channel(LEADS, "leads", private=True),
                                                           without_scopes("groups:read", "groups:history")(s)),
     {"Slack scopes": "missing groups:history (for private channels",
      f"Slack channel {LEADS} (escalations of billing)": "missing_scope: the token lacks groups:read"}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "setup", "expected"), SLACK_FAILURES, ids=[c[0] for c in SLACK_FAILURES])
async def test_each_slack_failure_is_one_line_saying_what_to_fix(
    database_url: str, slack: FakeSlack, telegram: FakeTelegram, case: str, setup: Callable[[FakeSlack], None],
    expected: dict[str, str],
) -> None:  # fmt: skip
    setup(slack)
    found = failures(await check(database_url, slack, telegram))
    assert set(found) == set(expected), found
    for name, words in expected.items():
        assert words in found[name], (name, found[name])


async def test_a_refused_slack_token_stops_the_slack_checks_and_the_channels_are_still_asked(
    database_url: str, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    results = await check(database_url, slack, telegram, SLACK_BOT_TOKEN="xoxb-revoked")
    assert [r.name for r in results] == ["Slack token", "Telegram token", "Telegram webhook"]
    assert failures(results) == {"Slack token": "Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User "
                                                "OAuth Token (xoxb-…) from OAuth & Permissions"}  # fmt: skip


async def test_a_refused_telegram_token(database_url: str, slack: FakeSlack, telegram: FakeTelegram) -> None:
    results = await check(database_url, slack, telegram, TELEGRAM_BOT_TOKEN="999:REFUSED")
    assert results[-1].name == "Telegram token"
    refused = "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): copy the token @BotFather gives for the bot"
    assert failures(results) == {"Telegram token": f"{refused} (/mybots → API Token)"}


async def test_webhook_failures(database_url: str, slack: FakeSlack, telegram: FakeTelegram) -> None:
    name = "Telegram webhook"
    not_set = failures(await check(database_url, slack, telegram, **WEBHOOK))
    assert list(not_set) == [name] and not_set[name].startswith(f"not set: the bot sets it to {HOOK} when it starts")

    other = "https://elsewhere.example.test/telegram/webhook"
    await set_webhook(telegram, other)
    elsewhere = failures(await check(database_url, slack, telegram, **WEBHOOK))
    assert elsewhere[name].startswith(f"set to {other}, not TELEGRAM_WEBHOOK_URL")
    polling = failures(await check(database_url, slack, telegram))
    assert polling[name].startswith("a webhook is set (https://elsewhere.example.test/telegram/webhook) but "
                                    "TELEGRAM_WEBHOOK_URL is not: starting in polling mode removes it")  # fmt: skip

    await set_webhook(telegram, HOOK)
    telegram.webhook_proxy = f"http://127.0.0.1:{free_port()}"  # Telegram cannot reach the bot
    await telegram.deliver_webhook(telegram.push_text(77, "hello?"), timeout=2)
    unreachable = failures(await check(database_url, slack, telegram, **WEBHOOK))
    assert unreachable[name].startswith(f"set to {HOOK}, but Telegram's last delivery failed")
    assert "ClientConnectorError" in unreachable[name]


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "check-config", "--online"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


async def test_the_command_prints_one_line_per_check_and_exits_0_only_when_all_pass(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", YAML)
    passed = await asyncio.to_thread(run, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    shown = passed.stdout.strip().splitlines()
    checks = [line for line in shown if line.startswith(("OK", "FAIL"))]
    assert len(checks) == len(EVERY_CHECK) and all(line.startswith("OK") for line in checks)
    assert shown[-1] == f"all {len(EVERY_CHECK)} checks passed"

    slack.missing_channel(LEADS)
    failed = await asyncio.to_thread(run, env)
    assert failed.returncode == 1
    assert [line for line in failed.stdout.splitlines() if line.startswith("FAIL")] == [
        f"FAIL  Slack channel {LEADS} (escalations of billing): not found: check the id, and invite the bot if the "
        "channel is private (/invite @threadbridge)"
    ]
    assert failed.stdout.strip().splitlines()[-1] == f"{len(EVERY_CHECK) - 1} of {len(EVERY_CHECK)} checks passed"
    assert "Traceback" not in failed.stderr
