"""Slack jobs of routing: move a thread to its category's channel, retire the old first message, escalate.

They run in the conversation's Slack lane, so a move happens after everything queued before it (those posts land
in the old thread) and before everything queued after it (those land in the new one).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.delivery.handlers import Delivered
from bot.delivery.progress import Progress
from bot.slack import notices
from bot.slack.blocks import SlackPost, category_label, channel_name, customer_label, notice, permalink
from bot.slack.delivery import SlackDelivery, archive_failure
from bot.slack.routing_blocks import moved_notice
from bot.store.database import Transaction
from bot.store.outbox import Job
from bot.usecases import jobs


class MoveThread(SlackDelivery):
    """Open the conversation's thread in the new channel with a first message linking the original thread."""

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        conversation = await self._conversation(job)
        target = str(job.payload["channel"])
        if conversation.slack_channel == target:  # moved before a crash lost only the job's completion
            return Delivered()
        old_channel, old_ts = conversation.slack_channel, conversation.thread_ts
        progress = Progress(job, self.db)
        if progress.ids:
            ts = progress.ids[0]
        else:
            moved_from = permalink(self.team_url, old_channel, old_ts) if old_ts else None
            ts = await self._post(target, await self._header(conversation, moved_from=moved_from))
            await progress.advance(ts)

        async def record(tx: Transaction) -> None:
            now = datetime.now(UTC)
            await tx.timers.move(conversation.id, target, ts)
            if old_ts:
                await tx.timers.add_alias(conversation.id, old_channel, old_ts, now)
                await jobs.retire_header(tx, conversation.id, old_channel, old_ts)

        return Delivered(record=record)

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)


class RetireHeader(SlackDelivery):
    """The original thread links the new place: a reply saying where, and a first message without buttons."""

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        conversation = await self._conversation(job)
        old_channel, old_ts = str(job.payload["channel"]), str(job.payload["ts"])
        link = permalink(self.team_url, conversation.slack_channel, conversation.thread_ts or "")
        conf = self.config.categories.get(conversation.category or "")
        label = conf.label if conf else (conversation.category or "Uncategorised")
        text = moved_notice(conversation.slack_channel, link if conversation.thread_ts else None, label)
        progress = Progress(job, self.db)
        if progress.done == 0:
            await self._post(old_channel, notice(text), old_ts)
            await progress.advance()
        who = f"{customer_label(conversation)} via {channel_name(conversation.channel)}"
        category = category_label(conversation.category, self.config.categories)
        retired = SlackPost(
            text=f"Inquiry from {who} moved to {category}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f"Inquiry from {who}"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]},
            ],
        )
        await self._call("chat_update", channel=old_channel, ts=old_ts, text=retired.text, blocks=retired.blocks)
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)


class PostEscalation(SlackDelivery):
    """The second escalation: a post in the configured channel, or a direct message to the configured person."""

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        conversation = await self._conversation(job)
        text = notices.from_payload(job.payload, self.config.categories, conversation)
        if conversation.thread_ts:
            text += f" <{permalink(self.team_url, conversation.slack_channel, conversation.thread_ts)}|Open the thread>"
        await self._post(str(job.payload["channel"]), notice(text))
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)
