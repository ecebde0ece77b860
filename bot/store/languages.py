"""Which language each customer reads: what their channel reports, and what staff chose for them."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import identities


class LanguageStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def of(self, identity_id: int) -> tuple[str | None, str | None]:
        """(what the channel reports, what staff chose) of an identity's language."""
        row = (
            await self.conn.execute(
                select(identities.c.language_code, identities.c.language).where(identities.c.id == identity_id)
            )
        ).first()
        return (row.language_code, row.language) if row else (None, None)

    async def of_sender(self, channel: str, external_id: str) -> tuple[str | None, str | None]:
        """The same for a sender who may not be known yet (a first /start): (None, None) then."""
        row = (
            await self.conn.execute(
                select(identities.c.language_code, identities.c.language).where(
                    identities.c.channel == channel, identities.c.external_id == external_id
                )
            )
        ).first()
        return (row.language_code, row.language) if row else (None, None)

    async def choose(self, identity_id: int, language: str | None) -> bool:
        """Staff chose the language an identity reads; False when it already was that."""
        result = await self.conn.execute(
            update(identities)
            .where(identities.c.id == identity_id, identities.c.language.is_distinct_from(language))
            .values(language=language)
        )
        return result.rowcount == 1
