"""What routing and timing (bot.usecases.triage) add to the conversation use cases, inside their transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.models import Conversation, InboundMessage, Status
from bot.store.database import Transaction
from bot.store.timers import InquiryState


@dataclass(frozen=True)
class FollowUp:
    """A customer's message archived into a conversation that was already open (bot.usecases.follow_ups), with the
    conversation and its inquiry state as read at the start of the group."""

    conversation: Conversation
    state: InquiryState | None
    message: InboundMessage

    @property
    def active(self) -> bool:
        """Neither on hold nor waiting on the customer, and its state row is there."""
        return self.state is not None and self.state.hold is None

    @property
    def waiting(self) -> bool:
        """Its waiting clock does not run yet: this message starts it."""
        return self.state is not None and self.state.waiting_since is None


class ConversationHooks:
    """No-ops here; ``Triage`` overrides them."""

    async def opened(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, category: str | None, now: datetime
    ) -> None:
        """A conversation was just created."""

    async def customer_wrote(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, *, opened: bool, now: datetime
    ) -> bool:
        """A customer message was archived; True when the hook answered it (the acknowledgement is then skipped)."""
        return False

    async def customers_wrote(self, tx: Transaction, follow_ups: Sequence[FollowUp], now: datetime) -> None:
        """Many follow-ups archived at once, in order: what ``customer_wrote`` does for each (a hook with work to do
        for every message overrides this with statements for the whole group)."""
        for follow_up in follow_ups:
            await self.customer_wrote(tx, follow_up.conversation.id, follow_up.message, opened=False, now=now)

    async def acknowledged(self, tx: Transaction, conversation_id: int, message: InboundMessage, now: datetime) -> None:
        """A new conversation's acknowledgement (if any) is queued: what the customer should read next."""

    async def staff_replied(self, tx: Transaction, conversation: Conversation, user: str, now: datetime) -> None:
        """A reply (not a note) for the customer was archived."""

    async def status_changed(self, tx: Transaction, conversation: Conversation, status: Status, now: datetime) -> None:
        """The conversation was closed or reopened."""

    async def moved_thread(self, tx: Transaction, slack_channel: str, thread_ts: str) -> Conversation | None:
        """The conversation that used to live in a thread it has moved away from."""
        return None


class HookChain(ConversationHooks):
    """Several parts' hooks in one, called in order (routing first: the others read the state it sets)."""

    def __init__(self, hooks: Sequence[ConversationHooks]) -> None:
        self.hooks = tuple(hooks)

    async def opened(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, category: str | None, now: datetime
    ) -> None:
        for hook in self.hooks:
            await hook.opened(tx, conversation_id, message, category, now)

    async def customer_wrote(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, *, opened: bool, now: datetime
    ) -> bool:
        answered = False
        for hook in self.hooks:
            answered = await hook.customer_wrote(tx, conversation_id, message, opened=opened, now=now) or answered
        return answered

    async def customers_wrote(self, tx: Transaction, follow_ups: Sequence[FollowUp], now: datetime) -> None:
        for hook in self.hooks:
            await hook.customers_wrote(tx, follow_ups, now)

    async def acknowledged(self, tx: Transaction, conversation_id: int, message: InboundMessage, now: datetime) -> None:
        for hook in self.hooks:
            await hook.acknowledged(tx, conversation_id, message, now)

    async def staff_replied(self, tx: Transaction, conversation: Conversation, user: str, now: datetime) -> None:
        for hook in self.hooks:
            await hook.staff_replied(tx, conversation, user, now)

    async def status_changed(self, tx: Transaction, conversation: Conversation, status: Status, now: datetime) -> None:
        for hook in self.hooks:
            await hook.status_changed(tx, conversation, status, now)

    async def moved_thread(self, tx: Transaction, slack_channel: str, thread_ts: str) -> Conversation | None:
        for hook in self.hooks:
            if (found := await hook.moved_thread(tx, slack_channel, thread_ts)) is not None:
                return found
        return None
