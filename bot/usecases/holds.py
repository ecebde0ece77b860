"""Inquiries that wait: "waiting on the customer" and "on hold until <time>", set from the thread's first message.

While an inquiry waits, its first-response clock is paused: the escalation timers are cancelled, and the business
time spent waiting is added to its target when it wakes. It wakes when the customer writes, when the time comes (a
timer that fires once across processes, like the escalations) or when staff set it active again; the holder (else
the category's owners) is mentioned when it wakes by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.config import BotConfig
from bot.domain import notices
from bot.domain.hours import business_seconds
from bot.domain.models import Conversation, EventKind, Status
from bot.store.database import Database, Transaction
from bot.store.holds import ON_HOLD, WAITING
from bot.store.timers import InquiryState, Timer
from bot.usecases import jobs

ACTIVE = "active"
HOLD_PREFIX = "hold:"  # "hold:<minutes>"
MAX_HOLD_MINUTES = 60 * 24 * 30

Rearm = Callable[[Transaction, int], Awaitable[None]]


def parse_status(value: str) -> tuple[str | None, int | None] | None:
    """(hold kind or None for active, minutes on hold) from a status menu's value; None for anything else."""
    if value == ACTIVE:
        return None, None
    if value == WAITING:
        return WAITING, None
    minutes = value.removeprefix(HOLD_PREFIX)
    if value.startswith(HOLD_PREFIX) and minutes.isdigit() and 0 < int(minutes) <= MAX_HOLD_MINUTES:
        return ON_HOLD, int(minutes)
    return None


class Holds:
    def __init__(self, db: Database, config: BotConfig, *, clock: Callable[[], datetime], rearm: Rearm) -> None:
        """``rearm`` recomputes the inquiry's first-response due time and escalations (bot.usecases.triage)."""
        self.db = db
        self.config = config
        self.clock = clock
        self.rearm = rearm

    async def set_status(self, conversation_id: int, value: str, user: str) -> str:
        """Staff chose a status; returns set, same, closed, missing or unknown."""
        parsed = parse_status(value)
        if parsed is None:
            return "unknown"
        kind, minutes = parsed
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                return "missing"
            if conversation.status != Status.OPEN:
                return "closed"
            state = await tx.timers.ensure_state(conversation_id)
            now = self.clock()
            if kind is None:
                if state.hold is None:
                    return "same"
                await self.release(tx, conversation, state, now, by=user, reason=None)
                return "set"
            until = now + timedelta(minutes=minutes) if minutes else None
            if state.hold == kind and until is None:
                return "same"
            await tx.holds.hold(conversation_id, kind, until=until, by=user, now=now)
            await tx.holds.wake_at(conversation_id, until)
            await tx.archive.add_event(
                conversation_id, EventKind.HOLD_SET, user, now, hold=kind, until=until.isoformat() if until else None
            )
            await self.rearm(tx, conversation_id)  # paused: no due time, no escalation while it waits
            await jobs.refresh_header(tx, conversation)
            return "set"

    async def release(
        self, tx: Transaction, conversation: Conversation, state: InquiryState, now: datetime, *, by: str,
        reason: str | None,
    ) -> None:  # fmt: skip
        """End the wait: the paused business time is added to the target, the clock runs again; ``reason``
        (customer, time) says it woke by itself, and then the holder is told."""
        hours = self.config.hours_for(conversation.category)
        paused = business_seconds(hours, state.hold_since, now) if state.hold_since else 0.0
        if not await tx.holds.release(conversation.id, paused):
            return
        await tx.holds.wake_at(conversation.id, None)
        await tx.archive.add_event(conversation.id, EventKind.HOLD_ENDED, by, now, hold=state.hold, reason=reason)
        await self.rearm(tx, conversation.id)
        await jobs.refresh_header(tx, conversation)
        if reason is not None:
            conf = self.config.categories.get(conversation.category) if conversation.category else None
            people = [conversation.holder] if conversation.holder else list(conf.owners if conf else ())
            await jobs.post_notice(tx, conversation, notices.hold_ended(reason=reason, hold=state.hold, people=people))

    async def customer_wrote(
        self, tx: Transaction, conversation_id: int, now: datetime, *, state: InquiryState | None = None
    ) -> None:
        """A customer writing wakes an inquiry that waited on them, or was on hold; ``state``: its state as the
        caller just read it in this transaction (one read fewer)."""
        state = state or await tx.timers.state(conversation_id)
        if state is None or state.hold is None:
            return
        conversation = await tx.archive.conversation(conversation_id)
        if conversation is not None:
            await self.release(tx, conversation, state, now, by="customer", reason="customer")

    async def fire(self, tx: Transaction, timer: Timer, now: datetime) -> None:
        """The time an inquiry was on hold until has come (in the transaction that claimed the timer)."""
        state = await tx.timers.state(timer.conversation_id)
        conversation = await tx.archive.conversation(timer.conversation_id)
        if state is None or state.hold != ON_HOLD or conversation is None or conversation.status != Status.OPEN:
            return  # woken or closed since
        await self.release(tx, conversation, state, now, by="timer", reason="time")
