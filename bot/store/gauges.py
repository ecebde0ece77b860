"""Cheap reads of what is waiting, for /metrics, /healthz and the alerts built on them.

Both queries touch only unfinished rows: the queue by its index of unfinished rows, the open conversations by
their status; done jobs and closed conversations, however many, are not read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.outbox import UNFINISHED_SQL
from bot.store.routing_schema import inquiry_state
from bot.store.schema import conversations, outbox


async def unfinished_jobs(conn: AsyncConnection) -> list[tuple[str, int, datetime]]:
    """(target, jobs not yet done, when the oldest of them was queued), for every target with any."""
    rows = await conn.execute(
        select(outbox.c.target, func.count(), func.min(outbox.c.created_at))
        .where(UNFINISHED_SQL)
        .group_by(outbox.c.target)
    )
    return [(target, int(count), oldest) for target, count, oldest in rows.all()]


async def oldest_unfinished_job(conn: AsyncConnection) -> datetime | None:
    """When the oldest job not yet done was queued (None: the queue is empty)."""
    return (
        await conn.execute(select(func.min(outbox.c.created_at)).where(UNFINISHED_SQL))
    ).scalar_one_or_none()


async def open_conversations(conn: AsyncConnection, now: datetime) -> tuple[dict[str, int], int]:
    """Open conversations by claimed / unclaimed, and how many of them are past their first-response target."""
    held = conversations.c.holder.is_not(None)
    counts = await conn.execute(
        select(held.label("held"), func.count()).where(conversations.c.status == "open").group_by(held)
    )
    by_status = {"claimed" if is_held else "unclaimed": int(n) for is_held, n in counts.all()}
    overdue = (
        await conn.execute(
            select(func.count())
            .select_from(conversations.join(inquiry_state, inquiry_state.c.conversation_id == conversations.c.id))
            .where(
                conversations.c.status == "open",
                inquiry_state.c.first_response_at.is_(None),
                inquiry_state.c.first_response_due <= now,
            )
        )
    ).scalar_one()
    return by_status, int(overdue)
