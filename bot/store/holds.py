"""Queries of inquiries that wait: on the customer, or on hold until a time (columns of ``inquiry_state``, and the
wake-up timer among ``inquiry_timers``, which fires once across processes like the escalations do)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.routing_schema import inquiry_state, inquiry_timers
from bot.store.timers import CANCELLED, PENDING, WAKE

WAITING = "waiting"  # waiting on the customer: wakes when they write
ON_HOLD = "on_hold"  # on hold until a time: wakes then, or when the customer writes
HOLDS = (WAITING, ON_HOLD)


class HoldStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def hold(
        self, conversation_id: int, kind: str, *, until: datetime | None, by: str, now: datetime
    ) -> datetime | None:
        """Put the inquiry on ``kind`` of hold; returns since when it has been held (an earlier hold that goes on
        keeps its start, so the paused time is counted once)."""
        since = (
            await self.conn.execute(
                select(inquiry_state.c.hold_since).where(inquiry_state.c.conversation_id == conversation_id)
            )
        ).scalar_one_or_none()
        await self.conn.execute(
            update(inquiry_state)
            .where(inquiry_state.c.conversation_id == conversation_id)
            .values(hold=kind, hold_until=until, hold_since=since or now, hold_set_by=by, waiting_since=None)
        )
        return since or now

    async def release(self, conversation_id: int, paused_seconds: float) -> bool:
        """End the hold, adding the business time it paused the clock; False when it was not held."""
        result = await self.conn.execute(
            update(inquiry_state)
            .where(inquiry_state.c.conversation_id == conversation_id, inquiry_state.c.hold.is_not(None))
            .values(
                hold=None,
                hold_until=None,
                hold_since=None,
                paused_seconds=func.coalesce(inquiry_state.c.paused_seconds, 0) + round(paused_seconds),
            )
        )
        return result.rowcount == 1

    async def wake_at(self, conversation_id: int, due: datetime | None) -> None:
        """Arm the inquiry's wake-up for ``due`` (a fired one is armed again), or cancel it (None)."""
        row = (
            await self.conn.execute(
                select(inquiry_timers.c.id).where(
                    inquiry_timers.c.conversation_id == conversation_id, inquiry_timers.c.kind == WAKE
                )
            )
        ).first()
        if row is None:
            if due is not None:
                timer = {"conversation_id": conversation_id, "kind": WAKE, "due_at": due, "status": PENDING}
                await self.conn.execute(inquiry_timers.insert().values(**timer))
            return
        values = {"status": CANCELLED} if due is None else {"status": PENDING, "due_at": due, "fired_at": None}
        await self.conn.execute(update(inquiry_timers).where(inquiry_timers.c.id == row.id).values(**values))
