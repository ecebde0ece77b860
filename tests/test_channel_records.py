"""What the core offers a channel that shows customers their conversation itself (a web page), channel-neutral and
shown through the in-memory channel: activities (page views, a contact left), who a channel vouches for, reading a
conversation back, recording what was delivered, keeping files, the team's hours; and erasure forgets all of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.connectors.base import Activity, Received
from bot.domain.activity import LEFT_CONTACT, VIEWED, summarize_views
from bot.domain.models import InboundMessage, Sender
from bot.usecases.crm import Customers
from tests.conftest import BOT_YAML, Bot, BotFactory, all_text, wait_until
from tests.fakes.memory_channel import MemoryConnector, MemorySettings


@pytest.fixture
async def web_bot(bot_factory: BotFactory) -> AsyncIterator[Bot]:
    async with bot_factory(channels={"memory": MemorySettings()}) as bot:
        yield bot


def memory(bot: Bot) -> MemoryConnector:
    connector = bot.rt.connectors["memory"]
    assert isinstance(connector, MemoryConnector)
    return connector


def sender(address: str, **extra: object) -> Sender:
    return Sender(external_id=address, display_name="Mina", **extra)  # type: ignore[arg-type]


def view(address: str, label: str, key: str, *, only_known: bool = False) -> Activity:
    return Activity(sender(address), VIEWED, label, key, lines=(f"https://shop.example{label}",), only_known=only_known)


def message(address: str, text_: str, key: str, **extra: object) -> Received:
    return Received(
        InboundMessage(
            channel="memory", address=address, sender=sender(address, **extra), text=text_,
            source_key=f"memory:{address}:{key}", sent_at=datetime.now(UTC), external_message_id=key,
        )
    )  # fmt: skip


async def count(bot: Bot, sql: str) -> int:
    async with bot.rt.db.reading() as tx:
        return int((await tx.conn.execute(text(sql))).scalar_one())


def test_views_read_as_one_short_line() -> None:
    assert summarize_views(["/pricing", "/pricing", "/pricing", "/signup"]) == "viewed /pricing 3×, then /signup"
    assert summarize_views([]) == ""
    many = summarize_views([f"/page/{i}" for i in range(200)])
    assert len(many) <= 300 and many.startswith("viewed … ") and many.endswith("/page/199")


async def test_a_passer_by_who_never_writes_leaves_no_customer(web_bot: Bot) -> None:
    channel = memory(web_bot)
    outcome = (await channel.receive(view("v-1", "/pricing", "a", only_known=True)))[0]
    assert outcome.status == "unknown"
    assert await count(web_bot, "SELECT count(*) FROM customers") == 0


async def test_views_held_back_arrive_with_the_first_message_and_show_on_the_thread(web_bot: Bot) -> None:
    channel = memory(web_bot)
    views = [view("v-2", p, str(k)) for k, p in enumerate(["/pricing", "/pricing", "/pricing", "/<!channel>"])]
    outcomes = await channel.receive(*views, message("v-2", "what does the pro plan cost?", "m1"))
    assert outcomes[-1].opened and outcomes[-1].message_id is not None
    thread = await web_bot.thread_for_address("memory", "v-2")
    header = all_text(web_bot.slack.message(*thread) or {})
    assert "*Before writing:* viewed /pricing 3×, then /&lt;!channel&gt;" in header
    again = (await channel.receive(view("v-2", "/docs", "9", only_known=True), view("v-2", "/docs", "9")))
    assert [o.status for o in again] == ["kept", "duplicate"]  # known now; the same view twice is kept once
    customer = (await web_bot.rt.service.open_inquiries())[0].customer_id
    profile = await Customers(web_bot.rt.db, web_bot.rt.config.bot).profile(customer, "U0STAFF", via="test")
    assert [e.kind for e in profile.timeline][:2] == [VIEWED, VIEWED]


async def test_a_contact_left_is_kept_and_told_in_the_open_thread(web_bot: Bot) -> None:
    channel = memory(web_bot)
    await channel.receive(message("v-3", "are you there?", "m1"))
    thread = await web_bot.thread_for_address("memory", "v-3")
    await channel.receive(Activity(sender("v-3"), LEFT_CONTACT, "mina@example.com`<!here>", "e1"))
    said = await web_bot.thread_text(thread, "left an address to be answered at")
    assert "mina@example.com'&lt;!here&gt;" in said and "<!here>" not in said


async def test_a_channel_says_who_it_vouches_for(web_bot: Bot) -> None:
    channel = memory(web_bot)
    await channel.receive(message("user-42", "hello", "m1", verified=True, email="mina@example.com"))
    await channel.receive(message("v-4", "hello", "m1", verified=False))
    verified = all_text(web_bot.slack.message(*await web_bot.thread_for_address("memory", "user-42")) or {})
    anonymous = all_text(web_bot.slack.message(*await web_bot.thread_for_address("memory", "v-4")) or {})
    assert "*Mina* (mina@example.com, verified) via Memory" in verified
    assert "*Mina* (not verified) via Memory" in anonymous


async def test_a_conversation_reads_back_with_what_was_delivered(web_bot: Bot) -> None:
    channel = memory(web_bot)
    inbox = channel.inbox
    assert inbox is not None
    assert not (await inbox.transcript("v-5")).known
    with pytest.raises(LookupError):
        await inbox.delivered("v-5", message_id=None, part=0, payload={"text": "to nobody"})
    first = (await channel.receive(message("v-5", "first", "c1")))[0]
    thread = await web_bot.thread_for_address("memory", "v-5")
    await web_bot.staff_reply(thread, "an answer")
    await wait_until(lambda: any("an answer" in t for t in channel.texts("v-5")), what="the reply")
    reply_id = await count(web_bot, "SELECT max(id) FROM messages WHERE direction = 'outbound'")
    one = await inbox.delivered("v-5", message_id=reply_id, part=0, payload={"text": "an answer"})
    assert await inbox.delivered("v-5", message_id=reply_id, part=0, payload={"text": "an answer"}) == one
    transcript = await inbox.transcript("v-5")
    assert transcript.known and transcript.open is True
    assert [(w.text, w.client_id) for w in transcript.written] == [("first", "c1")]
    assert [(s.message_id, s.payload["text"]) for s in transcript.sent] == [(reply_id, "an answer")]
    later = await inbox.transcript("v-5", after_written=first.message_id or 0, after_sent=one)
    assert [w.text for w in later.written] == ["first"]  # stored moments before the cursor: read again
    await web_bot.click("conversation_close", first.conversation_id or 0)
    assert (await inbox.transcript("v-5")).open is False


async def test_files_are_kept_for_the_customer_and_erasure_forgets_everything_kept(web_bot: Bot) -> None:
    channel = memory(web_bot)
    inbox = channel.inbox
    assert inbox is not None
    await channel.receive(message("user-7", "hi", "c1", verified=True, email="kim@example.com"))
    kept = await inbox.keep_file("user-7", key="up-1", name="receipt.png", mime_type="image/png", content=b"\x89PNG")
    assert (kept.size, kept.address) == (4, "user-7")
    assert (await inbox.file("up-1")).content == b"\x89PNG"  # type: ignore[union-attr]
    assert set(await inbox.files(["up-1", "missing"])) == {"up-1"}
    await inbox.delivered("user-7", message_id=None, part=0, payload={"text": "hello"})
    customer = (await web_bot.rt.service.open_inquiries())[0].customer_id
    await Customers(web_bot.rt.db, web_bot.rt.config.bot).erase(customer, "cli:test")
    assert await inbox.file("up-1") is None
    assert await count(web_bot, "SELECT count(*) FROM channel_parts") == 0
    assert await count(web_bot, "SELECT count(*) FROM identities WHERE email IS NOT NULL") == 0


async def test_the_team_s_hours_say_when_it_is_next_at_work(bot_factory: BotFactory) -> None:
    night = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # Wednesday 08:00 in Seoul: before opening
    hours = {"default": {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}}}
    yaml = {**BOT_YAML, "business_hours": hours}
    async with bot_factory(bot_yaml=yaml, clock=lambda: night, channels={"memory": MemorySettings()}) as bot:
        inbox = memory(bot).inbox
        assert inbox is not None
        away = await inbox.availability()
        assert not away.open and away.timezone == "Asia/Seoul"
        assert away.opens_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    async with bot_factory(channels={"memory": MemorySettings()}) as bot:
        inbox = memory(bot).inbox
        assert inbox is not None and (await inbox.availability()).open


async def test_a_delivery_carries_the_archived_message_it_is(web_bot: Bot) -> None:
    channel = memory(web_bot)
    await channel.receive(message("v-8", "hello", "c1"))
    thread = await web_bot.thread_for_address("memory", "v-8")
    await web_bot.staff_reply(thread, "the answer")
    await wait_until(lambda: any("the answer" in t for t in channel.texts("v-8")), what="the reply")
    reply_id = await count(web_bot, "SELECT max(id) FROM messages WHERE direction = 'outbound'")
    assert channel.outgoing[-1].message_id == reply_id
