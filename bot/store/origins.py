"""Where customers came from: kept when their channel says so, shown on the next conversation that opens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.activity import VIEWED
from bot.store.customer_schema import activities
from bot.store.schema import identities, origins

VIEWS_WINDOW = timedelta(days=1)  # the views a thread's first message sums up: those of the day before it opened
VIEWS_SHOWN = 50


class OriginStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def remember(self, identity_id: int, origin: str, source_key: str, now: datetime) -> bool:
        """Archive an origin, waiting for the identity's next conversation; False for a redelivered update."""
        dialect = sqlite if self.conn.dialect.name == "sqlite" else postgresql
        stmt = (
            dialect.insert(origins)
            .values(identity_id=identity_id, origin=origin, source_key=source_key, created_at=now)
            .on_conflict_do_nothing(index_elements=["source_key"])
            .returning(origins.c.id)
        )
        return (await self.conn.execute(stmt)).scalar_one_or_none() is not None

    async def attach_waiting(self, identity_id: int, conversation_id: int) -> None:
        """The identity's origins no conversation has shown yet now belong to this (just opened) one."""
        await self.conn.execute(
            update(origins)
            .where(origins.c.identity_id == identity_id, origins.c.conversation_id.is_(None))
            .values(conversation_id=conversation_id)
        )

    async def shown_on(self, conversation_id: int) -> str | None:
        """The latest origin a conversation took when it opened; None when it took none."""
        return (
            await self.conn.execute(
                select(origins.c.origin)
                .where(origins.c.conversation_id == conversation_id)
                .order_by(origins.c.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def views_before(self, customer_id: int, until: datetime) -> list[str]:
        """The labels of what the customer viewed in the day before ``until``, oldest first (the latest
        ``VIEWS_SHOWN``): what a thread's first message sums up."""
        rows = (
            await self.conn.execute(
                select(activities.c.text)
                .where(
                    activities.c.customer_id == customer_id,
                    activities.c.kind == VIEWED,
                    activities.c.created_at <= until,
                    activities.c.created_at > until - VIEWS_WINDOW,
                )
                .order_by(activities.c.id.desc())
                .limit(VIEWS_SHOWN)
            )
        ).scalars()
        return [text.split("\n", 1)[0] for text in reversed(list(rows)) if text]

    async def forget(self, customer_id: int) -> None:
        """Erase what a customer's origins said (a referral code may name them); the rows and times stay. Merged
        customers' identities belong to the one they were merged into, so theirs go too."""
        own = select(identities.c.id).where(identities.c.customer_id == customer_id)
        await self.conn.execute(
            update(origins)
            .where(origins.c.identity_id.in_(own))
            .values(origin="", source_key=literal("erased:") + cast(origins.c.id, String))
        )
