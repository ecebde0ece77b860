"""What the connector contract suite needs of a channel's test harness: a running connector, a way to make its
platform do things (a customer writes, the same update comes again, the platform refuses a send), and a way to see
what the customer received."""

from __future__ import annotations

from typing import Protocol

from bot.connectors.base import Connector
from tests.conftest import Bot


class ChannelHarness(Protocol):
    bot: Bot  # the whole bot, running with this channel enabled
    channel: str
    has_cursor: bool  # the channel confirms what it consumed by a cursor the inbox keeps (a poller)
    refusals: tuple[str, ...]  # how its platform can refuse a send: of "rate_limited", "temporary", "permanent"

    @property
    def connector(self) -> Connector: ...

    def new_address(self) -> str:
        """A customer nobody has seen yet."""
        ...

    async def customer_writes(self, address: str, text: str) -> str:
        """The platform carries a message from the customer to the bot; returns its handle."""
        ...

    async def deliver_again(self, handle: str) -> None:
        """The platform carries the same update once more (a retry, a redelivery after a restart)."""
        ...

    async def confirmed(self, handle: str) -> bool:
        """Whether the platform was told the update arrived (it will not send it again)."""
        ...

    def refuse_next_send(self, kind: str, address: str) -> None:
        """The platform refuses the next send to ``address``: "rate_limited", "temporary" or "permanent"."""
        ...

    async def settled(self, address: str) -> None:
        """Wait until what was sent has reached the customer's side (a browser reads its socket on its own time)."""
        ...

    def received_texts(self, address: str) -> list[str]:
        """The texts the customer got, in order, as they show them."""
        ...

    def received_files(self, address: str) -> list[bytes]: ...

    def text_length(self, text: str) -> int:
        """The length of a text in the unit the channel declares."""
        ...

