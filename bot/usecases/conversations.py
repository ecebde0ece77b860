"""Use cases of a support conversation: receive, reply, note, claim, close, reopen.

Each use case is one transaction that archives what happened and queues what must be delivered, so nothing is
acknowledged to Slack or Telegram before it is stored, and nothing stored is left undelivered.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import BotConfig
from bot.domain.i18n import CustomerTexts
from bot.domain.models import (
    Attachment,
    Conversation,
    Delivery,
    Direction,
    EventKind,
    InboundMessage,
    Status,
)
from bot.domain.routing import categorize
from bot.store.database import Database, Transaction, contention, retried
from bot.store.search import Hit
from bot.usecases.crm import Customers

# Job kinds, handled in bot.delivery_jobs
OPEN_THREAD = "open_thread"
POST_INBOUND = "post_inbound"
UPDATE_HEADER = "update_header"
POST_NOTICE = "post_notice"
SEND_TO_CUSTOMER = "send_to_customer"

GROUP_LIMIT = 200  # messages in one group commit at most: bounds a transaction's length and its answers' wait
log = logging.getLogger(__name__)

_NOTE_PREFIX = re.compile(r"^\s*(note|private)\s*:", re.IGNORECASE)


def is_internal_note(text: str) -> bool:
    """Staff text that starts with ``note:`` or ``private:`` (any case) stays in Slack."""
    return bool(_NOTE_PREFIX.match(text))


def slack_lane(conversation_id: int) -> str:
    return f"slack:conversation:{conversation_id}"


def customer_lane(channel: str, address: str) -> str:
    return f"{channel}:chat:{address}"


async def queue_header_update(tx: Transaction, conversation: Conversation) -> None:
    """Refresh the thread's first message: the job renders whatever the state is when it runs, in lane order."""
    await tx.outbox.enqueue(
        lane=slack_lane(conversation.id),
        target=f"slack-update:{conversation.slack_channel}",
        kind=UPDATE_HEADER,
        payload={},
        conversation_id=conversation.id,
        now=time.time(),
    )


@dataclass(frozen=True)
class Receipt:
    """What receiving a customer message did: the conversation, and whether it was new or a redelivery."""

    conversation_id: int | None
    opened: bool
    duplicate: bool


_NOTHING = Receipt(conversation_id=None, opened=False, duplicate=False)


@dataclass(frozen=True)
class Incoming:
    """One update to store: a customer message (or a ``/start`` to greet), or nothing but its cursor."""

    message: InboundMessage | None
    greeting: bool = False
    cursor: tuple[str, str] | None = None

    @property
    def source_key(self) -> str:
        return self.message.source_key if self.message is not None else ""


@dataclass
class _Waiting:
    incoming: Incoming
    future: asyncio.Future[Receipt]


def _order_key(incoming: Incoming) -> tuple[str, str]:
    message = incoming.message
    return (message.channel, message.sender.external_id) if message is not None else ("", "")


@dataclass(frozen=True)
class StaffOutcome:
    tracked: bool  # the thread belongs to a conversation
    duplicate: bool = False
    internal: bool = False
    claimed: bool = False


@dataclass(frozen=True)
class ClaimOutcome:
    ok: bool
    holder: str | None
    changed: bool


class ConversationHooks:
    """What routing and timing (bot.usecases.triage) add to the use cases, inside their transactions; no-ops here."""

    async def opened(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, category: str | None, now: datetime
    ) -> None:
        """A conversation was just created."""

    async def customer_wrote(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, *, opened: bool, now: datetime
    ) -> bool:
        """A customer message was archived; True when the hook answered it (the acknowledgement is then skipped)."""
        return False

    async def acknowledged(self, tx: Transaction, conversation_id: int, message: InboundMessage, now: datetime) -> None:
        """A new conversation's acknowledgement (if any) is queued: what the customer should read next."""

    async def staff_replied(self, tx: Transaction, conversation: Conversation, user: str, now: datetime) -> None:
        """A reply (not a note) for the customer was archived."""

    async def status_changed(self, tx: Transaction, conversation: Conversation, status: Status, now: datetime) -> None:
        """The conversation was closed or reopened."""

    async def moved_thread(self, tx: Transaction, slack_channel: str, thread_ts: str) -> Conversation | None:
        """The conversation that used to live in a thread it has moved away from."""
        return None


class Conversations:
    def __init__(
        self,
        db: Database,
        config: BotConfig,
        texts: CustomerTexts,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        hooks: ConversationHooks | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.texts = texts
        self.clock = clock
        self.hooks = hooks or ConversationHooks()
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    # --- customer side ---------------------------------------------------------------------------------------

    async def receive(self, message: InboundMessage, *, cursor: tuple[str, str] | None = None) -> Receipt:
        """Archive a customer message and queue it for Slack; ``cursor`` (key, value) is saved in the same commit.

        Group commit: calls that arrive while a commit is under way wait and share the next transaction, each in
        its own savepoint, so one bad message fails alone and the caller is answered only after the commit (one
        commit per message would cap a process at its database's commits per second). The cursor is how a
        connector remembers what it has consumed (Telegram's update offset) only once the message is stored.
        """
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(Incoming(message, cursor=cursor), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting(), name="receive-group-commit")
        return await asyncio.shield(future)  # a caller that gives up does not cancel the others' commit

    async def _write_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:GROUP_LIMIT], self._waiting[GROUP_LIMIT:]
            # Same order in every process for rows of the same customers (fewer deadlocks on PostgreSQL); the sort
            # is stable, so one customer's messages keep the order they arrived in. Cursors must stay in order.
            if not any(w.incoming.cursor for w in group):
                group.sort(key=lambda w: _order_key(w.incoming))
            outcomes: list[Receipt | BaseException]
            try:
                outcomes = await self._store_group([w.incoming for w in group])
            except Exception as exc:  # the commit itself failed: nothing of the group is stored
                outcomes = [exc] * len(group)
            for waiting, outcome in zip(group, outcomes, strict=True):
                if waiting.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    waiting.future.set_exception(outcome)
                else:
                    waiting.future.set_result(outcome)

    @retried
    async def _store_group(self, items: Sequence[Incoming]) -> list[Receipt | BaseException]:
        """The group's one transaction; its callers' futures are answered only after it returns."""
        async with self.db.transaction() as tx:
            known = await tx.archive.existing_source_keys([i.source_key for i in items])
            return [await self._store_one(tx, item, known) for item in items]

    @retried
    async def receive_all(self, items: Sequence[Incoming]) -> int:
        """Store a run of updates in order in one transaction; returns how many were stored.

        Stops at the first that fails: the ones after it are not stored, and the cursor saved is the last stored
        one's, so a polling offset never passes an update that is not in the archive (and a customer's later
        message is never archived before an earlier one that failed).
        """
        stored = 0
        failure: BaseException | None = None
        async with self.db.transaction() as tx:
            known = await tx.archive.existing_source_keys([i.source_key for i in items if i.message is not None])
            for item in items:
                outcome = await self._store_one(tx, item, known)
                if isinstance(outcome, BaseException):
                    failure = outcome
                    break
                stored += 1
        if failure is not None:
            log.error("could not store an update; it comes again: %s", failure, exc_info=failure)
        return stored

    async def _store_one(self, tx: Transaction, item: Incoming, known: set[str]) -> Receipt | BaseException:
        """One item in its own savepoint: a failure undoes only its rows and is returned, not raised."""
        try:
            async with tx.conn.begin_nested():
                receipt = _NOTHING
                if item.message is not None and item.greeting:
                    await self._greet(tx, item.message)
                elif item.message is not None:
                    receipt = await self._receive(tx, item.message, known)
                if item.cursor is not None:
                    await tx.archive.put_setting(*item.cursor)
            return receipt
        except Exception as exc:
            if contention(exc):  # the whole transaction was refused: it runs again, this item with the rest
                raise
            return exc

    async def _receive(self, tx: Transaction, message: InboundMessage, known: set[str] | None = None) -> Receipt:
        """``known``: the source keys of the group already archived (one query for the whole group)."""
        if known is None:
            known = await tx.archive.existing_source_keys([message.source_key])
        if message.source_key in known:  # a redelivery: must not open a conversation again
            return Receipt(conversation_id=None, opened=False, duplicate=True)
        now = self.clock()
        customer_id, identity_id = await tx.archive.upsert_identity(message.channel, message.sender, now)
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
            return Receipt(conversation_id=conversation_id, opened=False, duplicate=True)
        if not opened:  # a new conversation was created with last_message_at = now
            await tx.archive.touch(conversation_id, now)
        await tx.outbox.enqueue(
            lane=slack_lane(conversation_id),
            target=f"slack:{slack_channel}",
            kind=POST_INBOUND,
            payload={"edited": message.edited},
            conversation_id=conversation_id,
            message_id=message_id,
            now=time.time(),
        )
        answered = await self.hooks.customer_wrote(tx, conversation_id, message, opened=opened, now=now)
        if opened and self.texts.auto_reply and not answered:
            await self._queue_auto_reply(tx, conversation_id, message, self.texts.auto_reply, now)
        if opened:
            await self.hooks.acknowledged(tx, conversation_id, message, now)
        return Receipt(conversation_id=conversation_id, opened=opened, duplicate=False)

    @retried
    async def greet(self, message: InboundMessage) -> bool:
        """Answer a customer's ``/start`` with the greeting, once per update; opens no conversation."""
        async with self.db.transaction() as tx:
            return await self._greet(tx, message)

    async def _greet(self, tx: Transaction, message: InboundMessage) -> bool:
        if not self.texts.greeting or not await tx.archive.mark_seen(message.source_key, self.clock()):
            return False
        await tx.outbox.enqueue(
            lane=customer_lane(message.channel, message.address),
            target=f"{message.channel}:{message.address}",
            kind=SEND_TO_CUSTOMER,
            payload={"format": "plain", "text": self.texts.greeting, "address": message.address},
            now=time.time(),
        )
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
        actor = f"{message.channel}:{message.sender.external_id}"
        await tx.archive.add_event(conversation_id, EventKind.OPENED, actor, now, channel=message.channel)
        if category:
            await tx.archive.add_event(conversation_id, EventKind.CATEGORY_SET, "routing", now, category=category)
        await self.hooks.opened(tx, conversation_id, message, category, now)
        await tx.outbox.enqueue(
            lane=slack_lane(conversation_id),
            target=f"slack:{slack_channel}",
            kind=OPEN_THREAD,
            payload={},
            conversation_id=conversation_id,
            now=time.time(),
        )
        return conversation_id, slack_channel

    async def _queue_auto_reply(
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
        await tx.outbox.enqueue(
            lane=customer_lane(message.channel, message.address),
            target=f"{message.channel}:{message.address}",
            kind=SEND_TO_CUSTOMER,
            payload={"format": "plain"},
            conversation_id=conversation_id,
            message_id=message_id,
            now=time.time(),
        )

    # --- staff side ------------------------------------------------------------------------------------------

    @retried
    async def staff_message(
        self,
        *,
        slack_channel: str,
        thread_ts: str,
        ts: str,
        user: str,
        user_name: str,
        text: str,
        plain_text: str,
        files: Sequence[Attachment] = (),
        user_names: dict[str, str] | None = None,
    ) -> StaffOutcome:
        """A message in a tracked thread: a note stays, anything else is queued for the customer.

        ``text`` is the Slack mrkdwn as written (kept for formatting), ``plain_text`` what the customer reads (the
        archive and search use it). The first reply to an unclaimed conversation claims it for the replier.
        """
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation_by_thread(slack_channel, thread_ts)
            if conversation is None:
                conversation = await self.hooks.moved_thread(tx, slack_channel, thread_ts)
            if conversation is None:
                return StaffOutcome(tracked=False)
            source_key = f"slack:{slack_channel}:{ts}"
            now = self.clock()
            internal = is_internal_note(text)
            message_id = await tx.archive.insert_message(
                conversation_id=conversation.id,
                direction=Direction.NOTE if internal else Direction.OUTBOUND,
                author_id=user,
                author_name=user_name,
                channel="slack",
                text=plain_text,
                raw_text=text,
                attachments=files,
                source_key=source_key,
                slack_ts=ts,
                delivery=Delivery.INTERNAL if internal else Delivery.PENDING,
                now=now,
            )
            if message_id is None:
                return StaffOutcome(tracked=True, duplicate=True, internal=internal)
            if internal:
                return StaffOutcome(tracked=True, internal=True)
            await tx.archive.touch(conversation.id, now)
            await tx.outbox.enqueue(
                lane=customer_lane(conversation.channel, conversation.address),
                target=f"{conversation.channel}:{conversation.address}",
                kind=SEND_TO_CUSTOMER,
                payload={"format": "mrkdwn", "user_names": user_names or {}},
                conversation_id=conversation.id,
                message_id=message_id,
                now=time.time(),
            )
            claimed = False
            if conversation.status == Status.OPEN and conversation.holder is None:
                claimed = await self._claim(tx, conversation, user, now, reason="first_reply")
            await self.hooks.staff_replied(tx, conversation, user, now)
            return StaffOutcome(tracked=True, claimed=claimed)

    @retried
    async def claim(self, conversation_id: int, user: str) -> ClaimOutcome:
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                return ClaimOutcome(ok=False, holder=None, changed=False)
            if conversation.holder == user:
                return ClaimOutcome(ok=True, holder=user, changed=False)
            if await self._claim(tx, conversation, user, self.clock(), reason="button"):
                return ClaimOutcome(ok=True, holder=user, changed=True)
            current = await tx.archive.conversation(conversation_id)
            return ClaimOutcome(ok=False, holder=current.holder if current else None, changed=False)

    async def _claim(
        self, tx: Transaction, conversation: Conversation, user: str, now: datetime, *, reason: str
    ) -> bool:
        if not await tx.archive.claim_if_free(conversation.id, user):
            return False
        await tx.archive.add_event(conversation.id, EventKind.CLAIMED, user, now, reason=reason)
        await self._queue_header_update(tx, conversation)
        return True

    @retried
    async def unclaim(self, conversation_id: int, user: str) -> ClaimOutcome:
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                return ClaimOutcome(ok=False, holder=None, changed=False)
            previous = await tx.archive.release_if_held(conversation_id)
            if previous is None:
                return ClaimOutcome(ok=True, holder=None, changed=False)
            await tx.archive.add_event(conversation_id, EventKind.UNCLAIMED, user, self.clock(), previous=previous)
            await self._queue_header_update(tx, conversation)
            return ClaimOutcome(ok=True, holder=None, changed=True)

    @retried
    async def close(self, conversation_id: int, user: str) -> bool:
        """Close an open conversation; False when it was not open (a repeated click)."""
        return await self._transition(conversation_id, user, Status.OPEN, Status.CLOSED, EventKind.CLOSED)

    @retried
    async def reopen(self, conversation_id: int, user: str) -> str:
        """Reopen a closed conversation; returns "reopened", "already_open" or "newer_open" (the customer has
        already started a new conversation, which must stay the only open one)."""
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None or conversation.status == Status.OPEN:
                return "already_open"
            if await tx.archive.open_conversation(conversation.identity_id) is not None:
                return "newer_open"
        changed = await self._transition(conversation_id, user, Status.CLOSED, Status.OPEN, EventKind.REOPENED)
        return "reopened" if changed else "already_open"

    async def _transition(self, conversation_id: int, user: str, old: Status, new: Status, kind: EventKind) -> bool:
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                return False
            if not await tx.archive.change_status(conversation_id, old, new, self.clock()):
                return False
            await tx.archive.add_event(conversation_id, kind, user, self.clock())
            await self.hooks.status_changed(tx, conversation, new, self.clock())
            await self._queue_header_update(tx, conversation)
            return True

    async def _queue_header_update(self, tx: Transaction, conversation: Conversation) -> None:
        await queue_header_update(tx, conversation)

    # --- small durable state ---------------------------------------------------------------------------------

    async def setting(self, key: str) -> str | None:
        async with self.db.reading() as tx:
            return await tx.archive.get_setting(key)

    @retried
    async def save_setting(self, key: str, value: str) -> None:
        async with self.db.transaction() as tx:
            await tx.archive.put_setting(key, value)

    # --- reading ---------------------------------------------------------------------------------------------

    async def conversation(self, conversation_id: int) -> Conversation | None:
        async with self.db.reading() as tx:
            return await tx.archive.conversation(conversation_id)

    async def history(self, query: str, limit: int = 20, *, viewer: str = "system") -> list[Hit]:
        """The first ``limit`` results ``/history`` shows for ``query``, through the archive's search index (the
        command itself calls bot.crm.Customers.search, which this is; it also pages and records the audit row)."""
        page = await Customers(self.db, self.config, clock=self.clock).search(query, viewer, page_size=limit)
        return page.hits

    async def open_inquiries(self, limit: int = 100) -> list[Conversation]:
        async with self.db.reading() as tx:
            return await tx.archive.open_conversations(limit)
