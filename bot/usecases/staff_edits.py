"""Staff edit or delete a reply in Slack after it went to the customer: say so in the thread, change nothing else.

Edits and deletions are not synced to the customer yet. Until they are, the team must not be left believing the
customer reads the new words (or no longer has the message): the first edit and the deletion of a reply that was
delivered, or is still queued, get one plain notice each in the thread. Every change is archived as an event
(who, when, the new text); the archived reply itself stays what the customer got. Notes stay silent, because the
customer never saw them, even when an edit turns a reply into something that starts with ``note:``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain import notices
from bot.domain.models import Delivery, Direction, EventKind
from bot.domain.notices import Notice
from bot.store.database import Database, Transaction
from bot.usecases import jobs

_NOTICED = (Delivery.DELIVERED, Delivery.PENDING)


@dataclass(frozen=True)
class StaffEdit:
    """A staff message as it reads after an edit in Slack."""

    slack_channel: str
    ts: str  # the edited message's ts: which message it was
    user: str  # who edited it
    edit_ts: str | None  # Slack's ``edited.ts``: tells this edit from a repeat of it
    text: str  # the new mrkdwn, as written
    plain_text: str  # the new text as a customer would read it


class StaffEdits:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.clock = clock

    async def edited(self, edit: StaffEdit) -> bool:
        """Archive an edit of a staff message; True when a notice was queued for the thread.

        A change that leaves the words as the customer got them (Slack adds a link preview, an edit undone) is no
        edit; a repeat of the same edit (Slack's retries) is archived and noticed once.
        """
        async with self.db.transaction() as tx:
            row = await self._staff_message(tx, edit.slack_channel, edit.ts)
            if row is None or edit.text == row.raw_text:
                return False
            fingerprint = edit.edit_ts or hashlib.sha256(edit.text.encode()).hexdigest()[:16]
            if not await tx.archive.mark_seen(f"staff-edit:{edit.slack_channel}:{edit.ts}:{fingerprint}", self.clock()):
                return False
            await tx.archive.add_event(
                row.conversation_id,
                EventKind.STAFF_EDITED,
                edit.user,
                self.clock(),
                message_id=row.id,
                slack_ts=edit.ts,
                text=edit.plain_text,
                raw_text=edit.text,
            )
            notice = Notice(notices.STAFF_EDITED, {"by": edit.user, **_facts(row)})
            return await self._notice_once(tx, row, "edit", notice)

    async def deleted(self, *, slack_channel: str, ts: str, user: str) -> bool:
        """Archive the deletion of a staff message (``user`` wrote it: Slack does not say who deleted it); True
        when a notice was queued for the thread."""
        async with self.db.transaction() as tx:
            row = await self._staff_message(tx, slack_channel, ts)
            if row is None or not await tx.archive.mark_seen(f"staff-delete:{slack_channel}:{ts}", self.clock()):
                return False
            await tx.archive.add_event(
                row.conversation_id, EventKind.STAFF_DELETED, user, self.clock(), message_id=row.id, slack_ts=ts
            )
            notice = Notice(notices.STAFF_DELETED, {"by": user, **_facts(row)})
            return await self._notice_once(tx, row, "delete", notice)

    async def _staff_message(self, tx: Transaction, slack_channel: str, ts: str) -> Any:
        row = await tx.archive.message_by_source_key(f"slack:{slack_channel}:{ts}")
        return row if row is not None and row.direction in (Direction.OUTBOUND, Direction.NOTE) else None

    async def _notice_once(self, tx: Transaction, row: Any, kind: str, notice: Notice) -> bool:
        """One notice per reply and kind of change, and only for what the customer has or will get."""
        if row.direction != Direction.OUTBOUND or row.delivery not in _NOTICED:
            return False
        if not await tx.archive.mark_seen(f"staff-{kind}-notice:{row.id}", self.clock()):
            return False
        conversation = await tx.archive.conversation(row.conversation_id)
        if conversation is None:
            return False
        await jobs.post_notice(tx, conversation, notice)
        return True


def _facts(row: Any) -> dict[str, Any]:
    """Whether the customer has the reply already, and what it says (the notice quotes its start)."""
    return {"delivered": row.delivery == Delivery.DELIVERED, "text": row.text}
