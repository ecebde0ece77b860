"""Junk from outside gets a 4xx or a polite answer and one WARNING line, never a 500 and a traceback.

Requests to ``/slack/events`` are checked for Slack's signature before anything in them is read (401), and a signed
body that is not what Slack sends is refused (400). Numbers that no row can have (beyond a 64-bit integer, where
SQLite raises OverflowError and PostgreSQL's BIGINT overflows) get a polite answer, typed or in a button.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from bot.slack.blocks import CLAIM
from bot.slack.customer_blocks import EARLIER, HISTORY_MORE, MERGE, NOTE, NOTE_VIEW, PROFILE, STAGE
from bot.slack.routing_blocks import CATEGORY_SELECT, ROUTING_BLOCK_PREFIX
from tests.conftest import INBOX, OUTSIDER, SIGNING_SECRET, STAFF, Bot, BotFactory
from tests.customer_helpers import click, customer_of, customer_writes, person, responses, select_stage, shown, submit
from tests.fakes.slack_requests import (
    action_body,
    command_body,
    event_body,
    message_event,
    post_signed,
    select_action_body,
    sign,
)
from tests.test_export import cli

HUGE = "99999999999999999999"  # 20 digits: more than 2**63 - 1
ANA_CHAT = 7101
ANA = person(ANA_CHAT, "Ana", "Lopez", "ana_l")
MARKER = "forged-body-marker"  # in every junk body: no log line may repeat it


def logged(caplog: pytest.LogCaptureFixture) -> tuple[list[logging.LogRecord], list[logging.LogRecord]]:
    """(WARNING-or-worse records, records carrying a traceback) captured since the last clear."""
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    tracebacks = [r for r in caplog.records if r.exc_info or r.exc_text]
    return loud, tracebacks


def assert_one_warning(caplog: pytest.LogCaptureFixture, *words: str) -> str:
    loud, tracebacks = logged(caplog)
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    assert [r.levelname for r in loud] == ["WARNING"], [r.getMessage() for r in loud]
    line = loud[0].getMessage()
    assert "\n" not in line and MARKER not in line and SIGNING_SECRET not in line, line
    assert all(w in line for w in words), line
    return line


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    loud, tracebacks = logged(caplog)
    assert tracebacks == [] and loud == [], [r.getMessage() for r in loud]


# --- the Slack endpoint ----------------------------------------------------------------------------------------

EVENT = event_body(message_event(INBOX, "U0STAFF", MARKER, thread_ts="1700000000.000100"))
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def signed(body: bytes, content_type: str | None, *, secret: str = SIGNING_SECRET, age: int = 0) -> dict[str, str]:
    headers = sign(body, secret, int(time.time()) - age)
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def garbled(timestamp: str, signature: str) -> Callable[[bytes, str], dict[str, str]]:
    def headers(body: bytes, content_type: str) -> dict[str, str]:
        return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}

    return headers


def valid_signature_but(timestamp: str) -> Callable[[bytes, str], dict[str, str]]:
    """The signature Slack would compute over this timestamp text, so only the timestamp itself is wrong."""

    def headers(body: bytes, content_type: str) -> dict[str, str]:
        base = f"v0:{timestamp}:".encode() + body
        digest = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
        return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": digest}

    return headers


UNSIGNED_CASES: dict[str, tuple[bytes, Callable[[bytes, str], dict[str, str]], str]] = {
    "no signature": (EVENT, lambda body, ct: {"Content-Type": ct}, "signature"),
    "timestamp abc": (EVENT, valid_signature_but("abc"), "timestamp"),
    "timestamp of 5000 digits": (EVENT, valid_signature_but("9" * 5000), "timestamp"),
    "timestamp in other digits": (EVENT, valid_signature_but("١٧٠٠٠٠٠٠٠٠"), "timestamp"),
    "timestamp with underscores": (EVENT, valid_signature_but(f"{int(time.time()):_}"), "timestamp"),
    "negative timestamp": (EVENT, valid_signature_but("-1"), "timestamp"),
    "garbled timestamp": (EVENT, garbled("1e9", "v0=" + "0" * 64), "timestamp"),
    "stale": (EVENT, lambda body, ct: signed(body, ct, age=600), "timestamp"),
    "from the future": (EVENT, lambda body, ct: signed(body, ct, age=-600), "timestamp"),
    "wrong secret": (EVENT, lambda body, ct: signed(body, ct, secret="someone-else"), "signature"),
    "signature not hex": (EVENT, lambda body, ct: {**signed(body, ct), "X-Slack-Signature": "v0=zz"}, "signature"),
    "signature not ascii": (
        EVENT,
        lambda body, ct: {**signed(body, ct), "X-Slack-Signature": "v0=\u00e9" * 3},
        "signature",
    ),
    "unsigned binary": (b"\x89PNG\r\n\x1a\n\xff\xfe\x00" + MARKER.encode(), lambda body, ct: {}, "signature"),
    "unsigned malformed JSON": (b'{"type": "' + MARKER.encode(), lambda body, ct: {"Content-Type": ct}, "signature"),
}


@pytest.mark.parametrize("case", list(UNSIGNED_CASES))
async def test_requests_without_a_valid_signature_get_401_and_one_warning(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, headers, word = UNSIGNED_CASES[case]
    caplog.clear()
    async with bot.http.post(bot.events_url, data=body, headers=headers(body, JSON)) as response:
        assert response.status == 401, await response.text()
    assert_one_warning(caplog, word)


SIGNED_CASES: dict[str, tuple[bytes, str | None, str]] = {
    "malformed JSON": (b'{"type": "event_callback", "event": {"text": "' + MARKER.encode(), JSON, "JSON"),
    "a JSON array": (json.dumps([{"type": "event_callback", "m": MARKER}]).encode(), JSON, "JSON object"),
    "a JSON string": (json.dumps(MARKER).encode(), JSON, "JSON object"),
    "JSON with a form content type": (b'{"type": "' + MARKER.encode(), FORM, "JSON"),
    "a broken payload form": (b"payload=%7B%22type%22%3A%22block_actions" + MARKER.encode(), FORM, "payload"),
    "a payload that is a JSON array": (urlencode({"payload": json.dumps([MARKER])}).encode(), FORM, "payload"),
    "binary": (b"\x89PNG\r\n\x1a\n\xff\xfe\x00" + MARKER.encode(), "application/octet-stream", "UTF-8"),
    "binary as a form": (b"payload=\xff\xfe" + MARKER.encode(), FORM, "UTF-8"),
    "empty": (b"", FORM, "empty"),
    "an event that is not an object": (
        json.dumps({"type": "event_callback", "event": MARKER, "event_id": "Ev1"}).encode(),
        JSON,
        "Slack",
    ),
}


@pytest.mark.parametrize("case", list(SIGNED_CASES))
async def test_signed_bodies_that_are_not_what_slack_sends_get_400_and_one_warning(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, content_type, word = SIGNED_CASES[case]
    caplog.clear()
    async with bot.http.post(bot.events_url, data=body, headers=signed(body, content_type)) as response:
        assert response.status == 400, await response.text()
    assert_one_warning(caplog, word)


async def test_after_junk_a_signed_request_is_still_served(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    for body, headers, _ in UNSIGNED_CASES.values():
        async with bot.http.post(bot.events_url, data=body, headers=headers(body, JSON)) as response:
            assert response.status == 401
    caplog.clear()
    answer = await bot.command("/customer", "")
    assert "Usage" in answer["text"]
    assert_quiet(caplog)


async def test_a_body_over_the_size_limit_gets_413_and_one_warning(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    body = command_body("/history", "x" * (1024 * 1024))
    caplog.clear()
    async with bot.http.post(bot.events_url, data=body, headers=signed(body, FORM)) as response:
        assert response.status == 413
    assert_one_warning(caplog, "large")


# --- numbers no row can have -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "text", "answer", "warnings"),
    [
        ("/customer", f"#{HUGE}", f"No customer matches “#{HUGE}”", 1),
        ("/customer", HUGE, f"No customer matches “{HUGE}”", 1),
        ("/customer", "9" * 5000, "No customer matches", 1),
        ("/customer", "²", "No customer matches “²”", 0),
        ("/customer", f"merge #{{ana}} #{HUGE}", f"No customer matches “#{HUGE}”", 1),
        ("/customer", f"merge #{HUGE} #{{ana}}", f"No customer matches “#{HUGE}”", 1),
        ("/history", f"customer:#{HUGE}", f"No customer matches “customer:#{HUGE}”", 1),
        ("/history", f"customer:{HUGE} hello", f"No customer matches “customer:{HUGE}”", 1),
        ("/history", f"#{HUGE}", f"Nothing found for “#{HUGE}”", 0),
    ],
)
async def test_numbers_beyond_any_id_get_a_polite_answer(
    bot: Bot, caplog: pytest.LogCaptureFixture, command: str, text: str, answer: str, warnings: int
) -> None:
    await customer_writes(bot, ANA_CHAT, "hello there", ANA)
    ana = await customer_of(bot, ANA_CHAT)
    caplog.clear()
    reply = await bot.command(command, text.replace("{ana}", str(ana)))
    assert reply["response_type"] == "ephemeral"
    assert answer in shown(reply), shown(reply)
    if warnings:
        assert_one_warning(caplog, "id")
    else:
        assert_quiet(caplog)


@pytest.mark.parametrize(
    ("action_id", "value", "block_id", "element", "answer"),
    [
        (PROFILE, f"customer:{HUGE}", "b", None, "That button is out of date."),
        (PROFILE, f"conversation:{HUGE}", "b", None, "That button is out of date."),
        (PROFILE, "customer:²", "b", None, "That button is out of date."),
        (EARLIER, HUGE, "b", None, "That button is out of date."),
        (STAGE, "", f"crm:{HUGE}", select_stage("contacting"), "That button is out of date."),
        (MERGE, f"{{ana}}:{HUGE}", "b", None, "Not merged: That button is out of date."),
        (MERGE, f"{HUGE}:{{ana}}", "b", None, "Not merged: That button is out of date."),
    ],
)
async def test_buttons_carrying_numbers_beyond_any_id_get_a_polite_answer(
    bot: Bot,
    caplog: pytest.LogCaptureFixture,
    action_id: str,
    value: str,
    block_id: str,
    element: dict[str, Any] | None,
    answer: str,
) -> None:
    await customer_writes(bot, ANA_CHAT, "hello there", ANA)
    ana = await customer_of(bot, ANA_CHAT)
    caplog.clear()
    rid = await click(bot, action_id, value.replace("{ana}", str(ana)), block_id=block_id, element=element)
    body = (await responses(bot, rid))[0]
    assert body["text"] == answer
    assert_one_warning(caplog, "button")


async def test_a_form_button_beyond_any_id_is_answered_beside_it(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    await click(bot, NOTE, f"customer:{HUGE}")
    await bot.slack.wait_for_calls("chat.postEphemeral")
    told = bot.slack.calls_to("chat.postEphemeral")[-1].params
    assert told["text"] == "That button is out of date." and bot.slack.views == []
    assert_one_warning(caplog, "button")


async def test_conversation_buttons_beyond_any_id_are_answered_politely(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    await click(bot, CLAIM, HUGE)
    await bot.slack.wait_for_calls("chat.postEphemeral")
    assert bot.slack.calls_to("chat.postEphemeral")[-1].params["text"] == "That button is out of date."
    assert_one_warning(caplog, "button")

    caplog.clear()
    choice = select_action_body(CATEGORY_SELECT, f"{ROUTING_BLOCK_PREFIX}{HUGE}", option=("Billing", "billing"))
    response = await post_signed(bot.http, bot.events_url, choice, SIGNING_SECRET)
    assert response.status == 200
    await response.read()
    await bot.slack.wait_for_calls("chat.postEphemeral", 2)
    assert bot.slack.calls_to("chat.postEphemeral")[-1].params["text"] == "That button is out of date."
    assert_one_warning(caplog, "button")


async def test_a_history_page_or_form_beyond_any_id_is_answered(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    await customer_writes(bot, ANA_CHAT, "hello there", ANA)
    ana = await customer_of(bot, ANA_CHAT)
    caplog.clear()
    cursor = json.dumps({"q": "hello", "m": int(HUGE), "a": int(HUGE), "p": 2})
    rid = await click(bot, HISTORY_MORE, cursor)
    page = (await responses(bot, rid))[0]
    assert "hello there" in shown(page)
    assert_quiet(caplog)

    for meta in ({"c": int(HUGE)}, {"c": ana, "v": int(HUGE)}):
        caplog.clear()
        values = {"note": {"text": {"type": "plain_text_input", "value": "called"}}}
        answer = await submit(bot, NOTE_VIEW, values, json.dumps(meta))
        assert answer == {"response_action": "errors", "errors": {"note": "This form is out of date; open it again."}}
        assert_quiet(caplog)


async def test_a_huge_id_from_someone_outside_the_team_is_refused_before_it_is_read(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    body = command_body("/customer", f"#{HUGE}", user_id=OUTSIDER)
    response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET)
    assert response.status == 200
    assert "only for the support team" in json.loads(await response.text())["text"]
    assert_quiet(caplog)


@pytest.mark.parametrize("args", [("erase-customer", HUGE, "--yes"), ("export", "--customer", f"#{HUGE}")])
async def test_the_command_line_refuses_a_customer_id_beyond_any_id_in_one_line(
    database_url: str, args: tuple[str, ...]
) -> None:
    code, out, err = await cli(database_url, *args)
    assert code == 2 and out == ""
    assert "is not a customer's id" in err and "Traceback" not in err, err


async def test_over_socket_mode_numbers_beyond_any_id_get_the_same_polite_answers(
    bot_factory: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async with bot_factory(SLACK_APP_TOKEN="xapp-test") as bot:
        caplog.clear()
        form = {k: v[0] for k, v in parse_qs(command_body("/customer", f"#{HUGE}", user_id=STAFF).decode()).items()}
        ack = await bot.slack.socket_send("slash_commands", form)
        assert f"No customer matches “#{HUGE}”" in ack["payload"]["text"]
        assert_one_warning(caplog, "id")

        caplog.clear()
        click_body = action_body(CLAIM, HUGE, user=STAFF)
        await bot.slack.socket_send("interactive", json.loads(parse_qs(click_body.decode())["payload"][0]))
        await bot.slack.wait_for(lambda: any(e["user"] == STAFF for e in bot.slack.ephemerals))
        assert bot.slack.ephemerals[-1]["text"] == "That button is out of date."
        assert_one_warning(caplog, "button")
