"""Start and stop whatever the world does: a refused token, an unreachable Slack in Socket Mode, a taken port, a
setting that lies. Each says what is wrong in one line, never prints a secret, and stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BOT_TOKEN, BOT_YAML, SIGNING_SECRET, TELEGRAM_TOKEN, BotFactory, free_port, wait_until
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import BotProcess, bot_env

REFUSED_TOKEN = "987654321:AAEveryWordOfThisTokenIsSecret-9876543210"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, TELEGRAM_TOKEN, REFUSED_TOKEN, REFUSED_TOKEN.split(":")[1])


async def health(bot: Any) -> tuple[int, dict[str, Any]]:
    async with bot.http.get(f"{bot.rt.url}/healthz") as response:
        return response.status, await response.json()


async def test_a_telegram_token_telegram_refuses_is_said_once_and_healthz_gives_the_reason(
    bot_factory: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_factory(wait_connected=False, TELEGRAM_BOT_TOKEN=REFUSED_TOKEN) as bot:
        await wait_until(lambda: bot.rt.connectors["telegram"].health().state == "failed", what="the refusal noticed")
        status, body = await health(bot)
        assert status == 503
        assert body["telegram"] == "failed: Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized)"
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "TELEGRAM_BOT_TOKEN" in errors[0].getMessage()
        calls = len(bot.telegram.calls)
        await asyncio.sleep(1.0)  # a refused token is not hammered: it will not start working by itself
        assert len(bot.telegram.calls) == calls


async def test_a_slack_token_slack_refuses_is_said_once_and_nothing_is_posted(
    bot_factory: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_factory(SLACK_BOT_TOKEN="xoxb-revoked-token") as bot:
        status, body = await health(bot)
        assert status == 503 and body["slack"] == "failed: Slack refused SLACK_BOT_TOKEN (invalid_auth)"
        update = bot.telegram.push_text(4321, "still heard")
        await wait_until(lambda: (bot.telegram.confirmed_offset or 0) > update, what="the message stored")
        await asyncio.sleep(0.5)
        assert bot.slack.calls_to("chat.postMessage") == []  # no job burnt into a permanent failure
        async with bot.rt.db.reading() as tx:
            counts = await tx.outbox.counts()
        assert counts.get("failed", 0) == 0 and counts.get("pending", 0) >= 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "SLACK_BOT_TOKEN" in errors[0] and "xoxb-revoked-token" not in caplog.text


async def test_refused_tokens_stop_cleanly_on_sigterm_and_print_no_secret(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    database = f"sqlite:///{tmp_path}/db.sqlite"
    env = bot_env(tmp_path, slack, telegram, database, BOT_YAML, TELEGRAM_BOT_TOKEN=REFUSED_TOKEN)
    bot = BotProcess(env, free_port(), tmp_path / "bot.log")
    await bot.launch()
    try:
        await wait_until(lambda: "TELEGRAM_BOT_TOKEN" in bot.log(), timeout=30, what="the refusal in the log")
        answer = await bot.health()
        assert answer is not None and answer[0] == 503 and answer[1]["telegram"].startswith("failed:")
    finally:
        await bot.stop()
    assert bot.proc is not None and bot.proc.returncode == 0
    log = bot.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "stopped" in log
    assert sum("ERROR" in line for line in log.splitlines()) == 1
    for secret in SECRETS:
        assert secret not in log


async def test_socket_mode_with_slack_unreachable_starts_keeps_messages_and_stops_within_5_seconds(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    await slack.refuse_connections()
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML, SLACK_APP_TOKEN="xapp-test")
    bot = BotProcess(env, free_port(), tmp_path / "bot.log")
    await bot.launch()
    try:

        async def connecting() -> bool:
            answer = await bot.health()
            return answer is not None and answer[1].get("slack") == "starting: connecting to Slack (Socket Mode)"

        await wait_until(connecting, timeout=30, what="/healthz saying Slack is connecting")
        update = telegram.push_text(2468, "heard while Slack is away")
        await wait_until(lambda: (telegram.confirmed_offset or 0) > update, timeout=20, what="the message stored")
        assert bot.proc is not None
        started = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.proc.wait(), 10)
        assert time.monotonic() - started < 5.0 and bot.proc.returncode == 0
    finally:
        await bot.stop()
    assert "Traceback" not in bot.log_path.read_text(errors="replace")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in the folder of the test's config file (never the repository: no .env is read)."""
    cwd = Path(env["BOT_CONFIG"]).parent
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


async def test_a_port_already_in_use_stops_the_bot_with_one_line(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML, PORT=str(port))
        result = await asyncio.to_thread(run, env)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("configuration error")]
    assert lines == [lines[0]] and f"PORT: {port} cannot be used" in lines[0]
    assert "Traceback" not in result.stderr


def webhook(url: str) -> dict[str, str]:
    return {"TELEGRAM_WEBHOOK_URL": url, "TELEGRAM_WEBHOOK_SECRET": "s3cret"}


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        (webhook("http://bot.example.com/telegram/webhook"), "TELEGRAM_WEBHOOK_URL"),  # not https
        (webhook("https://bot.example.com/hooks/tg"), "TELEGRAM_WEBHOOK_URL"),  # not where the bot answers
    ],
)
async def test_settings_that_lie_stop_the_bot_and_check_config_with_one_line(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, extra: dict[str, str], key: str
) -> None:
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML, **extra)
    for args in (("check-config",), ()):
        result = await asyncio.to_thread(run, env, *args)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"configuration error: {key}:"), lines
    assert slack.calls == [] and telegram.calls == []


async def test_an_impossible_holiday_stops_the_bot_and_check_config_with_one_line(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML)
    hours = "business_hours:\n  default:\n    timezone: Asia/Seoul\n    weekly: {mon-fri: '09:00-18:00'}\n"
    with open(env["BOT_CONFIG"], "a", encoding="utf-8") as config:  # noqa: ASYNC230 - a small test file
        config.write(hours + "    holidays: [2026-02-30]\n")
    for args in (("check-config",), ()):
        result = await asyncio.to_thread(run, env, *args)
        assert result.returncode == 2
        assert result.stderr.strip() == (
            'configuration error: business_hours.default.holidays[0]: a date that exists ("2026-02-30" is not in '
            "the calendar)"
        )
