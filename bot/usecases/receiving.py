"""A customer's message, stored: archived, a conversation opened when there is none, queued for Slack, answered.

Runs inside the transaction bot.usecases.intake opens for a group of updates; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.config import BotConfig
from bot.connectors.base import Activity, Outcome
from bot.domain import notices
from bot.domain.activity import LEFT_CONTACT
from bot.domain.i18n import CustomerTexts, TextBook
from bot.domain.models import Conversation, Direction, EventKind, InboundMessage, Status
from bot.domain.routing import categorize
from bot.domain.thanks import is_thanks
from bot.store.database import Transaction
from bot.store.parts import TEXT
from bot.usecases import jobs
from bot.usecases.hooks import ConversationHooks


class Comments(Protocol):
    """Messages after Close that comment on a rating (bot.usecases.surveys.Surveys)."""

    async def commented_on(
        self, tx: Transaction, identity_id: int, message: InboundMessage, now: datetime
    ) -> Conversation | None: ...

    async def record_comment(
        self, tx: Transaction, conversation: Conversation, message: InboundMessage, message_id: int, now: datetime
    ) -> None: ...


class Receiving:
    def __init__(
        self, config: BotConfig, texts: TextBook, *, clock: Callable[[], datetime], hooks: ConversationHooks,
        comments: Comments | None = None,
    ) -> None:  # fmt: skip
        """``texts``: every language's customer texts; each customer reads their own (bot.domain.i18n)."""
        self.config = config
        self.texts = texts
        self.clock = clock
        self.hooks = hooks
        self.comments = comments

    async def message(self, tx: Transaction, message: InboundMessage, known: set[str]) -> Outcome:
        """``known``: the source keys of the group already archived (one query for the whole group)."""
        if message.source_key in known:  # a redelivery: must not open a conversation again
            return Outcome(duplicate=True)
        now = self.clock()
        customer_id, identity_id = await tx.archive.upsert_identity(message.channel, message.sender, now)
        if message.edited and (edited := await self._edit(tx, message, now)) is not None:
            return edited
        if message.origin:  # e.g. a website visitor's page, reported with the first message
            await tx.origins.remember(identity_id, message.origin, message.source_key, now)
        conversation = await tx.archive.open_conversation(identity_id)
        rated = await self._rated(tx, identity_id, message, now) if conversation is None else None
        if rated is not None:  # a comment on a rating comes before a thanks
            return await self._archive_comment(tx, rated, message, now)
        if conversation is None and (closed := await self._thanked(tx, identity_id, message, now)) is not None:
            return await self._archive_thanks(tx, closed, message, now)
        opened = conversation is None
        if conversation is None:
            conversation_id, slack_channel = await self._open(tx, customer_id, identity_id, message, now)
        else:
            conversation_id, slack_channel = conversation.id, conversation.slack_channel
        message_id = await self._archive_words(tx, conversation_id, message, now)
        if message_id is None:  # a concurrent delivery of the same update won the race
            return Outcome(conversation_id=conversation_id, duplicate=True)
        resurfaced = self.resurfaced(conversation, message, now) if conversation is not None else None
        if not opened:  # a new conversation was created with last_message_at = now
            await tx.archive.touch(conversation_id, now)
        await jobs.post_inbound(
            tx, conversation_id, slack_channel, message_id, edited=message.edited, resurfaced=resurfaced
        )
        answered = await self.hooks.customer_wrote(tx, conversation_id, message, opened=opened, now=now)
        if opened and not answered and (auto_reply := (await self._texts(tx, identity_id)).auto_reply):
            await self._auto_reply(tx, conversation_id, message, auto_reply, now)
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

    async def _thanked(
        self, tx: Transaction, identity_id: int, message: InboundMessage, now: datetime
    ) -> Conversation | None:
        """The conversation a short thanks belongs to: the customer's last, closed within ``after_close``."""
        rule = self.config.after_close
        if message.edited or not is_thanks(message.text, message.sticker, rule.thanks):
            return None
        latest_id = await tx.archive.latest_conversation_id(identity_id)
        latest = await tx.archive.conversation(latest_id) if latest_id is not None else None
        if latest is None or latest.status != Status.CLOSED or latest.closed_at is None or not latest.thread_ts:
            return None
        return latest if now - latest.closed_at <= timedelta(minutes=rule.within_minutes) else None

    async def _archive_thanks(
        self, tx: Transaction, conversation: Conversation, message: InboundMessage, now: datetime
    ) -> Outcome:
        """Into the closed thread, archived and shown there; no inquiry opens, no clock starts, no reply."""
        message_id = await self._archive_words(tx, conversation.id, message, now)
        if message_id is None:
            return Outcome(conversation_id=conversation.id, duplicate=True)
        actor = f"{message.channel}:{message.sender.external_id}"
        await tx.archive.add_event(conversation.id, EventKind.THANKED_AFTER_CLOSE, actor, now, message_id=message_id)
        await jobs.post_inbound(tx, conversation.id, conversation.slack_channel, message_id)
        return Outcome(conversation_id=conversation.id)

    async def _rated(
        self, tx: Transaction, identity_id: int, message: InboundMessage, now: datetime
    ) -> Conversation | None:
        return await self.comments.commented_on(tx, identity_id, message, now) if self.comments else None

    async def _archive_comment(
        self, tx: Transaction, conversation: Conversation, message: InboundMessage, now: datetime
    ) -> Outcome:
        """A comment on a rating: into the closed thread like a thanks, and kept on the survey."""
        assert self.comments is not None
        message_id = await self._archive_words(tx, conversation.id, message, now)
        if message_id is None:
            return Outcome(conversation_id=conversation.id, duplicate=True)
        await jobs.post_inbound(tx, conversation.id, conversation.slack_channel, message_id)
        await self.comments.record_comment(tx, conversation, message, message_id, now)
        return Outcome(conversation_id=conversation.id, message_id=message_id)

    async def _archive_words(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, now: datetime
    ) -> int | None:
        """The customer's message archived, with its entry in the map of message ids (how a later edit of it finds
        it); None when a concurrent delivery of the same update stored it first."""
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
        if message_id is not None and message.external_message_id:
            external = [message.external_message_id]
            await tx.parts.record(message_id, message.channel, message.address, external, [TEXT], now)
        return message_id

    def resurfaced(self, conversation: Conversation, message: InboundMessage, now: datetime) -> dict[str, Any] | None:
        """A message into a thread quiet for longer than ``resurface.after_minutes``: who to mention (the holder,
        else the category's owners) and whether to show it in the channel too."""
        after = self.config.resurface.after_minutes
        last = conversation.last_message_at
        if after is None or last is None or message.edited or now - last <= timedelta(minutes=after):
            return None
        category = self.config.categories.get(conversation.category) if conversation.category else None
        people = [conversation.holder] if conversation.holder else list(category.owners if category else ())
        quiet = (now - last).total_seconds()
        return {"quiet": quiet, "people": people, "broadcast": self.config.resurface.broadcast}

    async def _edit(self, tx: Transaction, message: InboundMessage, now: datetime) -> Outcome | None:
        """A customer edited a message the archive has: every version is archived (a row of its own, searchable),
        and its Slack copy is updated in place, in the conversation it belongs to. None when the original is not
        known (sent before the bot kept the map): then it is posted as a new message marked edited, as before."""
        found = await tx.parts.sharing(message.channel, message.address, message.external_message_id)
        original = await tx.archive.message_row(found[0]) if found else None
        if original is None or original.direction != Direction.INBOUND:
            return None
        version_id = await tx.archive.insert_message(
            conversation_id=original.conversation_id,
            direction=Direction.INBOUND,
            author_id=f"{message.channel}:{message.sender.external_id}",
            author_name=message.sender.display_name,
            channel=message.channel,
            text=message.text,
            source_key=message.source_key,
            external_message_ids=[message.external_message_id],
            now=now,
            edit_of=original.id,
        )
        if version_id is None:
            return Outcome(conversation_id=original.conversation_id, duplicate=True)
        conversation = await tx.archive.conversation(original.conversation_id)
        assert conversation is not None
        await jobs.update_inbound(tx, conversation, version_id=version_id, original_id=original.id)
        if await tx.archive.opening_message_id(conversation.id) == original.id:  # quoted on the header too
            await jobs.refresh_header(tx, conversation)
        return Outcome(conversation_id=original.conversation_id)

    async def greet(self, tx: Transaction, message: InboundMessage) -> bool:
        """Answer a customer opening the chat with the greeting, once per update; opens no conversation, but keeps
        where the customer came from (a deep link's payload) for the next conversation that opens."""
        now = self.clock()
        if message.origin:
            _, identity_id = await tx.archive.upsert_identity(message.channel, message.sender, now)
            await tx.origins.remember(identity_id, message.origin, message.source_key, now)
        known, chosen = await tx.languages.of_sender(message.channel, message.sender.external_id)
        greeting = self.texts.pick(chosen, message.sender.language_code or known).greeting
        if not greeting or not await tx.archive.mark_seen(message.source_key, now):
            return False
        await jobs.to_customer(tx, channel=message.channel, address=message.address, text=greeting)
        return True

    async def _texts(self, tx: Transaction, identity_id: int) -> CustomerTexts:
        """The customer's texts, in their language as it is now (the moment a text is queued)."""
        reported, chosen = await tx.languages.of(identity_id)
        return self.texts.pick(chosen, reported)

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
