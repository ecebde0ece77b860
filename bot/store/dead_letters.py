"""Queries of the dead letters: updates kept whole because they could not be read or stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import dead_letters


class DeadLetters:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def keep(
        self, *, channel: str, key: str, raw: str, error: str, address: str | None, who: str | None, now: datetime
    ) -> tuple[int, bool]:
        """Keep an update; returns its number and whether it is new (the same update again is kept once)."""
        dialect = sqlite if self.conn.dialect.name == "sqlite" else postgresql
        stmt = (
            dialect.insert(dead_letters)
            .values(
                channel=channel,
                key=key[:200],
                raw=raw,
                error=error[:4000],
                address=address[:128] if address else None,
                who=who[:256] if who else None,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(dead_letters.c.id)
        )
        number = (await self.conn.execute(stmt)).scalar_one_or_none()
        if number is not None:
            return number, True
        existing = await self.conn.execute(select(dead_letters.c.id).where(dead_letters.c.key == key[:200]))
        return existing.scalar_one(), False

    async def all(self) -> list[Any]:
        return list((await self.conn.execute(select(dead_letters).order_by(dead_letters.c.id))).all())
