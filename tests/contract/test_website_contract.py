"""The website channel passes the connector contract: a visitor in Python over the bot's real WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.connectors.base import Inbox
from bot.connectors.website.connector import WebsiteConnector
from bot.connectors.website.tokens import new_visitor
from tests.conftest import Bot, BotFactory
from tests.contract.suite import ChannelContract
from tests.fakes.visitor import Visitor, client_id
from tests.website_helpers import website, website_bot


class _FailingOnce:
    """The archive the widget delivers into refuses once for one visitor: as a database that is briefly gone does
    (temporary), or as it does once the visitor's data was erased (permanent; tests/test_website.py erases one)."""

    def __init__(self, inbox: Inbox, address: str, error: Exception) -> None:
        self.inner = inbox
        self.address = address
        self.error = error

    async def delivered(self, address: str, **kwargs: Any) -> int:
        if address == self.address and self.address:
            self.address = ""
            raise self.error
        return await self.inner.delivered(address, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class WebsiteHarness:
    channel = "website"
    has_cursor = False
    refusals = ("temporary", "permanent")  # a browser never answers "slow down": nothing rate-limits a send

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.visitors: dict[str, Visitor] = {}
        self.sent: dict[str, tuple[str, str]] = {}  # handle -> (address, text)

    @property
    def connector(self) -> WebsiteConnector:
        return website(self.bot)

    def new_address(self) -> str:
        return new_visitor()

    async def _visitor(self, address: str) -> Visitor:
        if address not in self.visitors:
            token = self.connector.signer.token(address, "visitor")
            self.visitors[address] = Visitor(self.bot.http, self.bot.rt.url, token=token)
            await self.visitors[address].connect()
        return self.visitors[address]

    async def customer_writes(self, address: str, text: str) -> str:
        handle = client_id()
        self.sent[handle] = (address, text)
        await self.deliver_again(handle)
        return handle

    async def deliver_again(self, handle: str) -> None:
        address, text = self.sent[handle]
        await (await self._visitor(address)).say(text, cid=handle)

    async def confirmed(self, handle: str) -> bool:
        address, _ = self.sent[handle]
        visitor = self.visitors[address]
        return bool([f for f in visitor.frames if f["t"] == "ack" and f["cid"] == handle])

    def refuse_next_send(self, kind: str, address: str) -> None:
        errors = {"temporary": OperationalError("INSERT", {}, Exception("database is locked")),
                  "permanent": LookupError(f"no website customer {address}")}  # fmt: skip
        assert self.connector.inbox is not None
        self.connector.inbox = _FailingOnce(self.connector.inbox, address, errors[kind])  # type: ignore[assignment]

    async def settled(self, address: str) -> None:
        """Every part the archive says was delivered has reached the visitor's open connection."""
        inbox = self.connector.inbox
        assert inbox is not None
        delivered = {s.id for s in (await inbox.transcript(address)).sent}
        visitor = self.visitors[address]
        await visitor.sees(lambda: delivered <= {i for k, i in visitor.entries if k == "s"}, "the parts delivered")

    def received_texts(self, address: str) -> list[str]:
        return self.visitors[address].team_texts()

    def received_files(self, address: str) -> list[bytes]:
        return list(self.visitors[address].files.values())

    def text_length(self, text: str) -> int:
        return len(text)

    async def close(self) -> None:
        for visitor in self.visitors.values():
            await visitor.close()


class TestWebsiteContract(ChannelContract):
    @pytest.fixture
    async def harness(self, bot_factory: BotFactory) -> AsyncIterator[WebsiteHarness]:
        async with website_bot(bot_factory, max_file_mb=1) as bot:
            harness = WebsiteHarness(bot)
            yield harness
            await harness.close()
