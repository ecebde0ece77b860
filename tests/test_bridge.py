"""The bridge end to end: Telegram customers and Slack threads, through the real clients and the fakes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.slack.blocks import CLAIM, CLOSE, REOPEN, UNCLAIM
from bot.slack.saved_reply_views import OPEN as SAVED_REPLY
from tests.conftest import BILLING, INBOX, STAFF, STAFF2, Bot, BotFactory, all_text, wait_until
from tests.fakes.slack_requests import message_changed_event, message_event

CHAT = 4242


def _header(bot: Bot, thread: tuple[str, str]) -> dict[str, Any]:
    message = bot.slack.message(*thread)
    assert message is not None
    return message


def _buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "actions" and block.get("block_id", "").startswith("conversation:")  # not the menus
        for element in block["elements"]
    ]


async def test_first_message_opens_a_thread_that_says_who_where_and_what(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "Hello, I have a question about my account")
    thread = await bot.thread_for(CHAT)
    assert thread[0] == INBOX
    header = all_text(_header(bot, thread))
    assert "Min Kim" in header and "@minkim" in header
    assert "Telegram" in header
    assert "Uncategorised" in header and "Open" in header and "nobody yet" in header
    assert _buttons(_header(bot, thread)) == [CLAIM, CLOSE, SAVED_REPLY]
    await bot.thread_text(thread, "Hello, I have a question about my account")


async def test_later_messages_land_in_the_same_thread_in_order(bot: Bot) -> None:
    for i in range(5):
        bot.telegram.push_text(CHAT, f"message {i}")
    thread = await bot.thread_for(CHAT)
    texts = await bot.thread_text(thread, *(f"message {i}" for i in range(5)))
    positions = [texts.index(f"message {i}") for i in range(5)]
    assert positions == sorted(positions)
    headers = [m for m in bot.slack.channel_messages(INBOX) if not m.get("thread_ts")]
    assert len(headers) == 1


async def test_staff_reply_reaches_the_customer_and_notes_stay_internal(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "Is the store open on Sunday?")
    thread = await bot.thread_for(CHAT)
    await bot.staff_reply(thread, "Yes, from 10 to 18 &amp; on holidays too")
    await bot.staff_reply(thread, "note: check the holiday calendar")
    await bot.staff_reply(thread, "PRIVATE: she asked last week too")
    await bot.staff_reply(thread, "  Note : internal again")
    await bot.idle()
    assert bot.telegram.sent_texts(CHAT) == ["Yes, from 10 to 18 & on holidays too"]


async def test_bot_posts_other_bots_edits_and_untracked_messages_are_never_sent(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    channel, thread_ts = thread
    await bot.slack_event(message_event(channel, "UBOT", "my own echo", thread_ts=thread_ts))
    await bot.slack_event(
        message_event(
            channel, "U0OTHERBOT", "another bot", thread_ts=thread_ts, bot_id="B0OTHER", subtype="bot_message"
        )
    )
    await bot.slack_event(
        message_changed_event(channel, "1700000000.999999", "edited", user=STAFF, thread_ts=thread_ts)
    )
    await bot.slack_event(message_event(channel, STAFF, "deleted", thread_ts=thread_ts, subtype="message_deleted"))
    await bot.slack_event(message_event(channel, STAFF, "top-level chatter"))
    await bot.slack_event(message_event(channel, STAFF, "unrelated thread", thread_ts="1600000000.000100"))
    await bot.staff_reply(thread, "the only real reply")
    await bot.idle()
    assert bot.telegram.sent_texts(CHAT) == ["the only real reply"]


async def test_claim_is_shown_on_the_first_message_and_a_second_claimer_is_told_who_holds_it(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    conversation_id = await bot.conversation_id_for(CHAT)
    first, second = await asyncio.gather(
        bot.click(CLAIM, conversation_id, user=STAFF), bot.click(CLAIM, conversation_id, user=STAFF2)
    )
    assert first.status == second.status == 200
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and conversation.holder in {STAFF, STAFF2}
    loser = STAFF2 if conversation.holder == STAFF else STAFF
    await bot.slack.wait_for(lambda: any(e["user"] == loser for e in bot.slack.ephemerals), timeout=5)
    told = [e for e in bot.slack.ephemerals if e["user"] == loser]
    assert f"<@{conversation.holder}> already holds" in told[0]["text"]
    await bot.idle()
    header = _header(bot, thread)
    assert f"<@{conversation.holder}>" in all_text(header)
    assert _buttons(header) == [UNCLAIM, CLOSE, SAVED_REPLY]
    async with bot.rt.db.transaction() as tx:
        claims = [e for e in await tx.archive.events_of(conversation_id) if e.kind == "claimed"]
    assert len(claims) == 1


async def test_first_staff_reply_claims_an_unclaimed_conversation(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    await bot.staff_reply(thread, "Hello! How can I help?", user=STAFF2)
    await bot.idle()
    conversation = await bot.rt.service.conversation(await bot.conversation_id_for(CHAT))
    assert conversation is not None and conversation.holder == STAFF2
    assert f"<@{STAFF2}>" in all_text(_header(bot, thread))


async def test_close_reopen_and_a_new_thread_after_close_linking_the_previous(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "first question")
    thread = await bot.thread_for(CHAT)
    conversation_id = await bot.conversation_id_for(CHAT)
    await bot.click(CLOSE, conversation_id)
    await bot.idle()
    assert "Closed" in all_text(_header(bot, thread)) and _buttons(_header(bot, thread)) == [REOPEN]
    await bot.click(REOPEN, conversation_id)
    await bot.idle()
    assert "Open" in all_text(_header(bot, thread))
    await bot.click(CLOSE, conversation_id)
    await bot.click(CLOSE, conversation_id)  # a repeated click changes nothing twice
    await bot.idle()

    bot.telegram.push_text(CHAT, "a new question")
    new_thread = await bot.thread_for(CHAT)
    assert new_thread != thread
    new_header = all_text(_header(bot, new_thread))
    assert f"p{thread[1].replace('.', '')}" in new_header and "previous conversation" in new_header
    async with bot.rt.db.transaction() as tx:
        kinds = [e.kind for e in await tx.archive.events_of(conversation_id)]
    assert kinds == ["opened", "closed", "reopened", "closed"]
    # reopening the old one while the new one is open is refused, with a word to the clicker
    await bot.click(REOPEN, conversation_id, user=STAFF2)
    await bot.slack.wait_for(lambda: any(e["user"] == STAFF2 for e in bot.slack.ephemerals), timeout=5)
    old = await bot.rt.service.conversation(conversation_id)
    assert old is not None and old.status == "closed"


async def test_keyword_category_routes_to_its_channel_and_mentions_its_owners(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "환불 받고 싶어요 (refund please)")
    thread = await bot.thread_for(CHAT)
    assert thread[0] == BILLING
    header = _header(bot, thread)
    text = all_text(header)
    assert "결제/환불" in text
    assert "<@U0BIZ>" in header["text"] and "<!subteam^S0BILLING>" in header["text"]
    conversation_id = await bot.conversation_id_for(CHAT)
    async with bot.rt.db.transaction() as tx:
        events = await tx.archive.events_of(conversation_id)
    assert [(e.kind, e.detail.get("category")) for e in events if e.kind == "category_set"] == [
        ("category_set", "billing")
    ]


async def test_customer_text_cannot_ping_or_forge_links(bot: Bot) -> None:
    evil = "<!channel> hey <@U0BIZ> <!subteam^S0BILLING> click <https://evil.example|your bank> & more"
    bot.telegram.push_text(CHAT, evil, user={"id": CHAT, "is_bot": False, "first_name": "<!here>", "username": "x"})
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    for message in [_header(bot, thread), *bot.slack.thread(*thread)]:
        shown = all_text(message)
        assert "<!" not in shown and "<@U0BIZ" not in shown and "<https" not in shown
        assert not message.get("link_names")
    body = all_text(bot.slack.thread(*thread)[0])
    assert "&lt;!channel&gt; hey &lt;@U0BIZ&gt;" in body and "&amp; more" in body
    assert "&lt;!here&gt;" in all_text(_header(bot, thread))


async def test_staff_formatting_mentions_and_links_become_telegram_text(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    await bot.staff_reply(
        thread, f"*Thanks* <@{STAFF2}> will help; see <https://example.com/a?b=1&amp;c=2|the guide> &lt;3"
    )
    await bot.idle()
    sent = bot.telegram.sent(CHAT)[-1]
    assert sent["parse_mode"] == "HTML"
    assert "<b>Thanks</b>" in sent["text"]
    assert "@Sam" in sent["text"]
    assert '<a href="https://example.com/a?b=1&amp;c=2">the guide</a>' in sent["text"]
    assert sent["visible_text"].endswith("<3")  # &lt; unescaped on its way to the customer


def _rich_text(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "rich_text", "block_id": "rt1", "elements": list(elements)}]


async def test_a_reply_whose_words_are_only_in_rich_text_blocks_reaches_the_customer_formatted(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "how do I reset it?")
    thread = await bot.thread_for(CHAT)
    blocks = _rich_text(
        {
            "type": "rich_text_section",
            "elements": [
                {"type": "text", "text": "Press "},
                {"type": "text", "text": "Reset", "style": {"bold": True}},
                {"type": "text", "text": ", ask "},
                {"type": "user", "user_id": STAFF2},
                {"type": "text", "text": " or read "},
                {"type": "link", "url": "https://example.com/help?a=1&b=2", "text": "the guide"},
                {"type": "text", "text": " <3 <!channel>\n"},
            ],
        },
        {
            "type": "rich_text_list",
            "style": "bullet",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "then wait"}]}],
        },
    )
    note = _rich_text({"type": "rich_text_section", "elements": [{"type": "text", "text": "note: she is upset"}]})
    channel, thread_ts = thread
    reply_event = message_event(channel, STAFF, "", thread_ts=thread_ts, blocks=blocks)
    note_event = message_event(channel, STAFF, "", thread_ts=thread_ts, blocks=note)
    del note_event["text"]  # empty or missing: either way the blocks carry the words
    for event in (reply_event, note_event):
        assert (await bot.slack_event(event)).status == 200
    await bot.idle()
    sent = bot.telegram.sent(CHAT)
    assert len(sent) == 1, "the reply arrives once and the note stays in Slack"
    assert "<b>Reset</b>" in sent[0]["text"] and '<a href="https://example.com/help?a=1&amp;b=2">' in sent[0]["text"]
    assert sent[0]["visible_text"] == "Press Reset, ask @Sam or read the guide <3 <!channel>\n• then wait"
    async with bot.rt.db.reading() as tx:
        rows = await tx.archive.message_rows([1, 2, 3])
    archived = {r.direction: r.text for r in rows}
    assert (
        archived["outbound"]
        == "Press Reset, ask @Sam or read the guide (https://example.com/help?a=1&b=2) <3 <!channel>\n• then wait"
    )
    assert archived["note"] == "note: she is upset"


async def test_long_texts_arrive_whole_on_both_sides(bot: Bot) -> None:
    long_customer = ("고객 메시지 " * 500)[:3500]
    bot.telegram.push_text(CHAT, long_customer)
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    post = bot.slack.thread(*thread)[0]
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    assert all(len(s) <= 3000 for s in sections) and len(post["blocks"]) <= 50
    assert "".join(sections).replace("\n", "").replace(" ", "") == long_customer.replace(" ", "")

    paragraph = "Thank you for waiting. 기다려 주셔서 감사합니다. " * 10
    long_reply = "\n\n".join(f"{i}: {paragraph}" for i in range(40))[:9000]
    await bot.staff_reply(thread, long_reply)
    await bot.idle()
    sent = bot.telegram.sent(CHAT)
    assert len(sent) >= 3
    assert all(len(m["visible_text"].encode("utf-16-le")) // 2 <= 4096 for m in sent)
    joined = "".join(m["visible_text"] for m in sent)
    assert "".join(joined.split()) == "".join(long_reply.split())


async def test_customer_files_are_uploaded_into_the_thread_with_captions(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "I'll send screenshots")
    thread = await bot.thread_for(CHAT)
    bot.telegram.push_photo(CHAT, b"\x89PNG photo bytes", caption="the <!channel> error screen")
    bot.telegram.push_document(CHAT, b"%PDF-1.4 invoice", file_name="invoice.pdf", mime_type="application/pdf")
    bot.telegram.push_voice(CHAT, b"OggS voice")
    bot.telegram.push_sticker(CHAT, b"RIFF webp sticker")
    await bot.slack.wait_for(lambda: len(bot.slack.uploads) == 4, timeout=10)
    uploads = bot.slack.uploads
    assert [u["content"] for u in uploads] == [
        b"\x89PNG photo bytes",
        b"%PDF-1.4 invoice",
        b"OggS voice",
        b"RIFF webp sticker",
    ]
    assert all(u["channel"] == thread[0] and u["thread_ts"] == thread[1] for u in uploads)
    assert uploads[0]["initial_comment"] == "the &lt;!channel&gt; error screen"
    assert uploads[1]["filename"] == "invoice.pdf"


async def test_staff_files_reach_the_customer(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "send me the manual please")
    thread = await bot.thread_for(CHAT)
    manual = bot.slack.host_file("manual.pdf", b"%PDF manual", "application/pdf")
    await bot.staff_reply(thread, "Here it is", files=[manual])
    await bot.idle()
    sent = bot.telegram.sent(CHAT)
    assert [m["kind"] for m in sent] == ["text", "document"]
    assert sent[1]["content"] == b"%PDF manual" and sent[1]["filename"] == "manual.pdf"


async def test_a_file_shared_from_another_organisation_is_fetched_through_files_info(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "send me the contract please")
    thread = await bot.thread_for(CHAT)
    shared = bot.slack.host_connect_file("contract.pdf", b"%PDF contract", "application/pdf")
    await bot.staff_reply(thread, "", files=[shared])
    await bot.idle()
    sent = bot.telegram.sent(CHAT)
    assert [m["kind"] for m in sent] == ["document"]
    assert sent[0]["content"] == b"%PDF contract" and sent[0]["filename"] == "contract.pdf"
    assert [c.params["file"] for c in bot.slack.calls_to("files.info")] == [shared["id"]]


async def test_history_and_inquiries_answer_the_caller_only(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "My invoice number is 7781")
    bot.telegram.push_text(
        5151, "another customer", user={"id": 5151, "is_bot": False, "first_name": "Ana", "username": "ana_b"}
    )
    await bot.thread_for(CHAT)
    await bot.thread_for(5151)
    await bot.click(CLAIM, await bot.conversation_id_for(5151), user=STAFF2)

    by_words = await bot.command("/history", "invoice 7781")
    assert by_words["response_type"] == "ephemeral"
    shown = json.dumps(by_words, ensure_ascii=False)
    assert "My invoice number is 7781" in shown and "Min Kim" in shown and "/archives/" in shown

    by_customer = await bot.command("/history", "@ana_b")
    assert "another customer" in json.dumps(by_customer) and "7781" not in json.dumps(by_customer)

    nothing = await bot.command("/history", "no such words anywhere")
    assert "Nothing found" in json.dumps(nothing)

    listing = await bot.command("/inquiries", "")
    text = json.dumps(listing, ensure_ascii=False)
    assert listing["response_type"] == "ephemeral"
    assert "2 open inquiries" in text and "Min Kim" in text and "Ana" in text
    assert f"held by <@{STAFF2}>" in text and "unclaimed" in text


async def test_everything_is_archived_with_time_author_channel_and_ids(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hello archive")
    thread = await bot.thread_for(CHAT)
    await bot.staff_reply(thread, "a reply")
    await bot.staff_reply(thread, "note: a note")
    await bot.idle()
    conversation_id = await bot.conversation_id_for(CHAT)
    async with bot.rt.db.transaction() as tx:
        rows = await tx.archive.message_rows(list(range(1, 10)))
        events = await tx.archive.events_of(conversation_id)
    by_direction = {r.direction: r for r in rows}
    inbound, outbound, note = by_direction["inbound"], by_direction["outbound"], by_direction["note"]
    assert inbound.text == "hello archive" and inbound.channel == "telegram" and inbound.slack_ts
    assert inbound.external_message_ids and inbound.author_name == "Min Kim"
    assert outbound.author_id == STAFF and outbound.slack_ts and outbound.external_message_ids
    assert outbound.delivery == "delivered" and outbound.author_name == "Jiwoo"
    assert note.delivery == "internal" and note.text == "note: a note"
    assert all(r.created_at.tzinfo is not None for r in rows)
    assert [e.kind for e in events] == ["opened", "claimed"]


async def test_a_restart_between_customer_message_and_staff_reply_loses_nothing(bot_factory: BotFactory) -> None:
    async with bot_factory() as first:
        first.telegram.push_text(CHAT, "before the restart")
        thread = await first.thread_for(CHAT)
        await first.idle()
    async with bot_factory() as second:
        await second.staff_reply(thread, "after the restart")
        await second.idle()
        assert second.telegram.sent_texts(CHAT) == ["after the restart"]
        second.telegram.push_text(CHAT, "and me again")
        await wait_until(lambda: len(second.slack.thread(*thread)) == 2, what="the second customer message")
        assert len([m for m in second.slack.channel_messages(INBOX) if not m.get("thread_ts")]) == 1


async def test_healthz_reports_ready(bot: Bot) -> None:
    async with bot.http.get(f"{bot.rt.url}/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body == {
        "status": "ok", "database": "ok", "slack": "ok", "telegram": "ok", "delivery": "ok",
        "oldest_pending_seconds": 0.0,
    }  # fmt: skip


async def test_unsigned_or_forged_slack_requests_are_refused(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "hi")
    thread = await bot.thread_for(CHAT)
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "event": message_event(*thread[:1], STAFF, "forged", thread_ts=thread[1]),
        }
    ).encode()
    async with bot.http.post(
        bot.events_url,
        data=body,
        headers={"Content-Type": "application/json", "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"},
    ) as response:
        assert response.status == 401
    async with bot.rt.db.transaction() as tx:  # refused before anything was stored, so nothing can follow later
        replies = (await tx.conn.exec_driver_sql("SELECT count(*) FROM messages WHERE direction = 'outbound'")).one()
    assert replies == (0,)
    await bot.idle()
    assert bot.telegram.sent_texts(CHAT) == []


async def test_start_gets_a_greeting_and_opens_no_thread(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "/start")
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent(CHAT)) == 1, timeout=5)
    # the customer's Telegram speaks Korean: they are greeted in Korean, whatever the team's default language
    assert bot.telegram.sent_texts(CHAT)[0] == bot.rt.intake.receiving.texts("ko").greeting
    assert bot.slack.calls_to("chat.postMessage") == []
