"""Use cases of the team's side of a conversation: reply, note, claim, unclaim, close, reopen.

Each use case is one transaction that archives what happened and queues what must be delivered, so nothing is
acknowledged to Slack before it is stored, and nothing stored is left undelivered. The customer's side comes in
through bot.usecases.intake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import BotConfig
from bot.domain.authorship import SIGNATURE
from bot.domain.i18n import LANGUAGES, pick_language
from bot.domain.models import Attachment, Conversation, Delivery, Direction, EventKind, Status
from bot.domain.replies import ReplyPolicy, is_internal_note
from bot.domain.richtext import Run, plain_text
from bot.store.database import Database, Transaction, retried
from bot.store.parts import SLACK, TEXT
from bot.usecases import jobs
from bot.usecases.hooks import ConversationHooks


def signing(config: BotConfig, conversation: Conversation, author: str) -> jobs.Signing:
    """How the customer reads who answered (``replies.author``), worded in their language now."""
    replies = config.replies
    if replies.author != SIGNATURE:
        return replies.author, None
    language = pick_language(conversation.language, conversation.language_code, config.language)
    return SIGNATURE, replies.signature[language].replace("{name}", author)


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


class Conversations:
    def __init__(
        self,
        db: Database,
        config: BotConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        hooks: ConversationHooks | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.hooks = hooks or ConversationHooks()
        self.policy = ReplyPolicy(config.replies.explicit, config.replies.send_prefix)

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
        rich: Sequence[Run],
        files: Sequence[Attachment] = (),
        saved_reply_id: int | None = None,
    ) -> StaffOutcome:
        """A message in a tracked thread: a note stays, anything else is queued for the customer.

        ``text`` is the Slack mrkdwn as written (archived), ``rich`` the same parsed once into channel-neutral
        rich text: what the customer's channel renders; its plain text is what the archive and search hold. The
        first reply to an unclaimed conversation claims it for the replier. A saved reply (``saved_reply_id``) was
        chosen to be sent: it is never a note, and the archive says which reply it was.
        """
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation_by_thread(slack_channel, thread_ts)
            if conversation is None:
                conversation = await self.hooks.moved_thread(tx, slack_channel, thread_ts)
            if conversation is None:
                return StaffOutcome(tracked=False)
            source_key = f"slack:{slack_channel}:{ts}"
            now = self.clock()
            chosen = saved_reply_id is not None
            internal = not chosen and (is_internal_note(text) or self.policy.internal(plain_text(rich)))
            runs = tuple(rich) if internal or chosen else self.policy.to_send(tuple(rich))  # what the customer reads
            message_id = await tx.archive.insert_message(
                conversation_id=conversation.id,
                direction=Direction.NOTE if internal else Direction.OUTBOUND,
                author_id=user,
                author_name=user_name or user,
                channel="slack",
                text=plain_text(runs),
                raw_text=text,
                attachments=files,
                source_key=source_key,
                slack_ts=ts,
                delivery=Delivery.INTERNAL if internal else Delivery.PENDING,
                now=now,
                saved_reply_id=saved_reply_id,
            )
            if message_id is None:
                return StaffOutcome(tracked=True, duplicate=True, internal=internal)
            await tx.parts.record(message_id, SLACK, slack_channel, [ts], [TEXT], now)
            if internal:
                return StaffOutcome(tracked=True, internal=True)
            claimed = await self._send(tx, conversation, message_id, runs, user, user_name, now)
            return StaffOutcome(tracked=True, claimed=claimed)

    @retried
    async def send_note(self, *, slack_channel: str, ts: str, user: str, user_name: str, rich: Sequence[Run]) -> str:
        """Send a message that stayed internal to the customer on purpose (the "Send to customer" shortcut): its
        words as they read now, without ``note:`` or the send prefix; returns sent, already, empty, not_staff or
        unknown (not a message of a conversation's thread)."""
        async with self.db.transaction() as tx:
            row = await tx.archive.message_by_source_key(f"slack:{slack_channel}:{ts}")
            if row is None:
                return "unknown"
            if row.direction not in (Direction.OUTBOUND, Direction.NOTE):
                return "not_staff"
            latest = await tx.archive.latest_version(row.id)
            if latest.direction == Direction.OUTBOUND and row.delivery in (Delivery.PENDING, Delivery.DELIVERED):
                return "already"
            runs = self.policy.without_note_prefix(tuple(rich))
            if not plain_text(runs).strip() and not row.attachments:
                return "empty"
            conversation = await tx.archive.conversation(row.conversation_id)
            assert conversation is not None
            now = self.clock()
            await tx.archive.send_as_reply(row.id, latest.id)
            await tx.archive.add_event(conversation.id, EventKind.NOTE_SENT, user, now, message_id=row.id)
            await self._send(tx, conversation, row.id, runs, row.author_id, user_name, now, text=plain_text(runs))
            return "sent"

    async def _send(
        self, tx: Transaction, conversation: Conversation, message_id: int, runs: tuple[Run, ...], user: str,
        user_name: str, now: datetime, *, text: str | None = None,
    ) -> bool:  # fmt: skip
        """Queue a reply for the customer; the first reply to an unclaimed conversation claims it (True)."""
        await tx.archive.touch(conversation.id, now)
        await jobs.to_customer(
            tx, channel=conversation.channel, address=conversation.address, conversation_id=conversation.id,
            message_id=message_id, text=text, rich=runs, author=user_name,
            sign=signing(self.config, conversation, user_name),
        )  # fmt: skip
        claimed = False
        if conversation.status == Status.OPEN and conversation.holder is None:
            claimed = await self._claim(tx, conversation, user, now, reason="first_reply")
        await self.hooks.staff_replied(tx, conversation, user, now)
        return claimed

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
        await jobs.refresh_header(tx, conversation)
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
            await jobs.refresh_header(tx, conversation)
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
            await jobs.refresh_header(tx, conversation)
            return True


    async def set_language(self, conversation_id: int, language: str, user: str) -> str:
        """Staff chose the language the conversation's customer reads, from now on (for every later text); returns
        set, same, unknown or missing."""
        if language not in LANGUAGES:
            return "unknown"
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                return "missing"
            previous = pick_language(conversation.language, conversation.language_code, self.config.language)
            if not await tx.languages.choose(conversation.identity_id, language):
                return "same"
            await tx.archive.add_event(
                conversation_id, EventKind.LANGUAGE_SET, user, self.clock(), language=language, previous=previous
            )
            await jobs.refresh_header(tx, conversation)
            return "set"

    # --- reading ---------------------------------------------------------------------------------------------

    async def conversation(self, conversation_id: int) -> Conversation | None:
        async with self.db.reading() as tx:
            return await tx.archive.conversation(conversation_id)

    async def by_thread(self, slack_channel: str, thread_ts: str) -> Conversation | None:
        """The conversation whose thread starts with this Slack message."""
        async with self.db.reading() as tx:
            return await tx.archive.conversation_by_thread(slack_channel, thread_ts)

    async def open_inquiries(self, limit: int = 100) -> list[Conversation]:
        async with self.db.reading() as tx:
            return await tx.archive.open_conversations(limit)
