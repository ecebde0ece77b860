"""A customer's message, stored: archived, a conversation opened when there is none, queued for Slack, answered.

Runs inside the transaction bot.usecases.intake opens for a group of updates; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config import BotConfig
from bot.connectors.base import Activity, Outcome
from bot.domain import notices
from bot.domain.activity import LEFT_CONTACT
from bot.domain.i18n import CustomerTexts
from bot.domain.models import Direction, EventKind, InboundMessage
from bot.domain.routing import categorize
from bot.store.database import Transaction
from bot.usecases import jobs
from bot.usecases.hooks import ConversationHooks


class Receiving:
    def __init__(
        self, config: BotConfig, texts: CustomerTexts, *, clock: Callable[[], datetime], hooks: ConversationHooks
    ) -> None:
        self.config = config
        self.texts = texts
        self.clock = clock
        self.hooks = hooks

    async def message(self, tx: Transaction, message: InboundMessage, known: set[str]) -> Outcome:
        """``known``: the source keys of the group already archived (one query for the whole group)."""
        if message.source_key in known:  # a redelivery: must not open a conversation again
            return Outcome(duplicate=True)
        now = self.clock()
        customer_id, identity_id = await tx.archive.upsert_identity(message.channel, message.sender, now)
        if message.origin:  # e.g. a website visitor's page, reported with the first message
            await tx.origins.remember(identity_id, message.origin, message.source_key, now)
        conversation = await tx.archive.open_conversation(identity_id)
        opened = conversation is None
        if conversation is None:
            conversation_id, slack_channel = await self._open(tx, customer_id, identity_id, message, now)
        else:
            conversation_id, slack_channel = conversation.id, conversation.slack_channel
        message_id = await tx.archive.insert_message(
            conversation_id=conversation_id,
            direction=Direction.INBOUND,
            author_id=f"{message.channel}:{message.sender.external_id}",
            author_name=message.sender.display_name,
            channel=message.channel,
            text=message.text,
            source_key=message.source_key,
            attachments=message.attachments,
            external_message_ids=[message.external_message_id],
            now=now,
        )
        if message_id is None:  # a concurrent delivery of the same update won the race
            return Outcome(conversation_id=conversation_id, duplicate=True)
        if not opened:  # a new conversation was created with last_message_at = now
            await tx.archive.touch(conversation_id, now)
        await jobs.post_inbound(tx, conversation_id, slack_channel, message_id, edited=message.edited)
        answered = await self.hooks.customer_wrote(tx, conversation_id, message, opened=opened, now=now)
        if opened and self.texts.auto_reply and not answered:
            await self._auto_reply(tx, conversation_id, message, self.texts.auto_reply, now)
        if opened:
            await self.hooks.acknowledged(tx, conversation_id, message, now)
        return Outcome(conversation_id=conversation_id, opened=opened, message_id=message_id)

    async def activity(self, tx: Transaction, channel: str, item: Activity) -> Outcome:
        """Keep what a customer did on their channel on their timeline; a contact they left is told in their open
        thread. Someone who has never written is kept only when the channel says so (``only_known`` off)."""
        sender = item.sender
        if item.only_known and not await tx.archive.identity_known(channel, sender.external_id):
            return Outcome(status="unknown")
        now = self.clock()
        if not await tx.archive.mark_seen(f"{channel}:{sender.external_id}:activity:{item.key}", now):
            return Outcome(duplicate=True, status="duplicate")
        customer_id, identity_id = await tx.archive.upsert_identity(channel, sender, now)
        conversation = await tx.archive.open_conversation(identity_id)
        await tx.customers.add_activity(
            customer_id, item.kind, "customer", now, text="\n".join((item.label, *item.lines)),
            conversation_id=conversation.id if conversation else None, detail={"channel": channel},
        )  # fmt: skip
        if item.kind == LEFT_CONTACT and conversation is not None:
            await jobs.post_notice(tx, conversation, notices.left_contact(item.label))
        return Outcome(conversation_id=conversation.id if conversation else None, status="kept")

    async def greet(self, tx: Transaction, message: InboundMessage) -> bool:
        """Answer a customer opening the chat with the greeting, once per update; opens no conversation, but keeps
        where the customer came from (a deep link's payload) for the next conversation that opens."""
        if message.origin:
            now = self.clock()
            _, identity_id = await tx.archive.upsert_identity(message.channel, message.sender, now)
            await tx.origins.remember(identity_id, message.origin, message.source_key, now)
        if not self.texts.greeting or not await tx.archive.mark_seen(message.source_key, self.clock()):
            return False
        await jobs.to_customer(tx, channel=message.channel, address=message.address, text=self.texts.greeting)
        return True

    async def _open(
        self, tx: Transaction, customer_id: int, identity_id: int, message: InboundMessage, now: datetime
    ) -> tuple[int, str]:
        """Create the conversation and queue its thread; returns its id and Slack channel."""
        category = categorize(message.text, self.config.categories, self.config.default_category)
        category_conf = self.config.categories.get(category) if category else None
        slack_channel = (category_conf.channel if category_conf else None) or self.config.inbox_channel
        previous_id = await tx.archive.latest_conversation_id(identity_id)
        conversation_id = await tx.archive.create_conversation(
            customer_id=customer_id,
            identity_id=identity_id,
            category=category,
            slack_channel=slack_channel,
            previous_id=previous_id,
            now=now,
        )
        await tx.origins.attach_waiting(identity_id, conversation_id)
        actor = f"{message.channel}:{message.sender.external_id}"
        await tx.archive.add_event(conversation_id, EventKind.OPENED, actor, now, channel=message.channel)
        if category:
            await tx.archive.add_event(conversation_id, EventKind.CATEGORY_SET, "routing", now, category=category)
        await self.hooks.opened(tx, conversation_id, message, category, now)
        await jobs.open_thread(tx, conversation_id, slack_channel)
        return conversation_id, slack_channel

    async def _auto_reply(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, text: str, now: datetime
    ) -> None:
        message_id = await tx.archive.insert_message(
            conversation_id=conversation_id,
            direction=Direction.AUTO,
            author_id="bot",
            author_name="threadbridge",
            channel=message.channel,
            text=text,
            source_key=f"auto:{message.source_key}",
            now=now,
        )
        await jobs.to_customer(
            tx, channel=message.channel, address=message.address, conversation_id=conversation_id,
            message_id=message_id,
        )  # fmt: skip
