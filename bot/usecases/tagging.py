"""Tags on conversations: chosen by staff on the thread's first message (a multi-select over ``tags.list``), and set
by keyword rules as customer messages arrive. Who set each tag is kept (a Slack user, or ``rule:<name>``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from bot.config import BotConfig
from bot.domain.models import EventKind, InboundMessage
from bot.domain.tagging import matching_rules
from bot.store.database import Database, Transaction, retried
from bot.usecases import jobs
from bot.usecases.hooks import ConversationHooks, FollowUp


class Tagging(ConversationHooks):
    def __init__(self, db: Database, config: BotConfig, *, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.config = config
        self.settings = config.tags
        self.clock = clock

    async def customer_wrote(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, *, opened: bool, now: datetime
    ) -> bool:
        """Apply the keyword rules to the message (an edit too: a keyword added by fixing a typo counts)."""
        added: list[str] = []
        for rule in matching_rules(message.text, self.settings.rules):
            added += await tx.tags.add(conversation_id, [rule.tag], f"rule:{rule.name}", now)
        if added:
            await tx.archive.add_event(conversation_id, EventKind.TAGGED, "rules", now, added=added, removed=[])
            if not opened:  # a new thread's first message is rendered after this commit, with its tags
                conversation = await tx.archive.conversation(conversation_id)
                if conversation is not None:
                    await jobs.refresh_header(tx, conversation)
        return False

    async def customers_wrote(self, tx: Transaction, follow_ups: Sequence[FollowUp], now: datetime) -> None:
        """Only the messages a rule matches need anything (most match none): no statement for the others."""
        for follow_up in follow_ups:
            if matching_rules(follow_up.message.text, self.settings.rules):
                await self.customer_wrote(tx, follow_up.conversation.id, follow_up.message, opened=False, now=now)

    @retried
    async def set_tags(self, conversation_id: int, chosen: Collection[str], user: str) -> str:
        """Staff chose the conversation's tags from the menu (the whole selection); returns changed, same or
        missing. Choices no longer configured are ignored; tags retired from the list stay on the conversation
        (the menu cannot show them, so it cannot mean to remove them)."""
        listed = set(self.settings.names)
        wanted = [t for t in dict.fromkeys(chosen) if t in listed]
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                return "missing"
            current = await tx.tags.of(conversation_id)
            now = self.clock()
            removed = [t for t in current if t in listed and t not in wanted]
            await tx.tags.remove(conversation_id, removed)
            added = await tx.tags.add(conversation_id, [t for t in wanted if t not in current], user, now)
            if not added and not removed:
                return "same"
            await tx.archive.add_event(conversation_id, EventKind.TAGGED, user, now, added=added, removed=removed)
            await jobs.refresh_header(tx, conversation)
        return "changed"
