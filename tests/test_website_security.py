"""The website channel against a visitor who tries things: forged and swapped tokens, a wrong identity hash, a
foreign origin, floods, oversize texts and files, an expired session, Slack syntax, files that would run as pages.
Each attack goes through the bot's real routes, as a browser or a script would send it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.connectors.website.tokens import Signer, identity_hash
from tests.conftest import BOT_YAML, Bot, BotFactory, all_text
from tests.fakes.visitor import PAGE_ORIGIN, Visitor
from tests.website_helpers import TOKEN_SECRET, signed_user, visitor, website, website_bot, website_yaml


@pytest.fixture
async def web(bot_factory: BotFactory) -> AsyncIterator[Bot]:
    async with website_bot(bot_factory, max_file_mb=0.01) as bot:
        yield bot


async def thread_of(bot: Bot, address: str) -> tuple[str, str]:
    return await bot.thread_for_address("website", address)


async def a_visitor_with_history(bot: Bot) -> tuple[Visitor, str]:
    a = visitor(bot)
    await a.connect()
    assert (await a.say("my order 1234, card ending 9876"))["t"] == "ack"
    address = website(bot).signer.read(a.token).address
    assert address is not None
    await bot.staff_reply(await thread_of(bot, address), "your order ships today")
    await a.sees(lambda: "your order ships today" in a.team_texts(), "the reply")
    return a, address


async def test_a_forged_token_reads_nothing_and_starts_a_new_visitor(web: Bot) -> None:
    a, address = await a_visitor_with_history(web)
    forged = Signer("an attacker's guess at the secret, long enough", None, session_days=90).token(address, "visitor")
    b = visitor(web, token=forged)
    welcome = await b.connect()
    assert welcome["notice"] == "session_reset" and welcome["entries"] == []
    assert website(web).signer.read(welcome["token"]).address not in (None, address)
    assert (await b.say("hello?"))["t"] == "ack"
    assert not any("hello?" in t for t in [e.get("text", "") for e in a.entries.values()])
    await a.close()
    await b.close()


async def test_a_swapped_token_file_or_button_cannot_reach_another_visitor(bot_factory: BotFactory) -> None:
    async with website_bot(bot_factory, yaml={**website_yaml(), "ask_category": True}) as bot:
        a, address_a = await a_visitor_with_history(bot)
        b = visitor(bot)
        await b.connect()
        payload_a, _ = a.token.split(".")  # type: ignore[union-attr]
        _, signature_b = b.token.split(".")  # type: ignore[union-attr]
        swapped = visitor(bot, token=f"{payload_a}.{signature_b}")
        welcome = await swapped.connect()
        assert welcome["notice"] == "session_reset" and welcome["entries"] == []

        status, kept = await a.upload("statement.pdf", b"%PDF a's bank statement", "application/pdf")
        assert status == 200
        refused = await b.say("look at this", files=[kept["key"]])
        assert refused["t"] == "error" and refused["code"] == "files"
        status, _ = await b.upload("x.pdf", b"%PDF", "application/pdf", token=f"{payload_a}.{signature_b}")
        assert status == 401

        other_key = kept["url"].split("/")[-1].split("?")[0]
        link = kept["url"].replace(other_key, other_key[:-2] + "xx")  # A's signature on another key
        async with bot.http.get(bot.rt.url + link) as response:
            assert response.status == 403

        buttons = next(e["buttons"] for e in a.entries.values() if e.get("buttons"))
        await b.send({"t": "pick", "data": buttons[0][0]["data"], "key": "tap-by-b-0001"})
        await b.sees(lambda: any(f["t"] == "picked" for f in b.frames), "the answer to the tap")
        assert next(f for f in b.frames if f["t"] == "picked")["status"] == "unknown"
        conversation = next(c for c in await bot.rt.service.open_inquiries() if c.address == address_a)
        assert conversation.category is None
        for v in (a, b, swapped):
            await v.close()


async def test_a_wrong_identity_hash_is_refused_and_the_chat_goes_on_anonymously(web: Bot) -> None:
    real = visitor(web, user=signed_user("42"))
    assert (await real.connect())["verified"] is True
    await real.say("my account question")
    await web.thread_for_address("website", "user-42")

    impostor = visitor(web, user={**signed_user("42"), "hash": identity_hash("not the shop's secret", "42")})
    welcome = await impostor.connect()
    assert (welcome["identity"], welcome["verified"]) == ("refused", False)
    assert welcome["entries"] == []  # nothing of user 42's conversation
    assert website(web).signer.read(welcome["token"]).address.startswith("v-")  # type: ignore[union-attr]
    assert (await impostor.say("still here as a guest"))["t"] == "ack"
    for v in (real, impostor):
        await v.close()


async def test_a_verified_user_is_one_customer_on_every_device(web: Bot) -> None:
    laptop, phone = visitor(web, user=signed_user("7")), visitor(web, user=signed_user("7"))
    await laptop.connect()
    await laptop.say("asked on the laptop")
    await phone.connect()
    assert [e["text"] for e in phone.shown() if e["k"] == "w"] == ["asked on the laptop"]
    await phone.say("and again from the phone")
    await laptop.sees(lambda: any(e.get("text") == "and again from the phone" for e in laptop.entries.values()),
                      "the phone's message on the laptop")  # fmt: skip
    conversations = [c for c in await web.rt.service.open_inquiries() if c.channel == "website"]
    assert [c.address for c in conversations] == ["user-7"]
    for v in (laptop, phone):
        await v.close()


async def test_a_team_can_require_identity(bot_factory: BotFactory) -> None:
    async with website_bot(bot_factory, require_identity=True) as bot:
        guest = visitor(bot)
        welcome = await guest.connect()
        assert welcome["blocked"] == "identity_required" and welcome["token"] is None
        refused = await guest.say("let me in")
        assert refused["code"] == "identity_required"
        member = visitor(bot, user=signed_user("9"))
        assert (await member.connect())["blocked"] is None
        assert (await member.say("I am a member"))["t"] == "ack"
        assert [c.address for c in await bot.rt.service.open_inquiries()] == ["user-9"]
        for v in (guest, member):
            await v.close()


async def test_a_disallowed_origin_gets_neither_the_frame_nor_a_connection(web: Bot) -> None:
    async with web.http.get(f"{web.rt.url}/website/frame", params={"origin": "https://evil.example"}) as response:
        assert response.status == 403
    async with web.http.get(f"{web.rt.url}/website/frame", params={"origin": PAGE_ORIGIN}) as response:
        policy = response.headers["Content-Security-Policy"]
        assert response.status == 200 and f"frame-ancestors {PAGE_ORIGIN};" in policy
        assert "script-src 'self';" in policy and "unsafe" not in policy
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await web.http.ws_connect(f"{web.rt.url}/website/ws", origin="https://evil.example")
    assert refused.value.status == 403
    elsewhere = visitor(web, origin="https://evil.example")
    answer = await elsewhere.connect()
    assert answer["code"] == "origin_refused"
    await elsewhere.sees(lambda: elsewhere.closed, "the connection closed")
    assert await web.rt.service.open_inquiries() == []


async def test_floods_are_refused_per_visitor_and_per_ip_with_how_long_to_wait(bot_factory: BotFactory) -> None:
    yaml = website_yaml(messages_per_minute=6, ip_messages_per_minute=12, connections_per_ip=3)
    async with website_bot(bot_factory, yaml=yaml) as bot:
        fast = visitor(bot)
        await fast.connect()
        answers = [await fast.say(f"message {n}") for n in range(4)]
        assert [a["t"] for a in answers] == ["ack", "ack", "ack", "error"]
        assert answers[-1]["code"] == "rate_limited" and answers[-1]["retry_after"] >= 1
        others = [visitor(bot), visitor(bot)]
        for other in others:
            await other.connect()
        said = [await others[n % 2].say(f"from the same network {n}") for n in range(8)]
        assert [a["t"] for a in said].count("error") >= 1  # 12 a minute for the whole address, burst 3
        assert all(a["code"] == "rate_limited" for a in said if a["t"] == "error")
        fourth = visitor(bot)
        assert (await fourth.connect())["code"] == "busy"
        await bot.idle()
        async with bot.rt.db.reading() as tx:
            stored = await tx.conn.exec_driver_sql("SELECT count(*) FROM messages WHERE channel = 'website'")
            assert stored.scalar_one() == 3 + [a["t"] for a in said].count("ack")
        for v in (fast, *others, fourth):
            await v.close()


async def test_oversize_texts_and_files_are_refused_with_the_limit(web: Bot) -> None:
    v = visitor(web)
    await v.connect()
    limit = website(web).settings.max_text_length
    answer = await v.say("x" * (limit + 1))
    assert (answer["code"], answer["limit"]) == ("too_long", limit)
    status, body = await v.upload("big.bin", b"x" * (website(web).settings.max_file_bytes + 1), "application/pdf")
    assert (status, body["error"], body["limit"]) == (413, "too_big", website(web).settings.max_file_bytes)
    async with web.rt.db.reading() as tx:
        assert (await tx.conn.exec_driver_sql("SELECT count(*) FROM channel_files")).scalar_one() == 0
        assert (await tx.conn.exec_driver_sql("SELECT count(*) FROM messages")).scalar_one() == 0
    await v.close()


async def test_an_expired_session_says_what_to_do(web: Bot) -> None:
    old = website(web).signer.token("v-abandonedlongago00", "visitor", began=time.time() - 91 * 86400)
    v = visitor(web, token=old)
    welcome = await v.connect()
    assert welcome["notice"] == "expired" and welcome["entries"] == []
    assert website(web).signer.read(welcome["token"]).address != "v-abandonedlongago00"
    await v.close()


async def test_nothing_a_visitor_sends_can_ping_slack_or_forge_a_link(web: Bot) -> None:
    v = visitor(web, user={**signed_user("5", name="<!here> Boss"), "email": "<!channel>@x.com"})
    await v.connect()
    await v.say("<!channel> urgent <https://evil.example|your bank> <@U0STAFF>")
    thread = await thread_of(web, "user-5")
    said = await web.thread_text(thread, "urgent")
    assert "&lt;!channel&gt; urgent &lt;https://evil.example|your bank&gt; &lt;@U0STAFF&gt;" in said
    header = all_text(web.slack.message(*thread) or {})
    assert "&lt;!here&gt; Boss" in header and "<!here>" not in header and "<!channel>" not in header
    await v.close()


async def test_files_are_served_so_that_no_browser_runs_them_and_links_run_out(web: Bot) -> None:
    v = visitor(web)
    await v.connect()
    status, page = await v.upload("invoice.html", b"<script>steal()</script>", "text/html")
    assert status == 200 and page["image"] is False
    async with web.http.get(web.rt.url + page["url"]) as response:
        assert response.headers["Content-Type"].startswith("application/octet-stream")
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    signer = website(web).signer
    stale = Signer(TOKEN_SECRET, None, session_days=90, clock=lambda: time.time() - 2 * 3600)
    async with web.http.get(web.rt.url + stale.file_link(page["key"])) as response:
        assert response.status == 403
    async with web.http.get(web.rt.url + signer.file_link(page["key"])) as response:
        assert response.status == 200
    await v.close()


async def test_the_frame_s_settings_cannot_break_out_of_their_data(bot_factory: BotFactory) -> None:
    yaml = website_yaml(title="</script><script>alert(1)</script>", greeting={"en": "<img src=x onerror=alert(1)>"})
    async with website_bot(bot_factory, yaml={**yaml, **{"language": BOT_YAML["language"]}}) as bot:
        async with bot.http.get(f"{bot.rt.url}/website/frame", params={"origin": PAGE_ORIGIN}) as response:
            page = await response.text()
        data = page.split('<script type="application/json" id="tb-config">', 1)[1].split("</script>", 1)[0]
        assert "<" not in data and json.loads(data)["title"]["en"] == "</script><script>alert(1)</script>"
