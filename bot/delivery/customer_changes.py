"""Jobs that change what a customer already has: a reply edited in Slack (every part of it) or deleted (or turned
into a note), through the connector of the customer's channel. They run in the customer's lane, after whatever was
still being sent to them, and record the reply's new parts in the map of message ids in the commit that ends them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from bot.connectors.base import Connector, Limits, Outgoing
from bot.delivery.customer import rendered
from bot.delivery.handlers import Delivered, Record
from bot.delivery.progress import Progress
from bot.domain import notices
from bot.domain.errors import PermanentFailure
from bot.domain.models import Delivery, EventKind
from bot.store.database import Database, Transaction
from bot.store.outbox import Job
from bot.store.parts import FILE, TEXT, Part
from bot.usecases import jobs

log = logging.getLogger(__name__)


def _connector(connectors: Mapping[str, Connector], job: Job) -> tuple[Connector, str, str]:
    channel, _, address = job.target.partition(":")
    connector = connectors.get(channel)
    if connector is None:
        raise PermanentFailure(f"the {channel} channel is not enabled any more")
    return connector, channel, address


def _too_old(limits: Limits, parts: list[Part]) -> bool:
    window = limits.edit_window
    now = datetime.now(UTC)
    return window is not None and any(now - p.created_at > window for p in parts)


def _window(limits: Limits) -> str:
    hours = round(limits.edit_window.total_seconds() / 3600) if limits.edit_window else 0
    return f"the channel lets the bot change its messages for {hours} hours only"


class EditForCustomer:
    def __init__(self, db: Database, connectors: Mapping[str, Connector]) -> None:
        self.db = db
        self.connectors = connectors

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        connector, channel, address = _connector(self.connectors, job)
        original = int(job.payload["original"])
        assert job.message_id is not None
        async with self.db.reading() as tx:
            version = await tx.archive.message_row(job.message_id)
            parts = await tx.parts.customer_parts(original)
        texts = [p for p in parts if p.kind == TEXT]
        files = [p for p in parts if p.kind == FILE]
        if version is None or not texts:  # the reply never reached them (the thread says so): nothing to change
            return Delivered(record=_marked(job.message_id, Delivery.FAILED, "the reply never reached the customer"))
        if _too_old(connector.limits, texts):  # it waited (an outage) past the window
            raise PermanentFailure(_window(connector.limits))
        shown = rendered(str(version.text), job.payload, connector)
        progress = Progress(job, self.db)
        outgoing = Outgoing(text=shown.text, rich=shown.rich, author=shown.author)
        await connector.edit(address, [p.external_id for p in texts], outgoing, progress)
        now_ids = [i for i in progress.ids if i] + [p.external_id for p in files]
        kinds = [TEXT] * (len(now_ids) - len(files)) + [FILE] * len(files)
        version_id = job.message_id

        async def record(tx: Transaction) -> None:
            await tx.parts.replace(original, channel, address, now_ids, kinds, datetime.now(UTC))
            await tx.archive.mark_delivery(version_id, Delivery.DELIVERED)

        return Delivered(record=record)

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        """The customer still sees the original: say so in the thread (a reason the platform gave, once each)."""
        job = batch[0]
        if job.message_id is not None:
            await tx.archive.mark_delivery(job.message_id, Delivery.FAILED, reason)
        conversation = await tx.archive.conversation(job.conversation_id) if job.conversation_id else None
        original = await tx.archive.message_row(int(job.payload["original"]))
        if conversation is None or original is None:
            log.error("an edit for %s could not be delivered: %s", job.target, reason)
            return
        version = await tx.archive.message_row(job.message_id) if job.message_id else None
        by = version.author_id if version is not None else original.author_id
        notice = notices.staff_edited(by=by, delivered=True, text=original.text, why=notices.REFUSED, detail=reason)
        await jobs.post_notice(tx, conversation, notice)


class DeleteForCustomer:
    def __init__(self, db: Database, connectors: Mapping[str, Connector]) -> None:
        self.db = db
        self.connectors = connectors

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        connector, _, address = _connector(self.connectors, job)
        assert job.message_id is not None
        message_id = job.message_id
        async with self.db.reading() as tx:
            parts = await tx.parts.customer_parts(message_id)
            row = await tx.archive.message_row(message_id)
        if not parts:  # it never reached them: taken back before it went out (say so), or it failed (said already)
            withdrawn = row is not None and row.delivery == Delivery.INTERNAL
            return Delivered(record=self._withdrawn(job) if withdrawn else None)
        if _too_old(connector.limits, parts):
            raise PermanentFailure(_window(connector.limits))
        await connector.delete(address, [p.external_id for p in parts], Progress(job, self.db))
        payload = job.payload

        async def record(tx: Transaction) -> None:
            now = datetime.now(UTC)
            await tx.parts.remove([p.id for p in parts], now)
            await tx.archive.mark_delivery(message_id, Delivery.INTERNAL, "deleted from the customer's chat")
            row = await tx.archive.message_row(message_id)
            conversation = await tx.archive.conversation(job.conversation_id) if job.conversation_id else None
            if conversation is None or row is None:
                return
            await tx.archive.add_event(
                conversation.id, EventKind.CUSTOMER_COPY_DELETED, str(payload.get("by") or row.author_id), now,
                message_id=message_id, turned_note=bool(payload.get("turned_note")),
            )  # fmt: skip
            make = notices.turned_note if payload.get("turned_note") else notices.staff_deleted
            await jobs.post_notice(tx, conversation, make(by=str(payload.get("by")), text=row.text, outcome="deleted"))

        return Delivered(record=record)

    @staticmethod
    def _withdrawn(job: Job) -> Record:
        async def record(tx: Transaction) -> None:
            conversation = await tx.archive.conversation(job.conversation_id) if job.conversation_id else None
            row = await tx.archive.message_row(job.message_id) if job.message_id else None
            if conversation is not None and row is not None:
                make = notices.turned_note if job.payload.get("turned_note") else notices.staff_deleted
                by = str(job.payload.get("by") or row.author_id)
                await jobs.post_notice(tx, conversation, make(by=by, text=row.text, outcome="withdrawn"))

        return record

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        job = batch[0]
        conversation = await tx.archive.conversation(job.conversation_id) if job.conversation_id else None
        row = await tx.archive.message_row(job.message_id) if job.message_id else None
        if conversation is None or row is None:
            log.error("a deletion for %s could not be delivered: %s", job.target, reason)
            return
        make = notices.turned_note if job.payload.get("turned_note") else notices.staff_deleted
        by = str(job.payload.get("by") or row.author_id)
        await jobs.post_notice(
            tx, conversation, make(by=by, text=row.text, outcome="kept", why=notices.REFUSED, detail=reason)
        )


def _marked(message_id: int, delivery: Delivery, error: str) -> Record:
    async def record(tx: Transaction) -> None:
        await tx.archive.mark_delivery(message_id, delivery, error)

    return record
