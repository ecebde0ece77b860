"""The connector contract: what every customer channel must do, whatever its platform.

A channel's tests subclass ``ChannelContract`` and provide a ``harness`` fixture (tests/contract/harness.py); the
tests here then run against it, through the real bot and the channel's fake platform. Its own wire format is tested
beside it, in its own test module.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from bot.connectors.base import Outgoing, OutgoingFile
from bot.domain.errors import PermanentFailure, RateLimited, TemporaryFailure
from bot.domain.richtext import Run
from tests.conftest import wait_until
from tests.contract.harness import ChannelHarness
from tests.refusals import refuse_archiving


class RecordedParts:
    """``Parts`` as the delivery worker gives them, kept in memory; ``before`` runs before the n-th API call."""

    def __init__(self, before: dict[int, Any] | None = None) -> None:
        self.done = 0
        self.ids: list[str | None] = []
        self.calls = 0
        self.before = before or {}

    async def advance(self, sent_id: str | None = None) -> None:
        self.done += 1
        self.ids.append(sent_id)

    async def slot(self) -> None:
        self.calls += 1
        if self.calls in self.before:
            self.before.pop(self.calls)()


async def archived(harness: ChannelHarness, needle: str) -> int:
    async with harness.bot.rt.db.reading() as tx:
        rows = (await tx.conn.execute(text("SELECT text FROM messages WHERE direction = 'inbound'"))).scalars().all()
    return sum(1 for row in rows if row == needle)


class ChannelContract:
    async def test_a_repeated_update_is_stored_once(self, harness: ChannelHarness) -> None:
        address = harness.new_address()
        handle = await harness.customer_writes(address, "only once, please")
        await wait_until(lambda: harness.confirmed(handle), what="the update confirmed")
        await harness.deliver_again(handle)
        await harness.deliver_again(handle)
        thread = await harness.bot.thread_for_address(harness.channel, address)
        await harness.bot.idle()
        assert await archived(harness, "only once, please") == 1
        assert await harness.bot.thread_text(thread, "only once, please")
        assert harness.bot.slack_count(thread, "only once, please") == 1

    async def test_an_update_is_confirmed_only_once_it_is_stored(self, harness: ChannelHarness) -> None:
        refused = refuse_archiving(harness.bot, "stored before confirmed")  # type: ignore[arg-type]
        address = harness.new_address()
        handle = await harness.customer_writes(address, "stored before confirmed")
        await wait_until(lambda: bool(refused), what="the first attempt refused, and the caller told")
        if not harness.has_cursor:
            assert not await harness.confirmed(handle)  # the platform was told to send it again
            await harness.deliver_again(handle)
        await wait_until(lambda: harness.confirmed(handle), what="the update confirmed once stored")
        assert await archived(harness, "stored before confirmed") == 1
        if harness.has_cursor:
            cursor = await harness.bot.rt.intake.inbox(harness.channel).cursor()
            assert cursor is not None

    @pytest.mark.parametrize(
        ("kind", "error"),
        [("rate_limited", RateLimited), ("temporary", TemporaryFailure), ("permanent", PermanentFailure)],
    )
    async def test_platform_errors_map_to_rate_limited_temporary_or_permanent(
        self, harness: ChannelHarness, kind: str, error: type[Exception]
    ) -> None:
        address = await self._known_customer(harness)
        if kind not in harness.refusals:  # this platform never refuses a send that way: it is delivered
            await harness.connector.send(address, Outgoing(text="hello"), RecordedParts())
            await harness.settled(address)
            assert harness.received_texts(address)[-1] == "hello"
            return
        harness.refuse_next_send(kind, address)
        with pytest.raises(error) as caught:
            await harness.connector.send(address, Outgoing(text="hello"), RecordedParts())
        if isinstance(caught.value, RateLimited):
            assert caught.value.retry_after > 0  # how long to wait, as the platform said

    async def test_a_multi_part_send_resumes_after_the_last_part_sent(self, harness: ChannelHarness) -> None:
        address = await self._known_customer(harness)
        limit = harness.connector.limits.text_length
        words = [f"w{i:04d}" for i in range(limit * 2 // 5 + 10)]  # a little over two messages' worth
        body = " ".join(words)
        parts = RecordedParts(before={2: lambda: harness.refuse_next_send("temporary", address)})
        with pytest.raises(TemporaryFailure):
            await harness.connector.send(address, Outgoing(text=body), parts)
        assert parts.done == 1
        await harness.settled(address)
        before = list(harness.received_texts(address))
        await harness.connector.send(address, Outgoing(text=body), parts)
        await harness.settled(address)
        received = harness.received_texts(address)
        assert parts.done == 3 and len(received) == len(before) + 2
        assert " ".join(received[-3:]).split() == words  # every word once, in order, nothing repeated

    async def test_the_declared_limits_hold(self, harness: ChannelHarness) -> None:
        limits = harness.connector.limits
        assert limits.text_length > 0 and limits.per_chat.per_second > 0 and limits.per_chat.burst >= 1
        address = await self._known_customer(harness)
        long_text = ("가나다 emoji 👨‍👩‍👧 " * limits.text_length)[: limits.text_length * 3]
        rich = (Run(long_text[: len(long_text) // 2], frozenset({"b"})), Run(long_text[len(long_text) // 2 :]))
        for outgoing in (Outgoing(text=long_text), Outgoing(text=long_text, rich=rich)):
            before = len(harness.received_texts(address))
            await harness.connector.send(address, outgoing, RecordedParts())
            await harness.settled(address)
            texts = harness.received_texts(address)[before:]
            assert len(texts) >= 3 and all(harness.text_length(t) <= limits.text_length for t in texts)
        content = b"x" * (limits.file_size + 1)
        too_big = OutgoingFile(name="big.bin", mime_type="application/octet-stream", content=content)
        with pytest.raises(PermanentFailure):
            await harness.connector.send(address, Outgoing(text="", files=(too_big,)), RecordedParts())
        await harness.settled(address)
        assert len(too_big.content) not in {len(f) for f in harness.received_files(address)}
        if limits.buttons:
            rows = tuple(((f"option {i}", f"cat:1:{i}"),) for i in range(limits.buttons))
            await harness.connector.send(address, Outgoing(text="pick one", buttons=rows), RecordedParts())
            await harness.settled(address)
            assert harness.received_texts(address)[-1] == "pick one"

    # --- changing what the customer has (Limits.edits / Limits.deletes) -----------------------------------------

    async def test_an_edit_changes_every_part_in_place(self, harness: ChannelHarness) -> None:
        address = await self._known_customer(harness)
        before, old_ids = await self._sent_in_parts(harness, address, "old", 2)
        if await self._refuses_edits(harness, address, old_ids):
            return
        new = self._body(harness, "new", 2)
        parts = RecordedParts()
        await harness.connector.edit(address, old_ids, Outgoing(text=new), parts)
        received = harness.received_texts(address)
        assert parts.ids == old_ids and len(received) == before + 2  # the same messages, changed, none added
        assert " ".join(received[-2:]).split() == new.split()
        await harness.connector.edit(address, old_ids, Outgoing(text=new), RecordedParts())  # unchanged: no error
        assert harness.received_texts(address) == received

    async def test_an_edit_needing_more_parts_adds_them_and_fewer_deletes_the_rest(
        self, harness: ChannelHarness
    ) -> None:
        address = await self._known_customer(harness)
        before, ids = await self._sent_in_parts(harness, address, "short", 1)
        if await self._refuses_edits(harness, address, ids):
            return
        longer = self._body(harness, "longer", 3)
        grown = RecordedParts()
        await harness.connector.edit(address, ids, Outgoing(text=longer), grown)
        assert len(grown.ids) == 3 and grown.ids[0] == ids[0]  # the first part edited, two more sent after it
        assert " ".join(harness.received_texts(address)[before:]).split() == longer.split()
        shrunk = RecordedParts()
        await harness.connector.edit(address, [i for i in grown.ids if i], Outgoing(text="short again"), shrunk)
        assert [i for i in shrunk.ids if i] == [ids[0]]
        assert harness.received_texts(address)[before:] == ["short again"]  # the parts it no longer needs are gone

    async def test_an_interrupted_edit_resumes_after_the_last_part_done(self, harness: ChannelHarness) -> None:
        address = await self._known_customer(harness)
        before, ids = await self._sent_in_parts(harness, address, "first", 2)
        if await self._refuses_edits(harness, address, ids):
            return
        new = self._body(harness, "second", 2)
        parts = RecordedParts(before={2: lambda: harness.refuse_next_send("temporary", address)})
        with pytest.raises(TemporaryFailure):
            await harness.connector.edit(address, ids, Outgoing(text=new), parts)
        assert parts.done == 1
        await harness.connector.edit(address, ids, Outgoing(text=new), parts)
        received = harness.received_texts(address)
        assert parts.ids == ids and len(received) == before + 2 and " ".join(received[-2:]).split() == new.split()

    async def test_a_deletion_removes_every_part_and_is_done_once_done(self, harness: ChannelHarness) -> None:
        address = await self._known_customer(harness)
        before, ids = await self._sent_in_parts(harness, address, "regret", 2)
        if not harness.connector.limits.deletes:
            with pytest.raises(PermanentFailure):
                await harness.connector.delete(address, ids, RecordedParts())
            return
        parts = RecordedParts()
        await harness.connector.delete(address, ids, parts)
        assert parts.done == 2 and len(harness.received_texts(address)) == before
        await harness.connector.delete(address, ids, RecordedParts())  # already gone: no error (a retry)

    @staticmethod
    async def _refuses_edits(harness: ChannelHarness, address: str, ids: list[str]) -> bool:
        """A channel that cannot edit (or delete) says so in its limits, and refuses for good when asked: the core
        then tells the team the customer keeps the original."""
        limits = harness.connector.limits
        if limits.edits and limits.deletes:
            return False
        if not limits.edits:
            with pytest.raises(PermanentFailure):
                await harness.connector.edit(address, ids, Outgoing(text="changed"), RecordedParts())
        if not limits.deletes:
            with pytest.raises(PermanentFailure):
                await harness.connector.delete(address, ids, RecordedParts())
        return True

    @staticmethod
    def _body(harness: ChannelHarness, word: str, messages: int) -> str:
        """Words enough for exactly ``messages`` messages of the channel's length."""
        limit = harness.connector.limits.text_length
        count = max(1, (limit * messages - limit // 2) // (len(word) + 6))
        return " ".join(f"{word}{i:05d}" for i in range(count))

    async def _sent_in_parts(
        self, harness: ChannelHarness, address: str, word: str, messages: int
    ) -> tuple[int, list[str]]:
        """Send a text of ``messages`` parts; returns what the customer had before it, and its message ids."""
        before = len(harness.received_texts(address))
        parts = RecordedParts()
        await harness.connector.send(address, Outgoing(text=self._body(harness, word, messages)), parts)
        await harness.settled(address)
        assert len(harness.received_texts(address)) == before + messages
        return before, [i for i in parts.ids if i]

    async def _known_customer(self, harness: ChannelHarness) -> str:
        """A customer who has written, so the platform lets the bot write to them."""
        address = harness.new_address()
        handle = await harness.customer_writes(address, "hi there")
        await wait_until(lambda: harness.confirmed(handle), what="the customer's first message confirmed")
        return address
