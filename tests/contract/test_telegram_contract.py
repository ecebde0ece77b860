"""The Telegram channel passes the connector contract (long polling, through the fake Bot API)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from bot.connectors.base import Connector
from bot.connectors.telegram.html import utf16_len
from tests.conftest import Bot
from tests.contract.suite import ChannelContract
from tests.fakes.telegram import SEND_METHODS

_chats = itertools.count(700_001)


class TelegramHarness:
    channel = "telegram"
    has_cursor = True
    refusals = ("rate_limited", "temporary", "permanent")

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.fake = bot.telegram

    @property
    def connector(self) -> Connector:
        return self.bot.rt.connectors["telegram"]

    def new_address(self) -> str:
        return str(next(_chats))

    async def customer_writes(self, address: str, text: str) -> str:
        return str(self.fake.push_text(int(address), text))

    async def deliver_again(self, handle: str) -> None:
        self.fake.push_duplicate(int(handle))
        await self.fake.wait_for(lambda: self.fake.redeliveries_waiting == 0, timeout=10)

    async def confirmed(self, handle: str) -> bool:
        return (self.fake.confirmed_offset or 0) > int(handle)

    def refuse_next_send(self, kind: str, address: str) -> None:
        where = {"chat_id": address}
        if kind == "rate_limited":
            self.fake.rate_limit(SEND_METHODS, retry_after=2, where=where)
        elif kind == "temporary":
            self.fake.fail(SEND_METHODS | {"editmessagetext", "deletemessage"}, 502, where=where)
        else:
            self.fake.blocked(int(address))

    async def settled(self, address: str) -> None:
        """What the platform accepted is what the customer has."""

    def received_texts(self, address: str) -> list[str]:
        """The chat as the customer sees it now: edits applied, deleted messages gone."""
        return [m["visible_text"] for m in self.fake.sent(int(address)) if m["kind"] == "text" and not m.get("deleted")]

    def received_files(self, address: str) -> list[bytes]:
        return [m["content"] or b"" for m in self.fake.sent(int(address)) if m["kind"] != "text"]

    def text_length(self, text: str) -> int:
        return utf16_len(text)


class TestTelegramContract(ChannelContract):
    @pytest.fixture
    async def harness(self, bot: Bot) -> AsyncIterator[TelegramHarness]:
        yield TelegramHarness(bot)
