"""Queries of the App Home: one person's open inquiries and the ones needing attention in their categories, a page
at a time with the total (a home stays within Block Kit's 100 blocks with a thousand open inquiries), today's team
figures counted in SQL, and the conversation events since a cursor (what makes a home stale)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Status
from bot.store.conversation_rows import conversation_select, to_conversation
from bot.store.routing_schema import inquiry_state
from bot.store.schema import conversations, events
from bot.store.timers import Inquiry, _to_state


@dataclass(frozen=True)
class TeamFigures:
    opened: int  # conversations opened today
    closed: int  # closed today
    waiting: int  # open now, the customer waiting for an answer (not on hold)
    answered: int  # first answers given today
    answered_in_time: int  # of those, within the category's first-response target


@dataclass(frozen=True)
class ConversationEvent:
    id: int
    conversation_id: int | None
    kind: str
    actor: str
    detail: dict[str, Any]
    holder: str | None
    category: str | None


def _overdue(now: datetime) -> Any:
    return and_(inquiry_state.c.first_response_at.is_(None), inquiry_state.c.first_response_due <= now)


def _inquiries() -> Any:
    return (
        conversation_select()
        .add_columns(*inquiry_state.c)
        .outerjoin(inquiry_state, inquiry_state.c.conversation_id == conversations.c.id)
        .where(conversations.c.status == Status.OPEN)
    )


async def _paged(conn: AsyncConnection, query: Any, order: list[Any], offset: int, limit: int) -> tuple[list, int]:
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await conn.execute(query.order_by(*order).offset(offset).limit(limit))).all()
    return [Inquiry(conversation=to_conversation(r), state=_to_state(r)) for r in rows], int(total)


def _oldest_wait_first() -> list[Any]:
    """Customers waiting longest first, then those not waiting (answered, on hold) by their last message."""
    return [
        inquiry_state.c.waiting_since.is_(None), inquiry_state.c.waiting_since, conversations.c.last_message_at,
        conversations.c.id,
    ]  # fmt: skip


async def my_open(conn: AsyncConnection, user: str, offset: int, limit: int) -> tuple[list[Inquiry], int]:
    """The open inquiries ``user`` holds, oldest wait first."""
    query = _inquiries().where(conversations.c.holder == user)
    return await _paged(conn, query, _oldest_wait_first(), offset, limit)


async def needing_attention(
    conn: AsyncConnection, categories: Collection[str], now: datetime, offset: int, limit: int
) -> tuple[list[Inquiry], int]:
    """Open inquiries in ``categories`` nobody holds or whose first answer is overdue: overdue first."""
    if not categories:
        return [], 0
    query = _inquiries().where(
        conversations.c.category.in_(list(categories)), or_(conversations.c.holder.is_(None), _overdue(now))
    )
    overdue_first = _overdue(now).is_not(True)
    return await _paged(conn, query, [overdue_first, *_oldest_wait_first()], offset, limit)


async def team_figures(conn: AsyncConnection, since: datetime, now: datetime) -> TeamFigures:
    """Today's figures (``since`` is the start of the team's day) in three queries."""
    c, s = conversations.c, inquiry_state.c
    opened = func.count().filter(c.opened_at >= since)
    closed = func.count().filter(and_(c.status == Status.CLOSED, c.closed_at >= since))
    counts = (await conn.execute(select(opened, closed).select_from(conversations))).one()
    waiting = (
        await conn.execute(
            select(func.count())
            .select_from(conversations.join(inquiry_state, s.conversation_id == c.id))
            .where(c.status == Status.OPEN, s.waiting_since.is_not(None), s.hold.is_(None))
        )
    ).scalar_one()
    in_time = and_(s.first_response_due.is_not(None), s.first_response_at <= s.first_response_due)
    answers = (
        await conn.execute(
            select(func.count(), func.count().filter(in_time))
            .select_from(inquiry_state)
            .where(s.first_response_at >= since, s.first_response_at <= now)
        )
    ).one()
    return TeamFigures(int(counts[0]), int(counts[1]), int(waiting), int(answers[0]), int(answers[1]))


async def last_event_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(events.c.id), 0)))).scalar_one())


async def events_after(
    conn: AsyncConnection, cursor: int, kinds: Collection[str], limit: int
) -> list[ConversationEvent]:
    """Conversation events of these kinds after ``cursor``, oldest first, with the conversation's holder and
    category as they are now."""
    rows = (
        await conn.execute(
            select(events, conversations.c.holder, conversations.c.category)
            .outerjoin(conversations, conversations.c.id == events.c.conversation_id)
            .where(events.c.id > cursor, events.c.kind.in_(list(kinds)))
            .order_by(events.c.id)
            .limit(limit)
        )
    ).all()
    return [
        ConversationEvent(r.id, r.conversation_id, r.kind, r.actor, dict(r.detail or {}), r.holder, r.category)
        for r in rows
    ]
