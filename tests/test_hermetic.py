"""The suite is hermetic: a developer's `.env` and exported variables never reach the bot under test, and no
process a test starts outlives it.

A newcomer who followed the README has a `.env` in the checkout and, often, the same variables exported. This runs
representative tests (the bot as a process, the command line, the bot in-process) in a copy of the checkout that
has a hostile `.env` at its root, with the same hostile variables in their environment, and they must pass as they
do anywhere else. The checkout itself is never touched, so no `.env` can be left behind in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BOT_YAML, free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import ROOT, BotProcess, bot_env, bot_processes_of_this_run, child_env, stop_all

HOSTILE = {
    "SLACK_BOT_TOKEN": "xoxb-the-developers-real-token",
    "SLACK_SIGNING_SECRET": "the-developers-signing-secret",
    "SLACK_APP_TOKEN": "xapp-1-the-developers-app-token",  # Socket Mode, which the fake refuses: a bot that never
    "SLACK_API_URL": "http://127.0.0.1:9/api/",  # becomes ready, and a port nobody listens on
    "SLACK_CLIENT_ID": "1.2",  # with the secret, Bolt turns on its OAuth flow by itself
    "SLACK_CLIENT_SECRET": "oauth-secret",
    "TELEGRAM_BOT_TOKEN": "not a telegram token",
    "TELEGRAM_WEBHOOK_URL": "https://example.invalid/telegram/webhook",
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/somewhere_else",
    "BOT_CONFIG": "/nonexistent/bot.yaml",
    "PORT": "not-a-port",
    "LOG_LEVEL": "NOT-A-LEVEL",
    "WORKER_ID": "the-developers-laptop",
    "SLACK_POSTS_PER_SECOND": "1000",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
}
REPRESENTATIVE = (
    "tests/test_cli.py",  # python -m bot: check-config, refusals, a running bot process
    "tests/test_bridge.py::test_staff_reply_reaches_the_customer_and_notes_stay_internal",  # the bot in-process
    "tests/test_routing_config.py::test_check_config_refuses_bad_routing_in_one_line",  # main() in-process
)
COPIED = ("bot", "config", "tests", "pyproject.toml")


def hostile_checkout(tmp_path: Path) -> Path:
    """A copy of the code and the tests, with the hostile settings in a `.env` at its root."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns("__pycache__", ".env"))
        else:
            shutil.copy2(source, checkout / name)
    (checkout / ".env").write_text("".join(f"{k}={v}\n" for k, v in HOSTILE.items()), encoding="utf-8")
    return checkout


def run_in(checkout: Path, args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in its own process group, and kill the whole group afterwards, whatever happened:
    a bot that a failing run left behind goes with it."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def test_the_hostile_dotenv_is_what_the_bot_reads_in_that_folder(tmp_path: Path) -> None:
    """The control: run where the `.env` is, the bot does read it (so the suite passing below means something)."""
    checkout = hostile_checkout(tmp_path)
    result = run_in(checkout, ["-m", "bot", "check-config"], child_env(), timeout=60)
    assert result.returncode == 2, result.stdout
    assert any(f"error: {name}:" in result.stdout for name in HOSTILE), result.stdout  # a hostile value, read


def test_a_dotenv_and_exported_settings_do_not_reach_the_tests(tmp_path: Path) -> None:
    checkout = hostile_checkout(tmp_path)
    env = child_env(**HOSTILE)
    if "TEST_DATABASE_URL" in os.environ:  # the suite's own setting: the inner run uses the same database server
        env["TEST_DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    result = run_in(checkout, ["-m", "pytest", "-q", "-p", "no:cacheprovider", *REPRESENTATIVE], env, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "5 passed" in result.stdout, result.stdout[-3000:]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_a_bot_that_never_becomes_ready_is_stopped_within_bounds(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    """Socket Mode with an app token Slack refuses: the bot retries apps.connections.open and never gets ready.
    A test that gives up waiting for it leaves nothing behind, whether SIGTERM stopped the bot or SIGKILL had to."""
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML, SLACK_APP_TOKEN="xapp-no")
    bot = BotProcess(env, free_port(), tmp_path / "bot.log", stop_timeout=2)
    starting = asyncio.create_task(bot.start(timeout=120))
    await slack.wait_for(lambda: bool(slack.calls_to("apps.connections.open")), timeout=60, message="Socket Mode")
    starting.cancel()  # the test gives up (a failure, a timeout) while the bot is stuck connecting
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert bot.pid is not None and not alive(bot.pid)
    assert bot.pid not in bot_processes_of_this_run()


async def test_a_bot_a_test_did_not_stop_is_stopped_after_it(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram
) -> None:
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML)
    bot = BotProcess(env, free_port(), tmp_path / "bot.log")
    await bot.start()
    assert bot.pid in bot_processes_of_this_run()
    assert await stop_all() == [bot.pid]  # what the autouse fixture runs after every test
    assert bot.pid is not None and not alive(bot.pid)


FORGETFUL_TEST = """
import subprocess
import sys

from tests.conftest import BOT_YAML, free_port
from tests.process import bot_env

FORGOTTEN = []


async def test_starts_a_bot_behind_the_suite_s_back(tmp_path, slack, telegram):
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML, PORT=str(free_port()))
    FORGOTTEN.append(subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp_path, env=env))
"""


def test_the_run_fails_and_kills_a_bot_process_that_outlived_it(tmp_path: Path) -> None:
    """A process started around the suite's helpers is still found at the end of the run, by the mark in its
    environment, killed, and reported as an error of the run."""
    checkout = hostile_checkout(tmp_path)
    (checkout / ".env").unlink()
    (checkout / "tests" / "test_forgetful.py").write_text(FORGETFUL_TEST, encoding="utf-8")
    env = child_env()
    if "TEST_DATABASE_URL" in os.environ:
        env["TEST_DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    result = run_in(checkout, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_forgetful.py"], env, 120)
    assert result.returncode != 0, result.stdout[-3000:]
    report = re.search(r"bot processes outlived the test run \(killed now\): \{(\d+):", result.stdout)
    assert report and "1 passed, 1 error" in result.stdout, result.stdout[-3000:]
    assert not alive(int(report.group(1)))
