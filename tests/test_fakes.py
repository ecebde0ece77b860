"""The fakes are the foundation of every other test, so prove them through the real clients.

Each test drives FakeSlack / FakeTelegram with slack_sdk, slack_bolt or python-telegram-bot
exactly as the bridge does (no patching), and checks both what the client saw and what the fake
recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import telegram
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from telegram import error as tg_error

from tests.fakes import FakeSlack, FakeTelegram, parse_entities, utf16_len
from tests.fakes import slack_requests as sr

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def web_client(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.base_url, **kwargs)


def make_bot(fake: FakeTelegram, token: str | None = None) -> telegram.Bot:
    return telegram.Bot(token or fake.token, base_url=fake.base_url, base_file_url=fake.file_base_url)


def seconds(value: int | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# -- Slack Web API ---------------------------------------------------------------------------------


async def test_slack_post_thread_update_and_log(slack: FakeSlack) -> None:
    client = web_client(slack)
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0TEAM")

    parent = await client.chat_postMessage(channel="C0INBOX", text="New conversation", unfurl_links=False)
    r1 = await client.chat_postMessage(channel="C0INBOX", thread_ts=parent["ts"], text="first <b>")
    r2 = await client.chat_postMessage(channel="C0INBOX", thread_ts=parent["ts"], text="second")
    assert parent["ts"] < r1["ts"] < r2["ts"]
    assert r1["message"]["thread_ts"] == parent["ts"] and r1["message"]["bot_id"] == "BBOT"
    assert [m["text"] for m in slack.thread("C0INBOX", parent["ts"])] == ["first <b>", "second"]
    assert slack.messages[0]["unfurl_links"] is False and slack.messages[0]["user"] == "UBOT"

    updated = await client.chat_update(channel="C0INBOX", ts=r1["ts"], text="first, edited")
    assert updated["text"] == "first, edited"
    assert slack.message("C0INBOX", r1["ts"])["text"] == "first, edited"
    versions = slack.message_versions[("C0INBOX", r1["ts"])]
    assert [v["text"] for v in versions] == ["first <b>", "first, edited"]

    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C0INBOX", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"

    eph = await client.chat_postEphemeral(channel="C0INBOX", user="U1", text="only you")
    assert slack.ephemerals[0]["text"] == "only you" and eph["message_ts"]

    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 3 and all(c.status == 200 for c in posts)
    assert posts[1].params["thread_ts"] == parent["ts"]
    assert posts[0].at <= posts[1].at <= posts[2].at


async def test_slack_auth_users_and_unknown_method(slack: FakeSlack) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as exc:
        await bad.auth_test()
    assert exc.value.response["error"] == "invalid_auth"

    client = web_client(slack)
    user = (await client.users_info(user="U1"))["user"]
    assert user["id"] == "U1" and user["profile"]["display_name"] == "alice" and user["real_name"] == "Alice Park"
    assert slack.calls_to("users.info")[0].params == {"user": "U1"}  # sent as GET query
    with pytest.raises(SlackApiError) as exc:
        await client.users_info(user="U404")
    assert exc.value.response["error"] == "user_not_found"

    with pytest.raises(SlackApiError) as exc:
        await client.api_call("conversations.replies", params={"channel": "C0INBOX", "ts": "1.1"})
    assert exc.value.response["error"] == "unknown_method"
    assert slack.calls_to("conversations.replies")[0].status == 200


async def test_slack_blocks_limits_and_missing_channel(slack: FakeSlack) -> None:
    client = web_client(slack)
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C0INBOX", text="fallback", blocks=too_long)
    assert exc.value.response["error"] == "invalid_blocks"
    assert "3001" in exc.value.response["errors"][0]
    ok = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}]
    await client.chat_postMessage(channel="C0INBOX", text="fallback", blocks=ok)
    assert len(slack.messages) == 1 and slack.messages[0]["blocks"] == ok

    slack.missing_channel("CGONE")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="CGONE", text="hi")
    assert exc.value.response["error"] == "channel_not_found"
    assert len(slack.messages) == 1


async def test_slack_refuses_too_many_blocks_and_repeated_ids(slack: FakeSlack) -> None:
    client = web_client(slack)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go"}
    refused = {
        "no more than 50 items allowed [json-pointer:/blocks]": [section] * 51,
        "duplicate action_id [json-pointer:/blocks/0/elements/1/action_id]": [
            {"type": "actions", "elements": [button, button]}
        ],
        "duplicate block_id [json-pointer:/blocks/1/block_id]": [
            {**section, "block_id": "same"}, {**section, "block_id": "same"}
        ],
    }
    for error, blocks in refused.items():
        with pytest.raises(SlackApiError) as exc:
            await client.chat_postMessage(channel="C0INBOX", text="fallback", blocks=blocks)
        assert exc.value.response["error"] == "invalid_blocks" and exc.value.response["errors"] == [error]
    await client.chat_postMessage(channel="C0INBOX", text="fallback", blocks=[section] * 50)
    other = {**button, "action_id": "other"}
    await client.chat_postMessage(channel="C0INBOX", text="fallback", blocks=[
        {"type": "actions", "elements": [button, other]}, {"type": "actions", "elements": [button]}
    ])  # fmt: skip
    assert len(slack.messages) == 2


async def test_slack_files_upload_v2_and_hosted_download(slack: FakeSlack) -> None:
    client = web_client(slack)
    parent = await client.chat_postMessage(channel="C0INBOX", text="thread")
    payload = bytes(range(256)) * 10
    result = await client.files_upload_v2(
        channel="C0INBOX",
        thread_ts=parent["ts"],
        content=payload,
        filename="영수증.pdf",
        title="Receipt",
        initial_comment="from the customer",
    )
    assert result["file"]["title"] == "Receipt"
    [upload] = slack.uploads
    assert upload["content"] == payload and upload["filename"] == "영수증.pdf"
    assert (upload["channel"], upload["thread_ts"], upload["initial_comment"]) == (
        "C0INBOX",
        parent["ts"],
        "from the customer",
    )
    assert [c.method for c in slack.calls[-3:]] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]

    hosted = slack.host_file("photo.png", b"\x89PNG-bytes", "image/png")
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with session.get(hosted["url_private_download"], headers=headers) as resp:
            assert resp.status == 200 and await resp.read() == b"\x89PNG-bytes"
        async with session.get(hosted["url_private_download"]) as resp:  # no token: login page, like Slack
            assert resp.status == 200 and resp.content_type == "text/html"
            assert resp.history and resp.history[0].status == 302


async def test_slack_connect_files_are_named_in_events_and_found_through_files_info(slack: FakeSlack) -> None:
    client = web_client(slack, retry_handlers=[])
    shared = slack.host_connect_file("계약서.pdf", b"%PDF contract", "application/pdf")
    assert shared["file_access"] == "check_file_info" and not any(k.startswith("url_") for k in shared)
    info = (await client.files_info(file=shared["id"]))["file"]
    assert info["name"] == "계약서.pdf" and info["user_team"] == "T0PARTNER" and info["size"] == 13
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with session.get(info["url_private_download"], headers=headers) as resp:
            assert resp.status == 200 and await resp.read() == b"%PDF contract"
    slack.delete_file(shared["id"])
    for file_id, error in ((shared["id"], "file_deleted"), ("F0NOSUCH", "file_not_found")):
        with pytest.raises(SlackApiError) as exc:
            await client.files_info(file=file_id)
        assert exc.value.response["error"] == error


async def test_slack_rate_limit_surfaces_retry_after(slack: FakeSlack) -> None:
    client = web_client(slack)
    slack.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C0INBOX", text="hi")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    assert exc.value.response["error"] == "ratelimited"
    assert slack.messages == [] and slack.rate_limited_count == 1
    await client.chat_postMessage(channel="C0INBOX", text="hi")  # times=1: served again
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


async def test_slack_per_channel_token_bucket(slack: FakeSlack) -> None:
    client = web_client(slack)
    slack.per_key_limit("chat.postMessage", "channel", per_second=1, burst=2, retry_after=None)
    await client.chat_postMessage(channel="C1", text="1")
    await client.chat_postMessage(channel="C1", text="2")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C1", text="3")
    assert exc.value.response.status_code == 429 and int(exc.value.response.headers["Retry-After"]) >= 1
    await client.chat_postMessage(channel="C2", text="other channel has its own bucket")
    assert [m["text"] for m in slack.messages] == ["1", "2", "other channel has its own bucket"]
    assert slack.rate_limited_count == 1


async def test_slack_api_errors_outage_and_refused_connections(slack: FakeSlack) -> None:
    client = web_client(slack, retry_handlers=[])
    slack.api_error("chat.postMessage", "token_revoked")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C0INBOX", text="x")
    assert exc.value.response.status_code == 200 and exc.value.response["error"] == "token_revoked"

    slack.fail(None, status=503, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            await client.auth_test()
        assert exc.value.response.status_code == 503
    await client.auth_test()

    slack.outage(duration=1.0)  # a second is ample for the call below to arrive, even on a loaded machine
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0INBOX", text="during outage")
    await slack.wait_for(lambda: not slack.is_down(), timeout=5, message="the outage over")
    await client.chat_postMessage(channel="C0INBOX", text="after outage")
    assert [m["text"] for m in slack.messages] == ["after outage"]

    port = slack.port
    await slack.refuse_connections()
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.auth_test()
    await slack.accept_connections()
    assert slack.port == port
    assert (await client.auth_test())["ok"] is True


async def test_slack_delay_times_out_client_but_still_posts(slack: FakeSlack) -> None:
    client = web_client(slack, timeout=0.3, retry_handlers=[])  # type: ignore[arg-type]
    slack.delay("chat.postMessage", 1.5)  # the post lands only well after the client gave up
    with pytest.raises(asyncio.TimeoutError):
        await client.chat_postMessage(channel="C0INBOX", text="slow")
    assert slack.messages == []
    await slack.wait_for(lambda: len(slack.messages) == 1, timeout=5)  # like Slack: the post still lands


async def test_slack_response_url_and_wait_for_message(slack: FakeSlack) -> None:
    url = slack.response_url()
    resp = await AsyncWebhookClient(url).send(text="done", replace_original=False)
    assert resp.status_code == 200
    assert slack.responses[0]["body"] == {"text": "done", "replace_original": False}
    with pytest.raises(AssertionError, match="never"):
        await slack.wait_for(lambda: False, timeout=0.05, message="never")


# -- Requests to the bot (signed like Slack) -------------------------------------------------------


def test_sign_matches_slack_sdk_verifier() -> None:
    body = sr.event_body(sr.message_event("C0INBOX", "U1", "안녕하세요 <@U2>"))
    headers = sr.sign(body, SECRET)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        body=body.decode(), timestamp=headers["X-Slack-Request-Timestamp"], signature=headers["X-Slack-Signature"]
    )
    assert not SignatureVerifier("other").is_valid(
        body=body.decode(), timestamp=headers["X-Slack-Request-Timestamp"], signature=headers["X-Slack-Signature"]
    )
    old = sr.sign(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid(
        body=body.decode(), timestamp=old["X-Slack-Request-Timestamp"], signature=old["X-Slack-Signature"]
    )
    env1, env2 = json.loads(body), json.loads(sr.event_body({"type": "app_mention"}))
    assert env1["event_id"] != env2["event_id"] and env1["type"] == "event_callback"


async def test_bolt_parses_signed_requests_and_talks_to_fake(slack: FakeSlack) -> None:
    app = AsyncApp(client=web_client(slack), signing_secret=SECRET)
    seen: list[dict[str, Any]] = []

    @app.event("message")
    async def on_message(event: dict[str, Any], say: Any) -> None:
        seen.append(event)
        await say(text="echo", thread_ts=event["ts"])

    @app.action("approve")
    async def on_action(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await respond(text=f"approved {body['actions'][0]['value']}")

    @app.command("/tb")
    async def on_command(ack: Any, command: dict[str, Any]) -> None:
        await ack(text=f"got {command['text']}")

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            own = sr.event_body(sr.message_event("C0INBOX", "UBOT", "my own post", bot_id="BBOT"))
            resp = await sr.post_signed(session, url, own, SECRET)
            assert resp.status == 200
            event = sr.message_event("C0INBOX", "U1", "hello", thread_ts="1700000000.000100")
            resp = await sr.post_signed(session, url, sr.event_body(event), SECRET, retry_num=1)
            assert resp.status == 200
            await slack.wait_for(lambda: len(slack.messages) == 1)
            assert [e["text"] for e in seen] == ["hello"]  # Bolt dropped the bot's own message
            assert slack.messages[0]["thread_ts"] == event["ts"] and slack.messages[0]["text"] == "echo"
            assert len(slack.calls_to("auth.test")) == 1

            forged = await sr.post_signed(session, url, sr.event_body(event), "wrong-secret")
            assert forged.status == 401

            action = sr.action_body("approve", "case-42", response_url=slack.response_url())
            resp = await sr.post_signed(session, url, action, SECRET)
            assert resp.status == 200
            await slack.wait_for(lambda: len(slack.responses) == 1)
            assert slack.responses[0]["body"]["text"] == "approved case-42"

            resp = await sr.post_signed(session, url, sr.command_body("/tb", "hello world"), SECRET)
            assert resp.status == 200 and await resp.text() == "got hello world"
    finally:
        await runner.cleanup()


# -- Telegram Bot API ------------------------------------------------------------------------------


async def test_telegram_get_me_and_wrong_token(tg: FakeTelegram) -> None:
    async with make_bot(tg) as bot:
        assert bot.username == "threadbridge_bot" and bot.id == 123456
    with pytest.raises(tg_error.InvalidToken):
        await make_bot(tg, token="123456:WRONG").initialize()


@pytest.mark.parametrize("method", ["sendChatAction", "sendVoice", "setMyCommands"])
async def test_telegram_methods_the_bot_never_calls_are_not_served(tg: FakeTelegram, method: str) -> None:
    """The fake serves only what the bot calls; anything else is a loud 404, never a silent success."""
    async with make_bot(tg) as bot:
        with pytest.warns(UserWarning), pytest.raises(tg_error.EndPointNotFound):
            await bot.do_api_request(method, api_kwargs={"chat_id": 5001})
    assert [c.status for c in tg.calls_to(method)] == [404]


async def test_telegram_get_updates_offsets_confirm_and_drop(tg: FakeTelegram) -> None:
    u1 = tg.push_text(5001, "안녕하세요")
    u2 = tg.push_text(5001, "/start")
    assert u2 > u1
    async with make_bot(tg) as bot:
        updates = await bot.get_updates()
        assert [u.update_id for u in updates] == [u1, u2]
        msg = updates[0].effective_message
        assert msg is not None and msg.text == "안녕하세요" and msg.chat.type == "private"
        assert updates[0].effective_user is not None and updates[0].effective_user.first_name == "Min"
        assert updates[1].message is not None and updates[1].message.entities[0].type == "bot_command"
        assert [u.update_id for u in await bot.get_updates()] == [u1, u2]  # not confirmed yet
        assert [u.update_id for u in await bot.get_updates(offset=u2)] == [u2]
        assert await bot.get_updates(offset=u2 + 1) == ()
        assert tg.confirmed_offset == u2 + 1 and tg.pending_update_ids == []

        tg.push_duplicate(u2)
        again = await bot.get_updates(offset=u2 + 1)
        assert [u.update_id for u in again] == [u2]
        assert await bot.get_updates(offset=u2 + 1) == ()


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # Voice.duration type
async def test_telegram_update_builders_parse_as_real_updates(tg: FakeTelegram) -> None:
    first = tg.push_text(-1001234567890, "group hello")
    async with make_bot(tg) as bot:
        sent = await bot.send_message(5001, "How can we help?")
        tg.push_text(5001, "my order", reply_to=sent.message_id)
        original = tg.push_text(5001, "typo")
        typo_id = tg.update(original)["message"]["message_id"]
        tg.push_edited_text(5001, typo_id, "fixed")
        tg.push_voice(5001, b"OggS-voice", duration=3)
        tg.push_sticker(5001, b"RIFF-webp")
        raw = tg.push_raw({"my_chat_member": {"chat": {"id": 5001, "type": "private", "first_name": "Min"},
                           "from": tg.default_user(5001), "date": 1700000000,
                           "old_chat_member": {"status": "member", "user": tg.bot_user},
                           "new_chat_member": {"status": "kicked", "user": tg.bot_user, "until_date": 0}}})  # fmt: skip
        updates = await bot.get_updates()
        assert updates[0].update_id == first and updates[-1].update_id == raw
        group, reply, typo, edited, voice, sticker, kicked = updates
        assert group.effective_chat is not None and group.effective_chat.type == "supergroup"
        assert reply.message is not None and reply.message.reply_to_message is not None
        assert reply.message.reply_to_message.text == "How can we help?"
        assert typo.update_id == original and typo.message is not None and typo.message.message_id == typo_id == 3
        assert edited.edited_message is not None and edited.edited_message.text == "fixed"
        assert edited.edited_message.message_id == typo_id and edited.edited_message.edit_date is not None
        assert (
            voice.message is not None and voice.message.voice is not None and seconds(voice.message.voice.duration) == 3
        )
        assert await (await voice.message.voice.get_file()).download_as_bytearray() == b"OggS-voice"
        assert sticker.message is not None and sticker.message.sticker is not None
        assert sticker.message.sticker.emoji == "👍"
        assert kicked.my_chat_member is not None and kicked.my_chat_member.new_chat_member.status == "kicked"


async def test_telegram_long_poll_returns_on_push_and_conflicts(tg: FakeTelegram) -> None:
    async with make_bot(tg) as bot, make_bot(tg) as other:
        started = time.monotonic()
        task = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        uid = tg.push_text(7, "ping")
        updates = await asyncio.wait_for(task, 2)
        assert [u.update_id for u in updates] == [uid] and time.monotonic() - started < 1.5

        polls = tg.polls_started
        first = asyncio.create_task(bot.get_updates(offset=uid + 1, timeout=5))
        await tg.wait_for(lambda: tg.polls_started > polls, timeout=5, message="the first long poll waiting")
        assert await other.get_updates(offset=uid + 1, timeout=0) == ()
        with pytest.raises(tg_error.Conflict):
            await asyncio.wait_for(first, 2)


async def test_telegram_send_message_html_and_limits(tg: FakeTelegram) -> None:
    async with make_bot(tg) as bot:
        m1 = await bot.send_message(
            5001, "<b>Hi</b> &lt;a&gt; &amp; <a href='https://x.io/?a=1&amp;b=2'>link</a>", "HTML"
        )
        assert m1.text == "Hi <a> & link"
        assert [(e.type, e.offset, e.length) for e in m1.entities] == [("bold", 0, 2), ("text_link", 9, 4)]
        assert m1.entities[1].url == "https://x.io/?a=1&b=2"
        m2 = await bot.send_message(5001, "plain")
        assert m2.message_id == m1.message_id + 1 and m2.from_user is not None and m2.from_user.is_bot
        assert tg.sent_texts(5001) == ["Hi <a> & link", "plain"]
        assert tg.sent(5001)[0]["text"].startswith("<b>Hi</b>")

        await bot.send_message(5001, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")  # tags do not count
        await bot.send_message(5001, "&lt;" * 4096, parse_mode="HTML")
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(5001, "a" * 4097)
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(5001, "😀" * 2049)  # 4098 UTF-16 code units
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(5001, "<b> </b>", parse_mode="HTML")
        with pytest.raises(tg_error.BadRequest, match=r'(?i)can\'t parse entities: unsupported start tag "div"'):
            await bot.send_message(5001, "<div>x</div>", parse_mode="HTML")
        with pytest.raises(tg_error.BadRequest, match=r'(?i)can\'t find end tag corresponding to start tag "b"'):
            await bot.send_message(5001, "<b>bold", parse_mode="HTML")
        with pytest.raises(tg_error.BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(5001, "1 < 2 <br>", parse_mode="HTML")
        with pytest.raises(tg_error.BadRequest, match=r"(?i)unsupported parse_mode 'MarkdownV2'"):
            await bot.send_message(5001, "*Done*", parse_mode="MarkdownV2")  # the fake parses HTML only
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message to be replied not found"):
            await bot.send_message(5001, "re", reply_to_message_id=999)
    assert len(tg.sent(5001)) == 4  # refused sends store nothing
    assert [c.status for c in tg.calls_to("sendMessage")][-1] == 400


async def test_telegram_edits_and_deletions_as_the_bot_api_refuses_them(tg: FakeTelegram) -> None:
    async with make_bot(tg) as bot:
        sent = await bot.send_message(5001, "first words")
        edited = await bot.edit_message_text("second words", chat_id=5001, message_id=sent.message_id)
        assert edited.text == "second words" and edited.edit_date is not None
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("second words", chat_id=5001, message_id=sent.message_id)
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=5001, message_id=999)
        old = await bot.send_message(5001, "from the day before yesterday")
        tg.backdate(5001, old.message_id, 48 * 3600 + 60)
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message can't be edited"):
            await bot.edit_message_text("too late", chat_id=5001, message_id=old.message_id)
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message can't be deleted for everyone"):
            await bot.delete_message(5001, old.message_id)
        assert await bot.delete_message(5001, sent.message_id)
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(5001, sent.message_id)
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("after deletion", chat_id=5001, message_id=sent.message_id)
    assert tg.sent(5001)[0]["visible_text"] == "second words" and tg.sent(5001)[0]["deleted"]


def test_parse_entities_utf16_offsets() -> None:
    text, entities = parse_entities("😀 <i>안녕</i> <tg-spoiler>s</tg-spoiler>", "HTML")
    assert text == "😀 안녕 s" and utf16_len(text) == 7
    assert entities == [
        {"offset": 3, "length": 2, "type": "italic"},
        {"offset": 6, "length": 1, "type": "spoiler"},
    ]
    with pytest.raises(ValueError, match="unsupported parse_mode"):
        parse_entities("*b*", "Markdown")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter.retry_after type
async def test_telegram_rate_limits_and_blocked(tg: FakeTelegram) -> None:
    async with make_bot(tg) as bot:
        tg.rate_limit("sendMessage", retry_after=3)
        with pytest.raises(tg_error.RetryAfter) as exc:
            await bot.send_message(5001, "hi")
        assert seconds(exc.value.retry_after) == 3

        tg.per_chat_limit(per_second=1, burst=1)
        await bot.send_message(5001, "first")
        with pytest.raises(tg_error.RetryAfter):
            await bot.send_message(5001, "second")
        await bot.send_message(5002, "another chat")
        assert tg.rate_limited_count == 2
        tg.clear()

        tg.blocked(5003)
        with pytest.raises(tg_error.Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(5003, "hello?")
        with pytest.raises(tg_error.Forbidden):
            await bot.send_document(5003, b"x", filename="a.txt")
        tg.unblock(5003)
        await bot.send_message(5003, "hello again")
    assert tg.sent_texts(5001) == ["first"] and tg.sent_texts(5003) == ["hello again"]


async def test_telegram_files_download_and_upload(tg: FakeTelegram) -> None:
    pdf = b"%PDF-1.7 " + bytes(range(256)) * 50
    tg.push_document(5001, pdf, "계약서.pdf", "application/pdf", caption="please check")
    tg.push_photo(5001, b"\xff\xd8full-size-jpeg")
    async with make_bot(tg) as bot:
        doc_update, photo_update = await bot.get_updates()
        document = doc_update.message.document  # type: ignore[union-attr]
        assert document is not None and document.file_name == "계약서.pdf" and document.file_size == len(pdf)
        assert await (await bot.get_file(document.file_id)).download_as_bytearray() == pdf
        largest = photo_update.message.photo[-1]  # type: ignore[union-attr]
        assert await (await largest.get_file()).download_as_bytearray() == b"\xff\xd8full-size-jpeg"
        with pytest.raises(tg_error.BadRequest, match=r"(?i)invalid file_id"):
            await bot.get_file("nope")

        sent = await bot.send_document(
            5001, b"reply bytes", filename="answer.txt", caption="<i>here</i>", parse_mode="HTML"
        )
        assert sent.caption == "here" and sent.document is not None
        [record] = [r for r in tg.sent(5001) if r["kind"] == "document"]
        assert (record["content"], record["filename"], record["visible_caption"]) == (
            b"reply bytes",
            "answer.txt",
            "here",
        )
        assert await (await bot.get_file(sent.document.file_id)).download_as_bytearray() == b"reply bytes"
        await bot.send_photo(5001, b"\xff\xd8photo", caption="c" * 1024)
        with pytest.raises(tg_error.BadRequest, match=r"(?i)message caption is too long"):
            await bot.send_photo(5001, b"\xff\xd8photo", caption="c" * 1025)
    assert [r["kind"] for r in tg.sent(5001)] == ["document", "photo"]


async def test_telegram_webhook_mode(tg: FakeTelegram) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/tg", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    local = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    url = "https://bot.example.test/tg"
    tg.forward_webhooks_to(local)
    try:
        async with make_bot(tg) as bot:
            with pytest.raises(tg_error.BadRequest, match=r"(?i)https url must be provided"):
                await bot.set_webhook(f"{local}/tg")  # Telegram calls webhooks over https only
            with pytest.raises(tg_error.BadRequest, match=r"(?i)secret token"):
                await bot.set_webhook(url, secret_token="bad token!")
            assert await bot.set_webhook(url, secret_token="s3cret_-token")
            with pytest.raises(tg_error.Conflict):
                await bot.get_updates()
            uid = tg.push_text(5001, "via webhook")
            assert tg.pending_update_ids == [uid]
            assert await tg.deliver_pending() == [200]
            assert received[0][0] == "s3cret_-token" and received[0][1]["update_id"] == uid
            update = telegram.Update.de_json(received[0][1], bot)
            assert update.message is not None and update.message.text == "via webhook"
            assert tg.pending_update_ids == []
            assert await bot.delete_webhook()
            assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()


async def test_telegram_server_errors_and_refused_connections(tg: FakeTelegram) -> None:
    async with make_bot(tg) as bot:
        tg.fail("sendMessage", status=502)
        with pytest.raises(tg_error.NetworkError):
            await bot.send_message(5001, "x")
        tg.api_error("sendMessage", "Bad Request: chat not found")
        with pytest.raises(tg_error.BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(5001, "x")
        tg.set_down(True)
        with pytest.raises(tg_error.NetworkError):
            await bot.get_me()
        tg.set_down(False)

        port = tg.port
        await tg.refuse_connections()
        with pytest.raises(tg_error.NetworkError):
            await bot.send_message(5001, "unreachable")
        await tg.accept_connections()
        assert tg.port == port
        await bot.send_message(5001, "back")
    assert tg.sent_texts(5001) == ["back"]
    assert [c.status for c in tg.calls_to("sendMessage")] == [502, 400, 200]
