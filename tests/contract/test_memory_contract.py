"""The in-memory channel the core's tests use passes the same contract, so what those tests show holds for a
channel that behaves like a real one."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from bot.connectors.base import Connector, Received
from bot.domain.errors import PermanentFailure, RateLimited, TemporaryFailure
from tests.conftest import Bot, BotFactory
from tests.contract.suite import ChannelContract
from tests.fakes.memory_channel import LIMITS, MemoryConnector, MemorySettings

_addresses = itertools.count(1)


@dataclass
class _Sent:
    item: Received
    confirmed: bool = False


class MemoryHarness:
    channel = "memory"
    has_cursor = False
    refusals = ("rate_limited", "temporary", "permanent")

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.updates: dict[str, _Sent] = {}

    @property
    def connector(self) -> MemoryConnector:
        connector: Connector = self.bot.rt.connectors["memory"]
        assert isinstance(connector, MemoryConnector)
        return connector

    def new_address(self) -> str:
        return f"visitor-{next(_addresses)}"

    async def customer_writes(self, address: str, text: str) -> str:
        item = self.connector.message(address, text)
        handle = item.message.source_key
        self.updates[handle] = _Sent(item)
        await self._deliver(handle)
        return handle

    async def deliver_again(self, handle: str) -> None:
        await self._deliver(handle)

    async def _deliver(self, handle: str) -> None:
        sent = self.updates[handle]
        try:
            await self.connector.receive(sent.item)
        except Exception:  # the platform is told to try again, as a webhook's 5xx tells it
            sent.confirmed = False
        else:
            sent.confirmed = True

    async def confirmed(self, handle: str) -> bool:
        return self.updates[handle].confirmed

    def refuse_next_send(self, kind: str, address: str) -> None:
        error = {"rate_limited": RateLimited(2.0), "temporary": TemporaryFailure("down")}.get(kind)
        self.connector.failures.append(error or PermanentFailure("the visitor left"))

    async def settled(self, address: str) -> None:
        """What the platform accepted is what the customer has."""

    def received_texts(self, address: str) -> list[str]:
        return self.connector.texts(address)

    def received_files(self, address: str) -> list[bytes]:
        return [bytes(d.body) for d in self.connector.delivered if d.address == address and d.part == "file"]

    def text_length(self, text: str) -> int:
        return len(text)


class TestMemoryContract(ChannelContract):
    @pytest.fixture
    async def harness(self, bot_factory: BotFactory) -> AsyncIterator[MemoryHarness]:
        async with bot_factory(channels={"memory": MemorySettings()}) as bot:
            yield MemoryHarness(bot)


class TestMemoryWithoutEditsContract(ChannelContract):
    """A channel that can neither change nor delete what it sent passes too: it says so in its limits."""

    @pytest.fixture
    async def harness(self, bot_factory: BotFactory) -> AsyncIterator[MemoryHarness]:
        fixed = replace(LIMITS, edits=False, deletes=False)
        async with bot_factory(channels={"memory": MemorySettings(limits=fixed)}) as bot:
            yield MemoryHarness(bot)
