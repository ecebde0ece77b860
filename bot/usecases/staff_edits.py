"""Staff edit or delete a message in a conversation's thread: the customer's copy follows where their channel can.

Every version of a staff message is archived as a message row of its own (``edit_of`` the original: who, when, the
words, whether the customer got it), and every deletion as an event. What reaches the customer:

- a reply edited: the customer's copy is edited, every part of it, when the channel can (``Limits.edits``) and the
  copy is within the channel's window (``Limits.edit_window``); a reply still queued goes out and is then edited;
  otherwise the thread is told once that the customer still sees the original;
- a reply deleted: the customer's copy is deleted likewise, or, still queued, never sent; otherwise the thread says
  the customer still has it;
- notes never leak by an edit: a reply edited into a note is taken back as a deletion would be, and a note edited to
  read like a reply is not sent (the thread says how to send it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config import BotConfig
from bot.connectors.base import Limits
from bot.domain import notices
from bot.domain.models import Conversation, Delivery, Direction, EventKind
from bot.domain.notices import Notice
from bot.domain.replies import ReplyPolicy, is_internal_note
from bot.domain.richtext import Run, plain_text
from bot.store.database import Database, Transaction
from bot.store.parts import TEXT, Part
from bot.usecases import jobs
from bot.usecases.conversations import signing


@dataclass(frozen=True)
class StaffEdit:
    """A staff message as it reads after an edit in Slack."""

    slack_channel: str
    ts: str  # the edited message's ts: which message it was
    user: str  # who edited it
    edit_ts: str | None  # Slack's ``edited.ts``: tells this edit from a repeat of it
    text: str  # the new mrkdwn, as written
    plain_text: str  # the new text as a customer would read it
    rich: tuple[Run, ...] = ()  # the new text as channel-neutral rich text
    user_name: str = ""


class StaffEdits:
    def __init__(
        self,
        db: Database,
        config: BotConfig,
        limits: Mapping[str, Limits],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``limits``: each customer channel's declared limits (what it can change, and for how long)."""
        self.db = db
        self.config = config
        self.limits = dict(limits)
        self.clock = clock
        self.policy = ReplyPolicy(config.replies.explicit, config.replies.send_prefix)

    async def edited(self, edit: StaffEdit) -> bool:
        """Archive an edit of a staff message and make the customer's copy follow; True when something was queued
        (a change for the customer, or a word in the thread).

        A change that leaves the words as they were (Slack adds a link preview, an edit undone) is no edit; a repeat
        of the same edit (Slack's retries) is archived and acted on once.
        """
        async with self.db.transaction() as tx:
            row = await self._staff_message(tx, edit.slack_channel, edit.ts)
            if row is None:
                return False
            latest = await tx.archive.latest_version(row.id)
            if edit.text == latest.raw_text:
                return False
            was_internal = latest.direction == Direction.NOTE
            # A reply whose words read as internal was sent on purpose (the "Send to customer" shortcut): its edits
            # follow it without the mark it kept, instead of reading as "turned into a note".
            on_purpose = not was_internal and self.policy.internal(latest.raw_text or latest.text)
            # A note stays a note unless it now reads as a reply would (explicit mode: the send prefix); a reply the
            # customer has becomes a note only when marked as one (note:/private:), never by a prefix left out.
            marked = not on_purpose and (is_internal_note(edit.text) or is_internal_note(edit.plain_text))
            internal = marked or (was_internal and self.policy.internal(edit.plain_text))
            fingerprint = edit.edit_ts or hashlib.sha256(edit.text.encode()).hexdigest()[:16]
            now = self.clock()
            version_id = await tx.archive.insert_message(
                conversation_id=row.conversation_id,
                direction=Direction.NOTE if internal else Direction.OUTBOUND,
                author_id=edit.user,
                author_name=edit.user_name or edit.user,
                channel="slack",
                text=edit.plain_text if internal or not edit.rich else plain_text(self._to_send(edit.rich, on_purpose)),
                raw_text=edit.text,
                source_key=f"slack-edit:{edit.slack_channel}:{edit.ts}:{fingerprint}",
                slack_ts=edit.ts,
                delivery=Delivery.INTERNAL if internal else Delivery.PENDING,
                now=now,
                edit_of=row.id,
            )
            if version_id is None:
                return False
            await tx.archive.add_event(
                row.conversation_id, EventKind.STAFF_EDITED, edit.user, now, message_id=row.id, version_id=version_id,
                slack_ts=edit.ts,
            )  # fmt: skip
            conversation = await tx.archive.conversation(row.conversation_id)
            assert conversation is not None
            if was_internal and internal:
                return False
            if was_internal:  # an edit never sends a note; the thread says how to send it
                notice = notices.note_not_sent(by=edit.user, explicit=self.config.replies.explicit)
                return await self._notice_once(tx, conversation, f"note-edited:{row.id}", notice)
            if internal:
                return await self._take_back(tx, conversation, row, edit.user, turned_note=True)
            return await self._follow(tx, conversation, row, version_id, edit, on_purpose=on_purpose)

    async def deleted(self, *, slack_channel: str, ts: str, user: str) -> bool:
        """Archive the deletion of a staff message (``user`` wrote it: Slack does not say who deleted it) and take
        the customer's copy back; True when something was queued."""
        async with self.db.transaction() as tx:
            row = await self._staff_message(tx, slack_channel, ts)
            if row is None or not await tx.archive.mark_seen(f"staff-delete:{slack_channel}:{ts}", self.clock()):
                return False
            await tx.archive.add_event(
                row.conversation_id, EventKind.STAFF_DELETED, user, self.clock(), message_id=row.id, slack_ts=ts
            )
            latest = await tx.archive.latest_version(row.id)
            conversation = await tx.archive.conversation(row.conversation_id)
            if latest.direction == Direction.NOTE or conversation is None:
                return False  # the customer never had it, or it was taken back when it became a note
            return await self._take_back(tx, conversation, row, user, turned_note=False)

    # --- what the customer's copy does ----------------------------------------------------------------------------

    def _to_send(self, rich: tuple[Run, ...], on_purpose: bool) -> tuple[Run, ...]:
        """What of a reply's words the customer reads: a note sent on purpose loses its mark, as when it was sent."""
        return self.policy.without_note_prefix(rich) if on_purpose else self.policy.to_send(rich)

    async def _follow(
        self, tx: Transaction, conversation: Conversation, row: Any, version_id: int, edit: StaffEdit, *,
        on_purpose: bool = False,
    ) -> bool:  # fmt: skip
        """A reply edited: change the customer's copy, or say why it cannot be."""
        if row.delivery in (Delivery.FAILED, Delivery.INTERNAL):  # failed, or taken back before it went out
            await tx.archive.mark_delivery(version_id, Delivery.FAILED, "the reply never reached the customer")
            return False  # the thread already says it did not reach them
        facts = {"by": edit.user, "text": row.text, "delivered": row.delivery == Delivery.DELIVERED}
        if row.delivery == Delivery.DELIVERED:
            text_parts = [p for p in await tx.parts.customer_parts(row.id) if p.kind == TEXT]
            why = self._cannot(conversation.channel, text_parts, edits=True)
            if why is None and not text_parts:
                why = notices.NO_TEXT
            if why is not None:
                await tx.archive.mark_delivery(version_id, Delivery.FAILED, why)
                notice = notices.staff_edited(why=why, **facts, **self._detail(conversation.channel))
                return await self._notice_once(tx, conversation, f"staff-edit-notice:{row.id}", notice)
        elif (limits := self.limits.get(conversation.channel)) is None or not limits.edits:
            await tx.archive.mark_delivery(version_id, Delivery.FAILED, notices.CANNOT)  # queued: it goes out as it was
            notice = notices.staff_edited(why=notices.CANNOT, **facts, channel=conversation.channel)
            return await self._notice_once(tx, conversation, f"staff-edit-notice:{row.id}", notice)
        rich = edit.rich or (Run(edit.plain_text),)
        shown = row.author_name if row.author_name != row.author_id else ""  # never a bare Slack id as a name
        await jobs.edit_for_customer(
            tx, conversation, version_id=version_id, original_id=row.id, rich=self._to_send(rich, on_purpose),
            author=edit.user_name or shown, sign=signing(self.config, conversation, shown),
        )  # fmt: skip
        return True

    async def _take_back(
        self, tx: Transaction, conversation: Conversation, row: Any, user: str, *, turned_note: bool
    ) -> bool:
        """A reply deleted, or edited into a note: withdraw it while it waits, delete the customer's copy if the
        channel can, or say they still have it."""
        make = notices.turned_note if turned_note else notices.staff_deleted
        key = f"staff-{'note' if turned_note else 'delete'}-notice:{row.id}"
        if row.delivery == Delivery.PENDING:
            withdrawn = await tx.outbox.withdraw(jobs.SEND_TO_CUSTOMER, row.id, now=self.clock(), reason="taken back")
            if withdrawn:
                await tx.archive.mark_delivery(row.id, Delivery.INTERNAL, "taken back before it was sent")
                return await self._notice_once(tx, conversation, key, make(by=user, text=row.text, outcome="withdrawn"))
            # Being sent right now: a retry of it will not send it, and what an attempt under way sends is deleted
            await tx.archive.mark_delivery(row.id, Delivery.INTERNAL, "taken back while it was being sent")
            await jobs.delete_for_customer(tx, conversation, message_id=row.id, by=user, turned_note=turned_note)
            return True
        if row.delivery != Delivery.DELIVERED:
            return False  # it never reached them: the thread already says so
        parts = await tx.parts.customer_parts(row.id)
        if not parts:
            return False
        why = self._cannot(conversation.channel, parts, edits=False)
        if why is not None:
            notice = make(by=user, text=row.text, outcome="kept", why=why, **self._detail(conversation.channel))
            return await self._notice_once(tx, conversation, key, notice)
        await jobs.delete_for_customer(tx, conversation, message_id=row.id, by=user, turned_note=turned_note)
        return True

    def _cannot(self, channel: str, parts: list[Part], *, edits: bool) -> str | None:
        """Why the channel cannot change (``edits``) or delete these parts now; None when it can."""
        limits = self.limits.get(channel)
        if limits is None or not (limits.edits if edits else limits.deletes):
            return notices.CANNOT
        window = limits.edit_window
        now = self.clock()
        if window is not None and any(now - p.created_at > window for p in parts):
            return notices.TOO_OLD
        return None

    def _detail(self, channel: str) -> dict[str, Any]:
        limits = self.limits.get(channel)
        window = limits.edit_window if limits is not None else None
        hours = round(window.total_seconds() / 3600) if window is not None else None
        return {"channel": channel, "hours": hours}

    # --- helpers ---------------------------------------------------------------------------------------------

    async def _staff_message(self, tx: Transaction, slack_channel: str, ts: str) -> Any:
        row = await tx.archive.message_by_source_key(f"slack:{slack_channel}:{ts}")
        return row if row is not None and row.direction in (Direction.OUTBOUND, Direction.NOTE) else None

    async def _notice_once(self, tx: Transaction, conversation: Conversation, key: str, notice: Notice) -> bool:
        if not await tx.archive.mark_seen(key, self.clock()):
            return False
        await jobs.post_notice(tx, conversation, notice)
        return True
