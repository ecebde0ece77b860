"""A customer channel that lives in memory: for tests of the core where no platform matters.

It speaks the seam exactly as a real connector does (an inbox to write to, declared limits, resumable parts), so a
test can say "a customer writes" or "the platform refuses the next send" in one line, and check what the customer
received. It declares small limits on purpose, so that the core's respect for them is visible.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.connectors.base import (
    ButtonTap,
    Health,
    Inbox,
    Item,
    Limits,
    Outcome,
    Outgoing,
    Parts,
    Received,
    Route,
    Tuning,
)
from bot.domain.errors import DeliveryError, PermanentFailure
from bot.domain.models import Attachment, InboundMessage, Rate, Sender
from bot.domain.richtext import plain_text
from bot.domain.textsplit import cluster_safe, split_text

CHANNEL = "memory"
LIMITS = Limits(
    text_length=200,
    text_unit="characters",
    file_size=1024,
    download_size=None,
    buttons=3,
    button_data=24,
    per_chat=Rate(50.0, 10),
    overall=None,
    edits=True,
    deletes=True,
    edit_window=None,
)


@dataclass(frozen=True)
class Delivered:
    address: str
    part: str  # "text" or "file"
    body: str | bytes
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    author: str | None = None


@dataclass
class MemorySettings:
    channel: str = CHANNEL
    limits: Limits = LIMITS
    built: list[MemoryConnector] = field(default_factory=list)

    def secret_values(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> str:
        return "Memory (tests)"

    def build(self, tuning: Tuning) -> MemoryConnector:
        connector = MemoryConnector(self.limits)
        self.built.append(connector)
        return connector


class MemoryConnector:
    channel = CHANNEL
    label = "Memory"

    def __init__(self, limits: Limits = LIMITS) -> None:
        self.limits = limits
        self.inbox: Inbox | None = None
        self.delivered: list[Delivered] = []
        self.outgoing: list[Outgoing] = []  # every send as the core asked for it
        self.failures: list[DeliveryError] = []  # raised by the next sends, first first
        self.files: dict[str, bytes] = {}
        self._ids = itertools.count(1)

    async def start(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def stop(self) -> None:
        self.inbox = None

    def routes(self) -> Sequence[Route]:
        return []

    def health(self) -> Health:
        return Health("ok")

    # --- a customer -----------------------------------------------------------------------------------------------

    async def receive(self, *items: Item, cursor: str | None = None) -> list[Outcome]:
        assert self.inbox is not None, "the channel was not started"
        return await self.inbox.receive(list(items), cursor=cursor)

    def message(self, address: str, text: str, *, key: str | None = None, name: str = "Mina") -> Received:
        number = next(self._ids)
        return Received(
            InboundMessage(
                channel=CHANNEL,
                address=address,
                sender=Sender(external_id=address, display_name=name),
                text=text,
                source_key=key or f"{CHANNEL}:{address}:{number}",
                sent_at=datetime.now(UTC),
                external_message_id=str(number),
            )
        )

    async def says(self, address: str, text: str, **kwargs: str) -> Outcome:
        return (await self.receive(self.message(address, text, **kwargs)))[0]

    async def taps(self, address: str, data: str) -> Outcome:
        tap = ButtonTap(address=address, user_id=address, data=data, key=str(next(self._ids)))
        return (await self.receive(tap))[0]

    def texts(self, address: str) -> list[str]:
        return [str(d.body) for d in self.delivered if d.address == address and d.part == "text"]

    # --- the team -------------------------------------------------------------------------------------------------

    async def send(self, address: str, outgoing: Outgoing, parts: Parts) -> list[str]:
        self.outgoing.append(outgoing)
        text = plain_text(outgoing.rich) if outgoing.rich is not None else outgoing.text
        spans = split_text(text, self.limits.text_length, strict=cluster_safe(text), strip=True)
        chunks = [text[a:b] for a, b in spans]
        plan: list[tuple[str, str | bytes]] = [("text", c) for c in chunks]
        plan += [("file", f.content) for f in outgoing.files]
        sent: list[str] = []
        for index, (part, body) in enumerate(plan):
            if index < parts.done:
                continue
            await parts.slot()
            if self.failures:
                raise self.failures.pop(0)
            if part == "file" and len(body) > self.limits.file_size:
                raise PermanentFailure(f"a file of {len(body)} bytes is over {self.limits.file_size}")
            buttons = outgoing.buttons if index == len(chunks) - 1 else ()
            self.delivered.append(Delivered(address, part, body, buttons, outgoing.author))
            message_id = f"m{next(self._ids)}"
            sent.append(message_id)
            await parts.advance(message_id)
        return sent

    async def fetch(self, attachment: Attachment) -> bytes:
        return self.files[attachment.ref]
