"""Many customer messages in one group commit: follow-ups into open conversations are stored with a few statements
for the whole group, and a group mixing them with first messages, renames, edits and redeliveries gives every
message what it would have been given alone, in its customer's order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bot.connectors.base import Received
from bot.domain.models import InboundMessage, Sender
from bot.store.database import Database
from bot.store.engine import create_engine, migrate
from bot.usecases.intake import Intake
from tests.conftest import Bot, all_text
from tests.test_delivery import occurrences

CHATS = [6101 + n for n in range(8)]


class Transactions:
    """The statements of every transaction of the bot's engine, by connection, each list closed at its commit."""

    def __init__(self, bot: Bot) -> None:
        self.engine = bot.rt.db.engine.sync_engine
        self.open: dict[int, list[str]] = {}
        self.committed: list[list[str]] = []
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.open.setdefault(id(conn), []).append(" ".join(statement.split()[:3]))

    def _commit(self, conn: Any) -> None:
        self.committed.append(self.open.pop(id(conn), []))

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)

    def archiving(self) -> list[list[str]]:
        """The committed transactions that archived customer messages."""
        return [t for t in self.committed if any(s.startswith("INSERT INTO messages") for s in t)]


async def open_threads(bot: Bot, chats: list[int]) -> dict[int, tuple[str, str]]:
    for chat in chats:
        bot.telegram.push_text(chat, f"hello from {chat}")
    threads = {chat: await bot.thread_for(chat) for chat in chats}
    await bot.idle()
    return threads


async def texts_of(bot: Bot, chat: int) -> list[str]:
    query = text(
        "SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "JOIN identities i ON i.id = c.identity_id WHERE i.external_id = :chat ORDER BY m.id"
    )
    async with bot.rt.db.reading() as tx:
        return list((await tx.conn.execute(query, {"chat": str(chat)})).scalars())


async def test_forty_follow_ups_in_one_group_take_a_few_statements_and_keep_each_customers_order(bot: Bot) -> None:
    threads = await open_threads(bot, CHATS)
    groups: list[int] = []
    real_store = Intake._store_group_in

    async def store(self: Intake, group: Any, *, careful: bool) -> Any:
        groups.append(sum(len(b.items) for b in group))
        return await real_store(self, group, careful=careful)

    bot.rt.intake._store_group_in = store.__get__(bot.rt.intake)  # type: ignore[method-assign]
    watched = Transactions(bot)
    try:
        for n in range(5):  # pushed at once: one getUpdates, one group
            for chat in CHATS:
                bot.telegram.push_text(chat, f"f{chat}-{n}")
        for chat in CHATS:
            shown = await bot.thread_text(threads[chat], f"f{chat}-4")
            assert occurrences(shown, f"f{chat}") == list(range(5))
        await bot.idle()
    finally:
        watched.close()
    assert groups == [40]
    (archiving,) = watched.archiving()
    # the cursor, identities, open conversations, inquiry states, messages, their map, the posts queued, touch:
    # eight statements for forty messages (one by one: ten or more each). On SQLite the three reads are one
    # statement (which carries the BEGIN), and the lease of the posts alone in their lanes is one more
    # (bot.store.database.Database.adopt_with: none here, each lane has five).
    assert len(archiving) <= (7 if bot.rt.db.dialect == "sqlite" else 8), archiving
    for chat in CHATS:
        assert await texts_of(bot, chat) == [f"hello from {chat}", *(f"f{chat}-{n}" for n in range(5))]
        assert sum(bot.slack_count(threads[chat], f"f{chat}-{n}") for n in range(5)) == 5


async def test_a_mixed_group_gives_every_message_what_it_would_get_alone(bot: Bot) -> None:
    follower, renamed, editor, repeater = CHATS[:4]
    newcomer = 6999
    threads = await open_threads(bot, [follower, renamed, editor, repeater])
    edited_id = 77_001
    bot.telegram.push_text(editor, "my order is 123", message_id=edited_id)
    archived_before = bot.telegram.push_text(repeater, "already here")
    await bot.thread_text(threads[editor], "my order is 123")
    await bot.thread_text(threads[repeater], "already here")
    await bot.idle()
    new_name = {**bot.telegram.default_user(renamed), "first_name": "Minji", "last_name": "Park"}

    bot.telegram.push_text(follower, "m-1")  # everything below arrives in one getUpdates
    bot.telegram.push_text(newcomer, "n-1")  # a first message: opens a conversation
    bot.telegram.push_text(follower, "m-2")
    bot.telegram.push_text(newcomer, "n-2")  # must land in the conversation n-1 just opened
    bot.telegram.push_text(renamed, "under my new name", user=new_name)
    bot.telegram.push_edited_text(editor, edited_id, "my order is 124")
    bot.telegram.push_duplicate(archived_before)  # archived in an earlier group
    bot.telegram.push_text(follower, "m-3")

    newcomer_thread = await bot.thread_for(newcomer)
    assert occurrences(await bot.thread_text(newcomer_thread, "n-2"), "n") == [1, 2]
    assert occurrences(await bot.thread_text(threads[follower], "m-3"), "m") == [1, 2, 3]
    await bot.thread_text(threads[renamed], "under my new name")
    await bot.idle()
    assert await texts_of(bot, follower) == [f"hello from {follower}", "m-1", "m-2", "m-3"]
    assert await texts_of(bot, newcomer) == ["n-1", "n-2"]
    open_for_newcomer = [c for c in await bot.rt.service.open_inquiries() if c.address == str(newcomer)]
    assert len(open_for_newcomer) == 1  # one conversation, opened once
    assert await texts_of(bot, repeater) == [f"hello from {repeater}", "already here"]
    assert bot.slack_count(threads[repeater], "already here") == 1
    async with bot.rt.db.reading() as tx:
        names = await tx.conn.execute(
            text("SELECT display_name FROM identities WHERE external_id = :chat"), {"chat": str(renamed)}
        )
        assert names.scalar_one() == "Minji Park"  # the identity updated, as upsert_identity does for one alone
        versions = await tx.conn.execute(
            text("SELECT count(*) FROM messages WHERE edit_of IS NOT NULL AND text = 'my order is 124'")
        )
        assert versions.scalar_one() == 1  # the edit kept as a version of the original
    edited = [all_text(m) for m in bot.slack.thread(*threads[editor]) if "my order is" in all_text(m)]
    assert len(edited) == 1 and "124" in edited[0]  # shown in place, not posted again


async def test_the_same_follow_up_twice_in_one_group_is_archived_once(bot: Bot) -> None:
    """A webhook retried while the first delivery still waits for its commit: both are in the same group."""
    (chat,) = CHATS[:1]
    thread = (await open_threads(bot, [chat]))[chat]
    sender = Sender(external_id=str(chat), display_name="Min Kim", username="minkim", language_code="ko")
    message = InboundMessage(
        channel="telegram", address=str(chat), sender=sender, text="twice?", source_key=f"telegram:{chat}:twice",
        sent_at=datetime.now(UTC), external_message_id="91",
    )  # fmt: skip
    later = replace(message, text="once more", source_key=f"telegram:{chat}:later", external_message_id="92")
    outcomes = await bot.rt.intake.submit("telegram", [Received(message), Received(message), Received(later)])
    assert [(o.duplicate, o.message_id is not None) for o in outcomes] == [(False, True), (True, False), (False, True)]
    assert outcomes[0].conversation_id == outcomes[1].conversation_id == outcomes[2].conversation_id
    await bot.thread_text(thread, "once more")
    await bot.idle()
    assert await texts_of(bot, chat) == [f"hello from {chat}", "twice?", "once more"]
    assert bot.slack_count(thread, "twice?") == 1


async def test_a_group_finds_its_senders_through_the_identities_index(tmp_path: Path) -> None:
    """``(channel, external_id) IN (VALUES ...)`` made SQLite scan every identity (10 ms a group at 50,000
    customers, under the write lock); one channel at a time, the unique index finds each sender."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'plan.db'}")
    await migrate(engine)
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with Database(engine).transaction() as tx:
            found = await tx.follow_ups.read_group({("telegram", "1"), ("telegram", "2"), ("website", "v-1")})
            assert found.senders == {}
            reads = [s for s in statements if s[0].lstrip().startswith("SELECT")]
            assert len(reads) == 2  # one a channel
            for statement, parameters in reads:
                plan = (await tx.conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
                steps = [step[3] for step in plan]
                assert any("identities USING" in step and "INDEX" in step for step in steps), steps
                assert not any(step.startswith("SCAN identities") for step in steps), steps
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
        await engine.dispose()
