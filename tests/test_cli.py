"""The command line as an operator meets it: check-config, start-up refusals, and logs free of secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.conftest import BOT_TOKEN, BOT_YAML, SIGNING_SECRET, TELEGRAM_TOKEN, free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import BotProcess, bot_env


def run_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in ``cwd``, the test's own folder (a timeout kills it)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


async def test_check_config_accepts_a_good_config_without_connecting(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML)
    result = run_cli(env, "check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout and "billing" in result.stdout
    assert slack.calls == [] and telegram.calls == []


async def test_bad_configuration_stops_the_bot_with_one_line_naming_the_key(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML)
    missing = {k: v for k, v in env.items() if k != "SLACK_BOT_TOKEN"}
    for args in (("check-config",), ()):
        result = run_cli(missing, *args, cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0]

    bad_yaml = {**BOT_YAML, "categories": {"billing": {"label": "x", "owners": []}}}
    result = run_cli(bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", bad_yaml), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "categories.billing.owners" in result.stderr
    assert slack.calls == [] and telegram.calls == []


async def test_the_running_bot_never_logs_a_secret(tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram) -> None:
    env = bot_env(
        tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML, LOG_LEVEL="DEBUG"
    )
    bot = BotProcess(env, free_port(), tmp_path / "bot.log")
    await bot.start()
    try:
        telegram.push_text(99, "hello")
        await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 2, timeout=20)
        async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/healthz") as response:
            assert response.status == 200
    finally:
        await bot.stop()
    log = bot.log_path.read_text(errors="replace")
    assert "threadbridge is running" in log and "DEBUG" in log
    for secret in (BOT_TOKEN, SIGNING_SECRET, TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1]):
        assert secret not in log
