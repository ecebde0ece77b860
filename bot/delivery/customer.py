"""Jobs that land with a customer: staff replies (text, formatting, files) and the bot's own texts, through the
connector of the customer's channel, within its declared limits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.connectors.base import Connector, Outgoing, OutgoingFile
from bot.delivery.handlers import Delivered
from bot.delivery.progress import Progress
from bot.domain import notices
from bot.domain.authorship import NONE, Signed, signed
from bot.domain.errors import PermanentFailure
from bot.domain.models import Attachment, Delivery, Direction, EventKind
from bot.domain.richtext import from_json
from bot.store.database import Database, Transaction
from bot.store.outbox import Job
from bot.store.parts import FILE, TEXT
from bot.usecases import jobs

log = logging.getLogger(__name__)

FetchStaffFile = Callable[[Attachment, int, str], Awaitable[OutgoingFile]]  # (file, size limit, channel)


def rendered(text: str, payload: Mapping[str, Any], connector: Connector) -> Signed:
    """A job's words as its channel gets them: the staff formatting, and who answered in the team's chosen way (a
    job queued before the team could choose carries no ``sign``: the name travels as the author, as it did)."""
    rich = tuple(from_json(payload["rich"])) if "rich" in payload else None
    style = str(payload.get("sign") or NONE)
    author = payload.get("author")
    if "sign" not in payload:
        return Signed(text, rich, author)
    return signed(
        text, rich, style=style, author=author, signature=payload.get("signature"), native=connector.limits.authors
    )


class SendToCustomer:
    def __init__(self, db: Database, connectors: Mapping[str, Connector], staff_file: FetchStaffFile) -> None:
        """``staff_file`` fetches a file staff attached (from Slack) as the customer will receive it."""
        self.db = db
        self.connectors = connectors
        self.staff_file = staff_file

    async def read_ahead(self, tx: Transaction, job: Job) -> Any:
        """The archived message the job sends (None: a job with words of its own): read in the transaction that
        queued the job when the worker adopts it (bot.delivery.handlers), else by ``deliver``."""
        return None if job.message_id is None else await tx.archive.message_row(job.message_id)

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        channel, _, address = job.target.partition(":")
        connector = self.connectors.get(channel)
        if connector is None:
            raise PermanentFailure(f"the {channel} channel is not enabled any more")
        row = job.ahead
        if row is None and job.message_id is not None:
            async with self.db.reading() as tx:  # one read on the hot path
                row = await self.read_ahead(tx, job)
        if row is not None and row.direction == Direction.OUTBOUND and row.delivery == Delivery.INTERNAL:
            return Delivered()  # deleted, or edited into a note, while it waited: it is not sent
        outgoing = await self._outgoing(job, row, connector)
        progress = Progress(job, self.db)
        sent = await connector.send(address, outgoing, progress)
        all_ids = progress.ids or sent
        message_id = job.message_id
        files = min(len(outgoing.files), len(all_ids))  # a connector sends the text first, then the files
        kinds = [TEXT] * (len(all_ids) - files) + [FILE] * files

        async def record(tx: Transaction) -> None:
            if message_id is not None:
                await tx.archive.mark_sent_to_customer(message_id, all_ids)
                await tx.parts.record(message_id, channel, address, all_ids, kinds, datetime.now(UTC))

        return Delivered(record=record)

    async def _outgoing(self, job: Job, row: Any, connector: Connector) -> Outgoing:
        """The job as the customer will get it: the archived message's text (or the job's own), the formatting
        parsed when staff wrote it, the files (each within the channel's limit), the buttons."""
        payload = job.payload
        text = str(payload.get("text", row.text if row is not None else ""))  # a note sent on purpose: its words now
        files: list[OutgoingFile] = []
        for data in row.attachments if row is not None else []:
            attachment = Attachment.from_json(data)
            files.append(await self.staff_file(attachment, connector.limits.file_size, connector.label))
        buttons = tuple(tuple((b["text"], b["data"]) for b in row_) for row_ in payload.get("buttons", []))
        shown = rendered(text, payload, connector)
        return Outgoing(
            text=shown.text, rich=shown.rich, author=shown.author, files=tuple(files), buttons=buttons,
            message_id=job.message_id,
        )  # fmt: skip

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        """Stop retrying and say so in the thread: a reply the customer never saw must not look sent."""
        job = batch[0]
        now = datetime.now(UTC)
        if job.message_id is not None:
            await tx.archive.mark_failed([job.message_id], reason)
        if job.conversation_id is None:
            log.error("a message to %s could not be delivered: %s", job.target, reason)
            return
        await tx.archive.add_event(job.conversation_id, EventKind.DELIVERY_FAILED, "bot", now, reason=reason)
        conversation = await tx.archive.conversation(job.conversation_id)
        if conversation is not None:
            await jobs.post_notice(tx, conversation, notices.not_delivered(reason))
