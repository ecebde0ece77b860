"""Queries of routing and timing: inquiry state, escalation timers, moved threads, the /inquiries listing.

Timers live in the database so they survive restarts; a timer fires through one conditional UPDATE
(pending -> fired), so of several processes that see it due at the same moment exactly one acts on it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Conversation, Status
from bot.store.conversation_rows import conversation_select, to_conversation
from bot.store.routing_schema import inquiry_state, inquiry_timers, thread_aliases
from bot.store.schema import conversations
from bot.store.toolkit_schema import conversation_tags

PENDING = "pending"
FIRED = "fired"
CANCELLED = "cancelled"

FIRST = "first"  # escalation in the thread, owners mentioned again
SECOND = "second"  # escalation to the configured channel or person
WAKE = "wake"  # an inquiry on hold until a time: it wakes then (bot.usecases.holds)
TIMER_KINDS = (FIRST, SECOND)  # the escalations: what an answer or a hold cancels

# Built once: every customer message or staff reply runs them.
_STATE = select(inquiry_state).where(inquiry_state.c.conversation_id == bindparam("conversation_id"))
_ANSWERED = (
    update(inquiry_state).where(inquiry_state.c.conversation_id == bindparam("state_of")).values(waiting_since=None)
)
_FIRST_RESPONSE = (
    update(inquiry_state)
    .where(inquiry_state.c.conversation_id == bindparam("state_of"), inquiry_state.c.first_response_at.is_(None))
    .values(
        first_response_at=bindparam("at", type_=inquiry_state.c.first_response_at.type),
        first_response_by=bindparam("by", type_=inquiry_state.c.first_response_by.type),
        first_response_seconds=bindparam("seconds", type_=inquiry_state.c.first_response_seconds.type),
    )
)
_CANCEL = (
    update(inquiry_timers)
    .where(
        inquiry_timers.c.conversation_id == bindparam("of_conversation"),
        inquiry_timers.c.status == PENDING,
        inquiry_timers.c.kind.in_(bindparam("kinds", expanding=True)),
    )
    .values(status=CANCELLED)
)
_WAITING_SINCE = (
    update(inquiry_state)
    .where(inquiry_state.c.conversation_id == bindparam("state_of"), inquiry_state.c.waiting_since.is_(None))
    .values(waiting_since=bindparam("since", type_=inquiry_state.c.waiting_since.type))
)


@dataclass(frozen=True)
class InquiryState:
    """How an inquiry was categorised and where its clocks stand."""

    conversation_id: int
    category_source: str
    category_set_by: str | None
    waiting_since: datetime | None
    first_response_due: datetime | None
    first_response_at: datetime | None
    first_response_by: str | None
    first_response_seconds: int | None
    resolved_at: datetime | None
    resolution_seconds: int | None
    after_hours_replied_at: datetime | None
    hold: str | None = None  # WAITING (on the customer) or ON_HOLD; None: active
    hold_until: datetime | None = None
    hold_since: datetime | None = None
    hold_set_by: str | None = None
    paused_seconds: int | None = None  # business seconds the first-response clock was paused by earlier holds


@dataclass(frozen=True)
class Timer:
    id: int
    conversation_id: int
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class Inquiry:
    """An open conversation as /inquiries lists it."""

    conversation: Conversation
    state: InquiryState | None


def _to_state(row: Any) -> InquiryState | None:
    m = row._mapping
    if m[inquiry_state.c.conversation_id] is None:
        return None
    return InquiryState(**{c.name: m[c] for c in inquiry_state.c})


class TimerStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # --- inquiry state ---------------------------------------------------------------------------------------

    async def create_state(
        self, conversation_id: int, *, source: str, set_by: str | None, waiting_since: datetime | None
    ) -> None:
        await self.conn.execute(
            inquiry_state.insert().values(
                conversation_id=conversation_id,
                category_source=source,
                category_set_by=set_by,
                waiting_since=waiting_since,
            )
        )

    async def state(self, conversation_id: int) -> InquiryState | None:
        row = (await self.conn.execute(_STATE, {"conversation_id": conversation_id})).first()
        if row is None:
            return None
        return InquiryState(**row._asdict())

    async def ensure_state(self, conversation_id: int) -> InquiryState:
        """The state row, created for a conversation opened before routing was tracked (older data)."""
        state = await self.state(conversation_id)
        if state is None:
            await self.create_state(conversation_id, source="none", set_by=None, waiting_since=None)
            state = await self.state(conversation_id)
            assert state is not None
        return state

    async def set_category(
        self, conversation_id: int, category: str | None, *, source: str, set_by: str, unless_source: str | None
    ) -> bool:
        """Change the category; ``unless_source`` keeps a choice of that source (a customer never overrides staff)."""
        # The conversation row first, as every use case that changes both rows takes them (receive, reply, close):
        # taken the other way round, a category change and a reply at the same moment would deadlock.
        await self.conn.execute(
            select(conversations.c.id).where(conversations.c.id == conversation_id).with_for_update(key_share=True)
        )
        condition = inquiry_state.c.conversation_id == conversation_id
        if unless_source is not None:
            condition = and_(condition, inquiry_state.c.category_source != unless_source)
        result = await self.conn.execute(
            update(inquiry_state).where(condition).values(category_source=source, category_set_by=set_by)
        )
        if result.rowcount != 1:
            return False
        await self.conn.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(category=category)
        )
        return True

    async def customer_waiting(self, conversation_id: int, since: datetime) -> None:
        """Start the waiting clock at the customer's message, unless it already runs."""
        await self.customers_waiting([conversation_id], since)

    async def customers_waiting(self, conversation_ids: Sequence[int], since: datetime) -> None:
        """The same for each of these inquiries, in one statement (a group of follow-ups)."""
        if conversation_ids:
            await self.conn.execute(_WAITING_SINCE, [{"state_of": c, "since": since} for c in conversation_ids])

    async def answered(self, state: InquiryState, *, by: str, at: datetime, business_seconds: float) -> bool:
        """Stop the waiting clock; True when this was the conversation's first response (recorded once).

        ``state`` is the row as this transaction read it, after the conversation's row lock (the reply's touch) that
        a customer's message takes too: a clock it shows stopped stays so until the commit, and a first response,
        once recorded, is never taken back, so neither needs a statement that would change nothing."""
        if state.waiting_since is not None:
            await self.conn.execute(_ANSWERED, {"state_of": state.conversation_id})
        if state.first_response_at is not None:
            return False
        result = await self.conn.execute(
            _FIRST_RESPONSE,
            {"state_of": state.conversation_id, "at": at, "by": by, "seconds": round(business_seconds)},
        )
        return result.rowcount == 1

    async def set_due(self, conversation_id: int, due: datetime | None) -> None:
        await self.conn.execute(
            update(inquiry_state)
            .where(inquiry_state.c.conversation_id == conversation_id)
            .values(first_response_due=due)
        )

    async def mark_after_hours_reply(self, conversation_id: int, now: datetime) -> bool:
        """True only the first time: the after-hours reply goes out once per conversation."""
        result = await self.conn.execute(
            update(inquiry_state)
            .where(inquiry_state.c.conversation_id == conversation_id, inquiry_state.c.after_hours_replied_at.is_(None))
            .values(after_hours_replied_at=now)
        )
        return result.rowcount == 1

    async def resolved(self, conversation_id: int, *, at: datetime | None, seconds: float | None) -> None:
        await self.conn.execute(
            update(inquiry_state)
            .where(inquiry_state.c.conversation_id == conversation_id)
            .values(
                resolved_at=at,
                resolution_seconds=None if seconds is None else round(seconds),
                waiting_since=None if at is not None else inquiry_state.c.waiting_since,
            )
        )

    async def set_holder(self, conversation_id: int, user: str, *, expected: str | None) -> bool:
        """Hand the inquiry to ``user`` only if ``expected`` still holds it (None: nobody), like a claim: of two
        people handing it on at once from the same holder, one changes it and the other finds it changed."""
        result = await self.conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.holder.is_not_distinct_from(expected))
            .values(holder=user)
        )
        return result.rowcount == 1

    # --- timers ----------------------------------------------------------------------------------------------

    async def schedule(self, conversation_id: int, kind: str, due: datetime | None) -> None:
        """Arm (or re-arm) a timer that has not fired yet; ``due`` None cancels it."""
        row = (
            await self.conn.execute(
                select(inquiry_timers.c.id, inquiry_timers.c.status).where(
                    inquiry_timers.c.conversation_id == conversation_id, inquiry_timers.c.kind == kind
                )
            )
        ).first()
        if row is None:
            if due is not None:
                await self.conn.execute(
                    inquiry_timers.insert().values(
                        conversation_id=conversation_id, kind=kind, due_at=due, status=PENDING
                    )
                )
            return
        if row.status == FIRED:
            return
        values: dict[str, Any] = {"status": CANCELLED} if due is None else {"status": PENDING, "due_at": due}
        await self.conn.execute(
            update(inquiry_timers)
            .where(inquiry_timers.c.id == row.id, inquiry_timers.c.status != FIRED)
            .values(**values)
        )

    async def cancel(self, conversation_id: int, kinds: Collection[str] = TIMER_KINDS) -> None:
        """Cancel the pending escalations (or ``kinds``): an answer or a hold does not cancel a wake-up."""
        await self.conn.execute(_CANCEL, {"of_conversation": conversation_id, "kinds": list(kinds)})

    async def timers_of(self, conversation_id: int) -> list[Any]:
        return list(
            (
                await self.conn.execute(
                    select(inquiry_timers)
                    .where(inquiry_timers.c.conversation_id == conversation_id)
                    .order_by(inquiry_timers.c.id)
                )
            ).all()
        )

    async def claim_due(self, now: datetime, owner: str, *, skip: Collection[int] = ()) -> Timer | None:
        """Take the earliest due timer for this process, or None.

        SKIP LOCKED lets several PostgreSQL processes take different timers at once; the conditional UPDATE is what
        makes a timer fire once (on SQLite, where FOR UPDATE is nothing, BEGIN IMMEDIATE serialises the writers).
        """
        query = (
            select(inquiry_timers)
            .where(inquiry_timers.c.status == PENDING, inquiry_timers.c.due_at <= now)
            .order_by(inquiry_timers.c.due_at, inquiry_timers.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if skip:
            query = query.where(inquiry_timers.c.id.not_in(list(skip)))
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        result = await self.conn.execute(
            update(inquiry_timers)
            .where(inquiry_timers.c.id == row.id, inquiry_timers.c.status == PENDING)
            .values(status=FIRED, fired_at=now, fired_by=owner)
        )
        if result.rowcount != 1:
            return None
        return Timer(id=row.id, conversation_id=row.conversation_id, kind=row.kind, due_at=row.due_at)

    async def next_due(self) -> datetime | None:
        return (
            await self.conn.execute(
                select(inquiry_timers.c.due_at)
                .where(inquiry_timers.c.status == PENDING)
                .order_by(inquiry_timers.c.due_at)
                .limit(1)
            )
        ).scalar_one_or_none()

    # --- threads a conversation moved away from --------------------------------------------------------------

    async def add_alias(self, conversation_id: int, slack_channel: str, thread_ts: str, now: datetime) -> None:
        await self.conn.execute(
            delete(thread_aliases).where(
                thread_aliases.c.slack_channel == slack_channel, thread_aliases.c.thread_ts == thread_ts
            )
        )
        await self.conn.execute(
            thread_aliases.insert().values(
                slack_channel=slack_channel, thread_ts=thread_ts, conversation_id=conversation_id, created_at=now
            )
        )

    async def move(self, conversation_id: int, slack_channel: str, thread_ts: str) -> None:
        """Point the conversation at its new thread (the old one is kept as an alias by the caller)."""
        await self.conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(slack_channel=slack_channel, thread_ts=thread_ts)
        )

    async def conversation_by_alias(self, slack_channel: str, thread_ts: str) -> Conversation | None:
        row = (
            await self.conn.execute(
                conversation_select()
                .join(thread_aliases, thread_aliases.c.conversation_id == conversations.c.id)
                .where(thread_aliases.c.slack_channel == slack_channel, thread_aliases.c.thread_ts == thread_ts)
            )
        ).first()
        return to_conversation(row) if row else None

    async def latest_alias(self, conversation_id: int) -> tuple[str, str] | None:
        """Where the conversation's thread was before its last move."""
        row = (
            await self.conn.execute(
                select(thread_aliases.c.slack_channel, thread_aliases.c.thread_ts)
                .where(thread_aliases.c.conversation_id == conversation_id)
                .order_by(thread_aliases.c.created_at.desc())
                .limit(1)
            )
        ).first()
        return (row.slack_channel, row.thread_ts) if row else None

    # --- listing ---------------------------------------------------------------------------------------------

    async def open_categories(self) -> set[str]:
        """The categories open conversations carry, retired ones included."""
        rows = await self.conn.execute(
            select(conversations.c.category)
            .where(conversations.c.status == Status.OPEN, conversations.c.category.is_not(None))
            .distinct()
        )
        return {category for (category,) in rows.all()}

    async def open_inquiries(
        self,
        *,
        now: datetime,
        holder: str | None = None,
        unclaimed: bool = False,
        categories: Collection[str] | None = None,
        overdue: bool = False,
        mine: tuple[str, Collection[str]] | None = None,
        limit: int = 200,
        tags: Collection[str] = (),
    ) -> list[Inquiry]:
        """Open inquiries matching every filter given; ``mine`` is (user, categories they own); ``tags``: each of
        them set on the conversation."""
        query = (
            conversation_select()
            .add_columns(*inquiry_state.c)
            .outerjoin(inquiry_state, inquiry_state.c.conversation_id == conversations.c.id)
            .where(conversations.c.status == Status.OPEN)
        )
        if holder is not None:
            query = query.where(conversations.c.holder == holder)
        if unclaimed:
            query = query.where(conversations.c.holder.is_(None))
        if categories is not None:
            query = query.where(conversations.c.category.in_(list(categories)))
        if overdue:
            query = query.where(inquiry_state.c.first_response_at.is_(None), inquiry_state.c.first_response_due <= now)
        if mine is not None:
            user, owned = mine
            query = query.where(
                or_(
                    conversations.c.holder == user,
                    and_(conversations.c.holder.is_(None), conversations.c.category.in_(list(owned))),
                )
            )
        for tag in tags:
            query = query.where(exists().where(conversation_tags.c.conversation_id == conversations.c.id,
                                               conversation_tags.c.tag == tag))  # fmt: skip
        rows = (await self.conn.execute(query.order_by(conversations.c.opened_at).limit(limit))).all()
        return [Inquiry(conversation=to_conversation(r), state=_to_state(r)) for r in rows]
