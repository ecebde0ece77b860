"""Log lines: text for people, JSON for collectors, both with the conversation, job and channel a line is about, and
both redacted on the whole line, tracebacks included."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.config import redact
from bot.observability.logs import formatter, log_context
from tests.conftest import BOT_TOKEN, BOT_YAML, SIGNING_SECRET, TELEGRAM_TOKEN, free_port, wait_until
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import BotProcess, bot_env

SECRET = 'pa"ss\\wörd-0123456789'  # a quote, a backslash and a non-ASCII letter: JSON escapes each of them


def record(message: str, *args: object, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    made = logging.LogRecord("bot.delivery.worker", logging.WARNING, __file__, 1, message, args, info)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def hide(line: str) -> str:
    return redact(line, [SECRET])


def test_json_lines_carry_time_level_logger_message_and_the_context() -> None:
    line = formatter("json", hide).format(record("job %s failed", 7, conversation=12, job=7, channel="telegram"))
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.delivery.worker"
    assert entry["message"] == "job 7 failed"
    assert (entry["conversation"], entry["job"], entry["channel"]) == (12, 7, "telegram")
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert "\n" not in line


async def test_the_task_s_context_is_on_every_line_it_logs_in_both_formats() -> None:
    log_context(job=40, conversation=3, channel="memory")
    entry = json.loads(formatter("json", hide).format(record("sending")))
    assert (entry["job"], entry["conversation"], entry["channel"]) == (40, 3, "memory")
    text = formatter("text", hide).format(record("sending"))
    assert text.endswith("bot.delivery.worker: sending [conversation=3 job=40 channel=memory]")
    given = json.loads(formatter("json", hide).format(record("other", job=41)))
    assert given["job"] == 41 and given["conversation"] == 3  # extra= wins, the rest comes from the task


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_are_redacted_from_the_message_and_the_traceback(log_format: str) -> None:
    try:
        raise RuntimeError(f"the server said {SECRET}")
    except RuntimeError as exc:
        line = formatter(log_format, hide).format(record("token %s refused", SECRET, exc=exc))
    assert "***" in line and "RuntimeError" in line
    for form in (SECRET, json.dumps(SECRET)[1:-1], json.dumps(SECRET, ensure_ascii=False)[1:-1], "wörd", "w\\u00f6rd"):
        assert form not in line
    if log_format == "json":
        entry = json.loads(line)
        assert entry["message"] == "token *** refused" and "Traceback" in entry["exception"]


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_the_running_bot_writes_its_format_with_context_and_no_secret(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, log_format: str
) -> None:
    env = bot_env(tmp_path, slack, telegram, f"sqlite:///{tmp_path}/db.sqlite", BOT_YAML, LOG_LEVEL="DEBUG",
                  LOG_FORMAT=log_format)  # fmt: skip
    bot = BotProcess(env, free_port(), tmp_path / "bot.log")
    await bot.start()
    try:
        slack.fail("chat.postMessage", status=503)  # one retry, logged with the job it is about
        telegram.push_text(99, "hello")
        await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 2, timeout=20)
        whole = bot.log_path.read_text
        await wait_until(lambda: "retrying" in whole(errors="replace"), timeout=10, what="the retry in the log")
    finally:
        await bot.stop()
    log = bot.log_path.read_text(errors="replace")
    for secret in (BOT_TOKEN, SIGNING_SECRET, TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1]):
        assert secret not in log
    lines = [line for line in log.splitlines() if line.strip()]
    retry = next(line for line in lines if "retrying" in line)
    if log_format == "json":
        entries = [json.loads(line) for line in lines]  # every line is one JSON object
        assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
        assert any(entry["level"] == "DEBUG" for entry in entries)
        entry = json.loads(retry)
        assert entry["channel"] == "slack" and isinstance(entry["job"], int) and entry["conversation"] == 1
    else:
        assert "channel=slack" in retry and "conversation=1" in retry and "job=" in retry
        with pytest.raises(ValueError):
            json.loads(lines[0])
