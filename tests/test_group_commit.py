"""Inbound throughput without weaker guarantees: group commit, one transaction per getUpdates, read transactions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from bot.domain.models import InboundMessage, Sender
from bot.usecases.intake import Intake, cursor_key
from tests.conftest import Bot, BotFactory, wait_until
from tests.refusals import refuse_archiving
from tests.test_delivery import occurrences


def count_commits(bot: Bot) -> list[int]:
    """A list that grows by one on every commit of the bot's engine."""
    commits: list[int] = []
    event.listen(bot.rt.db.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    return commits


async def archived_texts(bot: Bot) -> list[str]:
    async with bot.rt.db.reading() as tx:
        return list((await tx.conn.execute(text("SELECT text FROM messages ORDER BY id"))).scalars().all())


async def test_concurrent_webhook_updates_share_a_commit_and_one_bad_one_fails_alone(
    bot_factory: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://bot.example.test/telegram/webhook"
    async with bot_factory(TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET="s3cret") as bot:
        bot.telegram.forward_webhooks_to(bot.rt.url)
        first = bot.telegram.push_text(900, "w-0")
        assert await bot.telegram.deliver_webhook(first) == 200
        await bot.thread_for(900)
        failed = refuse_archiving(bot, "w-7")
        intake = bot.rt.intake
        stored_when_answered: dict[str, bool] = {}
        real_submit = intake.submit

        async def submit_and_check(channel: str, items: Any, cursor: Any = None) -> Any:
            outcomes = await real_submit(channel, items, cursor)
            for item in items:
                stored_when_answered[item.message.text] = item.message.text in await archived_texts(bot)
            return outcomes

        intake.submit = submit_and_check  # type: ignore[method-assign]
        groups: list[tuple[int, bool]] = []  # per receive transaction: how many updates, and whether a rerun
        real_store = Intake._store_group_in

        async def store(self: Intake, group: Any, *, careful: bool) -> Any:
            groups.append((sum(len(batch.items) for batch in group), careful))
            return await real_store(self, group, careful=careful)

        monkeypatch.setattr(Intake, "_store_group_in", store)
        ids = [bot.telegram.push_text(900 + i % 3, f"w-{i}") for i in range(1, 25)]
        statuses = await asyncio.gather(*(bot.telegram.deliver_webhook(i) for i in ids))

        assert failed == ["w-7"]
        assert statuses == [503 if i == 7 else 200 for i in range(1, 25)]  # only the bad one is retried
        stored = await archived_texts(bot)
        assert sorted(t for t in stored if t != "w-0") == sorted(f"w-{i}" for i in range(1, 25) if i != 7)
        assert all(stored_when_answered[f"w-{i}"] for i in range(1, 25) if i != 7)  # answered after the commit
        first_tries = [size for size, careful in groups if not careful]
        assert sum(first_tries) == 24 and len(first_tries) < 24 // 2  # shared commits, not one per update
        assert len(groups) - len(first_tries) == 1  # the group holding w-7 ran again, item by item, and the rest held
        assert await bot.telegram.deliver_webhook(ids[6]) == 200  # Telegram's retry of the failed one
        assert "w-7" in await archived_texts(bot)


async def test_receive_answers_each_caller_only_after_its_group_committed(bot: Bot) -> None:
    bot.telegram.push_text(901, "g-0")
    thread = await bot.thread_for(901)
    intake = bot.rt.intake
    commits = count_commits(bot)
    seen_at_answer: list[int] = []
    sender = Sender(external_id="901", display_name="G")
    messages = [
        InboundMessage(
            channel="telegram",
            address="901",
            sender=sender,
            text=f"g-{i}",
            source_key=f"telegram:901:g{i}",
            sent_at=datetime.now(UTC),
            external_message_id=str(5000 + i),
        )
        for i in range(1, 11)
    ]

    async def one(message: InboundMessage) -> None:
        await intake.receive(message)
        seen_at_answer.append(len(commits))

    await asyncio.gather(*(one(m) for m in messages))
    assert len(seen_at_answer) == 10 and all(n >= 1 for n in seen_at_answer)  # nobody answered before a commit
    assert occurrences(" ".join(await archived_texts(bot)), "g") == list(range(11))  # in the order received
    assert occurrences(await bot.thread_text(thread, "g-10"), "g") == list(range(11))


async def test_polling_stores_one_getupdates_in_one_transaction_and_never_confirms_past_a_failure(bot: Bot) -> None:
    bot.telegram.push_text(902, "p-0")
    thread = await bot.thread_for(902)
    await bot.idle()
    intake = bot.rt.intake
    failed = refuse_archiving(bot, "p-3")
    real_submit = intake.submit
    calls: list[tuple[int, str | None, str | None, list[str]]] = []

    async def submit_observed(channel: str, items: Any, cursor: Any = None) -> Any:
        try:
            return await real_submit(channel, items, cursor)
        finally:
            async with bot.rt.db.reading() as tx:
                saved = await tx.archive.get_setting(cursor_key("telegram"))
            calls.append((len(items), cursor, saved, await archived_texts(bot)))

    intake.submit = submit_observed  # type: ignore[method-assign]
    ids = [bot.telegram.push_text(902, f"p-{i}") for i in range(1, 6)]  # pushed at once: one getUpdates
    assert occurrences(await bot.thread_text(thread, "p-5"), "p") == list(range(6))
    assert failed == ["p-3"]
    await wait_until(lambda: len(calls) >= 2, what="both attempts observed")  # each records after its commit
    size, offered, saved, archived = calls[0]
    assert size == 5 and offered == str(ids[-1] + 1)  # one transaction for the whole answer, with its offset
    assert saved != offered and not any(f"p-{i}" in archived for i in range(1, 6))  # none confirmed, none stored
    assert calls[1][:3] == (5, offered, offered)  # the same answer came again and was stored whole
    assert occurrences(" ".join(await archived_texts(bot)), "p") == list(range(6))


async def test_a_read_transaction_does_not_wait_for_a_writer(bot: Bot) -> None:
    db = bot.rt.db
    bot.telegram.push_text(903, "r-0")
    await bot.thread_for(903)
    async with db.transaction() as tx:  # a writer holds the database (SQLite: BEGIN IMMEDIATE, the write lock)
        await tx.archive.put_setting("held", "1")
        inquiries = await asyncio.wait_for(bot.rt.service.open_inquiries(), 2)
        assert [c.address for c in inquiries] == ["903"]
        async with db.reading() as reader:
            held = await asyncio.wait_for(reader.archive.get_setting("held"), 2)
        assert held is None  # sees the last commit
    if db.dialect == "postgresql":  # a write slipped into a read fails there
        with pytest.raises(DBAPIError):
            async with db.reading() as tx:
                await tx.archive.put_setting("in-a-read", "1")
