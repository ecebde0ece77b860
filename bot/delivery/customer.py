"""Jobs that land with a customer: staff replies (text and files) and the bot's own texts."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import aiohttp

from bot.connectors.base import Connector, Outgoing, OutgoingFile
from bot.delivery.worker import Delivered, Progress
from bot.domain.errors import PermanentFailure, TemporaryFailure
from bot.domain.models import Attachment, EventKind
from bot.slack.text import escape
from bot.store.database import Database, Transaction
from bot.store.outbox import Job
from bot.usecases.conversations import POST_NOTICE, slack_lane

log = logging.getLogger(__name__)

STAFF_FILE_LIMIT = 50 * 1024 * 1024


class SlackFiles:
    """Downloads files staff shared in a thread (``url_private_download`` needs the bot token); ``resolve`` first
    finds the link of a file the event did not carry one for (bot.slack.files: Slack Connect)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        resolve: Callable[[Attachment], Awaitable[Attachment]] | None = None,
    ) -> None:
        self.session = session
        self.token = token
        self.resolve = resolve

    async def download(self, attachment: Attachment) -> OutgoingFile:
        if self.resolve is not None:
            attachment = await self.resolve(attachment)
        if attachment.size and attachment.size > STAFF_FILE_LIMIT:
            raise PermanentFailure(f"{attachment.file_name} is over the 50 MB a Telegram bot may send")
        try:
            async with self.session.get(
                attachment.ref, headers={"Authorization": f"Bearer {self.token}"}, allow_redirects=False
            ) as response:
                if response.status >= 500:
                    raise TemporaryFailure(f"Slack file download answered {response.status}")
                if response.status != 200 or response.content_type == "text/html":
                    raise PermanentFailure(f"Slack would not hand over {attachment.file_name} ({response.status})")
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryFailure(f"Slack file download failed: {exc}") from exc
        return OutgoingFile(name=attachment.file_name, mime_type=attachment.mime_type, content=content)


class SendToCustomer:
    def __init__(self, db: Database, connectors: Mapping[str, Connector], slack_files: SlackFiles) -> None:
        self.db = db
        self.connectors = connectors
        self.slack_files = slack_files

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        channel, _, address = job.target.partition(":")
        connector = self.connectors.get(channel)
        if connector is None:
            raise PermanentFailure(f"no connector for {channel}")
        row = None
        if job.message_id is not None:
            async with self.db.reading() as tx:
                row = await tx.archive.message_row(job.message_id)
        if row is not None:
            text = row.raw_text if job.payload.get("format") == "mrkdwn" and row.raw_text is not None else row.text
            files = tuple([await self.slack_files.download(Attachment.from_json(a)) for a in row.attachments])
        else:
            text, files = job.payload["text"], ()
        outgoing = Outgoing(
            text=text,
            format=job.payload.get("format", "plain"),
            user_names=job.payload.get("user_names", {}),
            files=files,
            buttons=tuple(tuple((b["text"], b["data"]) for b in row) for row in job.payload.get("buttons", [])),
        )
        progress = Progress(job, self.db)
        sent = await connector.send(address, outgoing, progress)
        all_ids = progress.ids or sent
        message_id = job.message_id

        async def record(tx: Transaction) -> None:
            if message_id is not None:
                await tx.archive.mark_sent_to_customer(message_id, all_ids)

        return Delivered(record=record)

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
        if conversation is None:
            return
        await tx.outbox.enqueue(
            lane=slack_lane(conversation.id),
            target=f"slack:{conversation.slack_channel}",
            kind=POST_NOTICE,
            payload={"text": f":warning: This message did not reach the customer: {escape(reason)}."},
            conversation_id=conversation.id,
            now=time.time(),
        )
