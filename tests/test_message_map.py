"""The lasting map of message ids: every part of every message, on both sides, written as it is delivered and kept
across an upgrade for what the archive already held."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import text

from bot.store.engine import _alembic_config, create_engine, migrate
from bot.store.parts import Part
from tests.conftest import Bot, BotFactory
from tests.fakes.memory_channel import MemoryConnector, MemorySettings
from tests.fakes.slack_requests import new_ts

CHAT = 4242


async def parts_of(bot: Bot, source_key: str) -> list[Part]:
    async with bot.rt.db.reading() as tx:
        row = await tx.archive.message_by_source_key(source_key)
        assert row is not None, source_key
        return await tx.parts.current(row.id)


def ids(parts: list[Part], platform: str) -> list[str]:
    return [p.external_id for p in parts if p.platform == platform]


async def test_a_reply_split_for_the_customer_maps_every_part_on_both_sides(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "a question")
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    update = bot.telegram.update(bot.telegram.delivered_update_ids[-1])
    customer = await parts_of(bot, f"telegram:{CHAT}:{update['message']['message_id']}")
    assert ids(customer, "telegram") == [str(update["message"]["message_id"])]
    assert ids(customer, "slack") == [bot.slack.thread(*thread)[0]["ts"]]

    ts = new_ts()
    file = bot.slack.host_file("manual.pdf", b"%PDF-1.4 manual", "application/pdf")
    await bot.staff_reply(thread, "\n\n".join(f"{i}: " + "a long answer " * 50 for i in range(14)), ts=ts, files=[file])
    await bot.idle()
    sent = bot.telegram.sent(CHAT)
    reply = await parts_of(bot, f"slack:{thread[0]}:{ts}")
    assert len(sent) >= 3 and ids(reply, "telegram") == [str(m["message_id"]) for m in sent]
    assert [p.kind for p in reply if p.platform == "telegram"] == ["text"] * (len(sent) - 1) + ["file"]
    assert [(p.platform, p.place, p.external_id) for p in reply if p.platform == "slack"] == [("slack", thread[0], ts)]
    assert {p.place for p in reply if p.platform == "telegram"} == {str(CHAT)}


async def test_a_customer_message_in_several_posts_and_a_combined_backlog_map_every_post(
    bot_factory: BotFactory,
) -> None:
    async with bot_factory(channels={"memory": MemorySettings()}) as bot:
        channel = bot.rt.connectors["memory"]
        assert isinstance(channel, MemoryConnector)
        words = " ".join(f"word{i:05d}" for i in range(3000))  # about 30,000 characters: several Slack posts
        await channel.says("visitor-1", words, key="memory:visitor-1:long")
        thread = await bot.thread_for_address("memory", "visitor-1")
        await bot.idle()
        posts = [m["ts"] for m in bot.slack.thread(*thread)]
        assert len(posts) >= 3
        assert ids(await parts_of(bot, "memory:visitor-1:long"), "slack") == posts

        bot.slack.rate_limit("chat.postMessage", retry_after=2)  # the thread waits two seconds: a backlog builds up
        for i in range(4):
            await channel.says("visitor-1", f"backlog {i}", key=f"memory:visitor-1:b{i}")
        await bot.thread_text(thread, "backlog 3")
        await bot.idle()
        shared = [ids(await parts_of(bot, f"memory:visitor-1:b{i}"), "slack") for i in range(4)]
        assert len(bot.slack.thread(*thread)) < len(posts) + 4  # combined
        assert all(len(s) == 1 for s in shared) and shared[-1][0] == bot.slack.thread(*thread)[-1]["ts"]
        async with bot.rt.db.reading() as tx:
            together = await tx.parts.sharing("slack", thread[0], shared[-1][0])
        assert len(together) >= 2  # one post, several messages: each of them finds it


async def test_an_upgrade_maps_what_the_archive_already_held(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0006"))
        now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        async with engine.begin() as conn:
            for statement, values in _older_archive(now):
                await conn.execute(text(statement), values)
        await migrate(engine)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT message_id, platform, place, external_id, position, kind FROM message_parts "
                         "ORDER BY message_id, platform, position")
                )
            ).all()  # fmt: skip
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "slack", "C0INBOX", "1700000000.000200", 0, "text"),  # the customer's message: its post
        (1, "telegram", "42", "7", 0, "text"),  # and its Telegram message
        (2, "slack", "C0OLD", "1700000000.000300", 0, "text"),  # a staff reply: where it was written
        (2, "telegram", "42", "8", 0, "text"),  # its two parts for the customer: a text and a file
        (2, "telegram", "42", "9", 1, "file"),
    ]


def _older_archive(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """Rows as a bot before the map wrote them."""
    return [
        ("INSERT INTO customers (id, display_name, created_at) VALUES (1, 'Min', :now)", {"now": now}),
        (
            "INSERT INTO identities (id, customer_id, channel, external_id, display_name, created_at) "
            "VALUES (1, 1, 'telegram', '42', 'Min', :now)",
            {"now": now},
        ),
        (
            "INSERT INTO conversations (id, customer_id, identity_id, status, slack_channel, thread_ts, opened_at, "
            "last_message_at) VALUES (1, 1, 1, 'open', 'C0INBOX', '1700000000.000100', :now, :now)",
            {"now": now},
        ),
        (
            "INSERT INTO messages (id, conversation_id, direction, author_id, author_name, channel, text, attachments, "
            "source_key, external_message_ids, slack_ts, delivery, created_at) VALUES (1, 1, 'inbound', "
            "'telegram:42', 'Min', 'telegram', 'hello', '[]', 'telegram:42:7', '[\"7\"]', '1700000000.000200', "
            "'delivered', :now)",
            {"now": now},
        ),
        (
            "INSERT INTO messages (id, conversation_id, direction, author_id, author_name, channel, text, attachments, "
            "source_key, external_message_ids, slack_ts, delivery, created_at) VALUES (2, 1, 'outbound', 'U0STAFF', "
            "'Jiwoo', 'slack', 'see the file', :files, 'slack:C0OLD:1700000000.000300', '[\"8\", \"9\"]', "
            "'1700000000.000300', 'delivered', :now)",
            {"now": now, "files": '[{"kind": "document", "ref": "x", "file_name": "a.pdf"}]'},
        ),
        (
            "INSERT INTO messages (id, conversation_id, direction, author_id, author_name, channel, text, attachments, "
            "source_key, external_message_ids, delivery, created_at) VALUES (3, 1, 'note', 'U0STAFF', 'Jiwoo', "
            "'slack', '', '[]', 'erased:3', '[]', 'internal', :now)",
            {"now": now},
        ),
    ]


async def test_a_customer_file_without_words_maps_its_message_and_its_upload(bot: Bot) -> None:
    bot.telegram.push_sticker(CHAT, b"RIFF....WEBPVP8 sticker")
    await bot.thread_for(CHAT)
    await bot.idle()
    update = bot.telegram.update(bot.telegram.delivered_update_ids[-1])
    sticker = await parts_of(bot, f"telegram:{CHAT}:{update['message']['message_id']}")
    assert ids(sticker, "telegram") == [str(update["message"]["message_id"])]
    assert ids(sticker, "slack") == [bot.slack.uploads[-1]["file_id"]]
    assert [p.kind for p in sticker if p.platform == "slack"] == ["file"]
