"""Queries of satisfaction surveys: one row per closed conversation (``surveys``), moved along by conditional
UPDATEs so a redelivered tap, a second press or two processes at once change it once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import conversations
from bot.store.toolkit_schema import surveys

DUE = "due"
ASKED = "asked"
RATED = "rated"
COMMENTED = "commented"
SKIPPED = "skipped"
ANSWERED = (RATED, COMMENTED)


@dataclass(frozen=True)
class Survey:
    id: int
    conversation_id: int
    customer_id: int
    status: str
    due_at: datetime
    asked_at: datetime | None
    rating: int | None
    rated_at: datetime | None
    comment: str | None
    commented_at: datetime | None


class SurveyStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def of(self, conversation_id: int) -> Survey | None:
        row = (await self.conn.execute(select(surveys).where(surveys.c.conversation_id == conversation_id))).first()
        return Survey(**row._asdict()) if row else None

    async def plan(self, conversation_id: int, customer_id: int, *, status: str, due_at: datetime) -> bool:
        """Plan (or plan again) the question of a conversation never asked; False when it was asked already."""
        existing = await self.of(conversation_id)
        if existing is None:
            await self.conn.execute(
                surveys.insert().values(
                    conversation_id=conversation_id, customer_id=customer_id, status=status, due_at=due_at
                )
            )
            return True
        result = await self.conn.execute(
            update(surveys)
            .where(surveys.c.id == existing.id, surveys.c.status.in_([DUE, SKIPPED]))
            .values(status=status, due_at=due_at)
        )
        return result.rowcount == 1

    async def skip(self, conversation_id: int) -> bool:
        """A planned question that will not be asked (the conversation reopened, a cooldown, no buttons)."""
        result = await self.conn.execute(
            update(surveys)
            .where(surveys.c.conversation_id == conversation_id, surveys.c.status == DUE)
            .values(status=SKIPPED)
        )
        return result.rowcount == 1

    async def asked_since(self, customer_id: int, since: datetime) -> bool:
        """Whether the customer was asked for a rating at or after ``since`` (the cooldown)."""
        found = await self.conn.execute(
            select(func.count()).select_from(surveys).where(surveys.c.customer_id == customer_id,
                                                            surveys.c.asked_at >= since)
        )  # fmt: skip
        return bool(found.scalar_one())

    async def asked(self, conversation_id: int, now: datetime) -> bool:
        result = await self.conn.execute(
            update(surveys)
            .where(surveys.c.conversation_id == conversation_id, surveys.c.status == DUE)
            .values(status=ASKED, asked_at=now)
        )
        return result.rowcount == 1

    async def rate(self, conversation_id: int, rating: int, now: datetime) -> bool:
        """Record the rating: only the first counts (a second press finds it rated and changes nothing)."""
        result = await self.conn.execute(
            update(surveys)
            .where(surveys.c.conversation_id == conversation_id, surveys.c.status == ASKED)
            .values(status=RATED, rating=rating, rated_at=now)
        )
        return result.rowcount == 1

    async def comment(self, conversation_id: int, text: str, now: datetime) -> bool:
        result = await self.conn.execute(
            update(surveys)
            .where(surveys.c.conversation_id == conversation_id, surveys.c.status == RATED)
            .values(status=COMMENTED, comment=text, commented_at=now)
        )
        return result.rowcount == 1

    async def awaiting_comment(self, identity_id: int, since: datetime) -> Survey | None:
        """The survey of the customer's latest conversation when it was rated at or after ``since`` and has no
        comment yet: their next message is that comment."""
        latest = (
            select(func.max(conversations.c.id)).where(conversations.c.identity_id == identity_id).scalar_subquery()
        )
        row = (
            await self.conn.execute(
                select(surveys).where(
                    surveys.c.conversation_id == latest, surveys.c.status == RATED, surveys.c.rated_at >= since
                )
            )
        ).first()
        return Survey(**row._asdict()) if row else None

    async def forget(self, conversation_id: int) -> None:
        """Erasure: the customer's words go, and a question not asked yet is never asked; the rating, a number,
        stays for the reports."""
        await self.skip(conversation_id)
        await self.conn.execute(
            update(surveys).where(surveys.c.conversation_id == conversation_id).values(comment=None)
        )
