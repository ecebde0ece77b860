"""Queries of the weekly digest: a week is claimed by inserting its row, so of several processes (and of a process
started again) exactly one posts it; the insert commits with the job that posts it, or not at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.toolkit_schema import digest_runs


class DigestStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claimed(self, period: str) -> bool:
        found = await self.conn.execute(select(digest_runs.c.period).where(digest_runs.c.period == period))
        return found.first() is not None

    async def claim(self, period: str, owner: str, now: datetime) -> bool:
        """Take the week for this process; False when another already has (its row is there, or lands first)."""
        if await self.claimed(period):
            return False
        try:
            async with self.conn.begin_nested():  # a lost race undoes only the insert
                await self.conn.execute(digest_runs.insert().values(period=period, claimed_by=owner, claimed_at=now))
        except IntegrityError:
            return False
        return True

    async def posted(self, period: str, now: datetime) -> None:
        await self.conn.execute(update(digest_runs).where(digest_runs.c.period == period).values(posted_at=now))

    async def posted_at(self, period: str) -> datetime | None:
        row = (await self.conn.execute(select(digest_runs.c.posted_at).where(digest_runs.c.period == period))).first()
        return None if row is None else row.posted_at
