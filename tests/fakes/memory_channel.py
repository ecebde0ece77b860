"""A customer channel that lives in memory: for tests of the core where no platform matters.

It speaks the seam exactly as a real connector does (an inbox to write to, declared limits, resumable parts), so a
test can say "a customer writes" or "the platform refuses the next send" in one line, and check what the customer
received. It declares small limits on purpose, so that the core's respect for them is visible.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
    authors=True,  # like a website widget: who answered is shown beside the reply, not in its words
)


@dataclass(frozen=True)
class Delivered:
    address: str
    part: str  # "text" or "file"
    body: str | bytes
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    author: str | None = None
    message_id: str = ""
    versions: tuple[str | bytes, ...] = ()  # what it said before each edit
    removed: bool = False  # deleted since


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
        """What the customer's chat shows now, in order (edits applied, deletions gone)."""
        return [str(d.body) for d in self.delivered if d.address == address and d.part == "text" and not d.removed]

    # --- the team -------------------------------------------------------------------------------------------------

    def _chunks(self, outgoing: Outgoing) -> list[str]:
        text = plain_text(outgoing.rich) if outgoing.rich is not None else outgoing.text
        spans = split_text(text, self.limits.text_length, strict=cluster_safe(text), strip=True)
        return [text[a:b] for a, b in spans]

    async def send(self, address: str, outgoing: Outgoing, parts: Parts) -> list[str]:
        self.outgoing.append(outgoing)
        chunks = self._chunks(outgoing)
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
            message_id = f"m{next(self._ids)}"
            self.delivered.append(Delivered(address, part, body, buttons, outgoing.author, message_id))
            sent.append(message_id)
            await parts.advance(message_id)
        return sent

    def _index(self, address: str, message_id: str) -> int | None:
        return next(
            (i for i, d in enumerate(self.delivered) if (d.address, d.message_id) == (address, message_id)), None
        )

    async def edit(self, address: str, message_ids: Sequence[str], outgoing: Outgoing, parts: Parts) -> list[str]:
        if not self.limits.edits:
            raise PermanentFailure("this channel cannot change a message it sent")
        chunks = self._chunks(outgoing)
        plan = [("edit", mid, c) for mid, c in zip(message_ids, chunks, strict=False)]
        plan += [("send", None, c) for c in chunks[len(message_ids) :]]
        plan += [("delete", mid, "") for mid in message_ids[len(chunks) :]]
        advanced: list[str] = []
        for index, (step, message_id, chunk) in enumerate(plan):
            if index < parts.done:
                continue
            await parts.slot()
            if self.failures:
                raise self.failures.pop(0)
            if step == "delete":
                await self._remove(address, str(message_id))
                await parts.advance(None)
                continue
            if step == "edit":
                at = self._index(address, str(message_id))
                if at is None or self.delivered[at].removed:
                    raise PermanentFailure("the message is no longer in the customer's chat")
                old = self.delivered[at]
                if old.body != chunk:
                    self.delivered[at] = replace(old, body=chunk, versions=(*old.versions, old.body))
                result = str(message_id)
            else:
                result = f"m{next(self._ids)}"
                self.delivered.append(Delivered(address, "text", chunk, (), outgoing.author, result))
            advanced.append(result)
            await parts.advance(result)
        return advanced

    async def delete(self, address: str, message_ids: Sequence[str], parts: Parts) -> None:
        if not self.limits.deletes:
            raise PermanentFailure("this channel cannot delete a message it sent")
        for index, message_id in enumerate(message_ids):
            if index < parts.done:
                continue
            await parts.slot()
            if self.failures:
                raise self.failures.pop(0)
            await self._remove(address, message_id)
            await parts.advance(None)

    async def _remove(self, address: str, message_id: str) -> None:
        at = self._index(address, message_id)
        if at is not None:  # one already gone is no error
            self.delivered[at] = replace(self.delivered[at], removed=True)

    async def fetch(self, attachment: Attachment) -> bytes:
        return self.files[attachment.ref]
