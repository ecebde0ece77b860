"""Slack answers that are not JSON (a proxy's HTML 502 page, plain text, a list) are a temporary failure everywhere:
deliveries retry and land, lookups fall back, commands answer politely, and no traceback is logged.

What slack_sdk 3.48 does with each of these bodies is listed in ``bot.slack.answers``; the fake Slack sends them as
a proxy in front of Slack would, and the real client reads them.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.slack.blocks import CLAIM
from bot.slack.customer_blocks import NOTE
from bot.slack.workspace import FALLBACK_WORKSPACE_URL, WORKSPACE_URL_KEY
from bot.store.schema import outbox
from tests.conftest import STAFF, STAFF2, Bot, BotFactory, wait_until
from tests.customer_helpers import click, customer_of, customer_writes, person
from tests.fakes.faults import RawBody

CHAT = 7201
ANA = person(CHAT, "Ana", "Lopez", "ana_l")
BAD_GATEWAY = "<html><head><title>502 Bad Gateway</title></head><body><center>502 Bad Gateway</center></body></html>"

NOT_JSON: dict[str, tuple[int, RawBody]] = {
    "an HTML 502 page": (502, RawBody(BAD_GATEWAY, "text/html")),
    "plain text with 502": (502, RawBody("upstream connect error or disconnect/reset before headers", "text/plain")),
    "plain text with 200": (200, RawBody("upstream connect error or disconnect/reset before headers", "text/plain")),
    "an HTML page labelled JSON": (502, RawBody(BAD_GATEWAY, "application/json")),
    "a JSON list": (200, RawBody('["ok"]', "application/json")),
    "JSON null": (200, RawBody("null", "application/json")),
    "gzip with 200": (200, RawBody(b"\x1f\x8b\x08\x00", "application/gzip")),
    "gzip with 502": (502, RawBody(b"\x1f\x8b\x08\x00", "application/gzip")),
}
CASES = list(NOT_JSON)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.exc_text]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("case", CASES)
async def test_a_slack_job_hit_by_a_body_that_is_not_json_is_retried_then_delivered(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    status, body = NOT_JSON[case]
    bot.slack.fail("chat.postMessage", status=status, body=body, times=2)
    bot.telegram.push_text(CHAT, "is anyone there?")
    thread = await bot.thread_for(CHAT, timeout=15)
    await bot.thread_text(thread, "is anyone there?", timeout=15)
    await bot.idle()
    assert [c.status for c in bot.slack.calls_to("chat.postMessage")][:2] == [status, status]
    assert tracebacks(caplog) == []
    retries = [w for w in warnings(caplog) if "retrying" in w]
    assert len(retries) == 2 and all("\n" not in w for w in retries), retries
    async with bot.rt.db.transaction() as tx:
        errors = (await tx.conn.execute(select(outbox.c.last_error).where(outbox.c.attempts > 0))).scalars().all()
    assert errors and all(e and "\n" not in e for e in errors), errors


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"])
async def test_a_file_upload_hit_by_an_html_502_is_retried_then_uploaded(
    bot: Bot, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    bot.telegram.push_text(CHAT, "a screenshot follows")
    thread = await bot.thread_for(CHAT)
    bot.slack.fail(method, status=502, body=RawBody(BAD_GATEWAY, "text/html"), times=1)
    bot.telegram.push_photo(CHAT, b"\x89PNG screenshot", caption="the error")
    await bot.slack.wait_for(lambda: len(bot.slack.uploads) == 1, timeout=15)
    await bot.idle()
    assert bot.slack.uploads[0]["content"] == b"\x89PNG screenshot" and bot.slack.uploads[0]["thread_ts"] == thread[1]
    assert bot.slack.calls_to(method)[0].status == 502
    assert tracebacks(caplog) == []
    assert len([w for w in warnings(caplog) if "retrying" in w]) == 1, warnings(caplog)


@pytest.mark.parametrize("case", CASES)
async def test_history_while_the_staff_lookup_gets_a_body_that_is_not_json_answers_politely(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    status, body = NOT_JSON[case]
    bot.slack.fail("conversations.members", status=status, body=body, times=1)
    caplog.clear()
    answer = await bot.command("/history", "refund")
    assert answer["text"].startswith("Sorry, I could not check with Slack that you are on the support team")
    assert tracebacks(caplog) == []
    assert len(warnings(caplog)) == 1 and "staff channels" in warnings(caplog)[0], warnings(caplog)
    answer = await bot.command("/history", "refund")  # Slack is back: the next try is answered
    assert "Nothing found for “refund”" in answer["blocks"][0]["text"]["text"]


@pytest.mark.parametrize("case", CASES)
async def test_a_staff_reply_while_the_name_lookup_gets_a_body_that_is_not_json_still_reaches_the_customer(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    status, body = NOT_JSON[case]
    bot.telegram.push_text(CHAT, "hello")
    thread = await bot.thread_for(CHAT)
    bot.slack.fail("users.info", status=status, body=body, times=1)
    caplog.clear()
    await bot.staff_reply(thread, "Hi, how can I help?")  # answered 200: Slack does not resend it
    await bot.idle()
    assert bot.telegram.sent_texts(CHAT)[-1] == "Hi, how can I help?"
    assert tracebacks(caplog) == []
    assert [w for w in warnings(caplog) if STAFF in w and "look up" in w], warnings(caplog)


@pytest.mark.parametrize("case", ["an HTML page labelled JSON", "plain text with 200", "gzip with 502"])
async def test_a_whisper_that_gets_a_body_that_is_not_json_logs_one_line(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    status, body = NOT_JSON[case]
    bot.telegram.push_text(CHAT, "hello")
    await bot.thread_for(CHAT)
    conversation = await bot.conversation_id_for(CHAT)
    await click(bot, CLAIM, str(conversation))
    await bot.idle()
    bot.slack.fail("chat.postEphemeral", status=status, body=body, times=1)
    caplog.clear()
    await click(bot, CLAIM, str(conversation), user=STAFF2)  # already held: only STAFF2 is told, by a whisper
    await bot.slack.wait_for_calls("chat.postEphemeral")
    await wait_until(lambda: warnings(caplog), what="the whisper's failure logged")
    assert tracebacks(caplog) == []
    assert [w for w in warnings(caplog) if w.startswith(f"could not tell {STAFF2}: ")] == warnings(caplog)
    assert len(warnings(caplog)) == 1 and "\n" not in warnings(caplog)[0]


async def test_a_form_that_cannot_open_because_slack_answers_html_logs_one_line(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await customer_writes(bot, CHAT, "hello", ANA)
    customer = await customer_of(bot, CHAT)
    bot.slack.fail("views.open", status=200, body=RawBody("maintenance", "text/plain"), times=1)
    caplog.clear()
    await click(bot, NOTE, f"customer:{customer}")
    await wait_until(lambda: warnings(caplog), what="the form's failure logged")
    assert tracebacks(caplog) == []
    assert warnings(caplog) == [
        "could not open the note form: SlackUnreadable: Slack answered with something that "
        "is not a JSON object ('str' object has no attribute 'get')"
    ]


@pytest.mark.parametrize("case", ["plain text with 200", "a JSON list", "gzip with 200", "an HTML page labelled JSON"])
async def test_a_start_while_auth_test_gets_a_body_that_is_not_json_uses_the_remembered_workspace(
    bot_factory: BotFactory, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    status, body = NOT_JSON[case]
    async with bot_factory() as first, first.rt.db.transaction() as tx:
        remembered = await tx.archive.get_setting(WORKSPACE_URL_KEY)
    assert remembered and remembered != FALLBACK_WORKSPACE_URL
    first.slack.fail("auth.test", status=status, body=body, times=1)
    caplog.clear()
    async with bot_factory() as bot:
        bot.telegram.push_text(CHAT, "hello after a restart")
        await bot.thread_text(await bot.thread_for(CHAT), "hello after a restart")
    assert tracebacks(caplog) == []
    started = [w for w in warnings(caplog) if w.startswith("Slack auth.test failed at start")]
    assert len(started) == 1 and started[0].endswith(f"; using {remembered}"), warnings(caplog)
