"""Who customers are on each channel: an identity per (channel, external id), created on first contact, its names
and language kept current. A part of the archive (``Archive`` inherits it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Sender
from bot.store.schema import customers, identities

_IDENTITY_LOCKED = (  # built once: every customer message runs it
    select(
        identities.c.id,
        identities.c.customer_id,
        identities.c.display_name,
        identities.c.username,
        identities.c.verified,
        identities.c.email,
        identities.c.language_code,
    )
    .where(identities.c.channel == bindparam("channel"), identities.c.external_id == bindparam("external_id"))
    # Locked until commit: a merge moving this identity to another customer waits for us, or we for it,
    # so a message never opens a conversation under a customer that was just merged away. FOR NO KEY
    # UPDATE, not FOR UPDATE: it conflicts with the merge's UPDATE but not with the FOR KEY SHARE that
    # foreign-key checks take on this row (a staff reply's second update of the conversation checks
    # conversations.identity_id), so a reply and a message of the same customer never deadlock.
    .with_for_update(key_share=True)
)


def unchanged(known: Any, sender: Sender) -> bool:
    """Whether an identity as stored (a row with its names, verification, email and language) already says what
    ``sender`` says, so it needs no update; a channel that stops giving the language keeps the stored one."""
    language_code = sender.language_code or known.language_code
    now_reads = (sender.display_name, sender.username, sender.verified, sender.email, language_code)
    return now_reads == (known.display_name, known.username, known.verified, known.email, known.language_code)


class IdentityRecords:
    conn: AsyncConnection

    async def upsert_identity(self, channel: str, sender: Sender, now: datetime) -> tuple[int, int]:
        """The (customer id, identity id) of a sender, created on first contact, names kept current."""
        parameters = {"channel": channel, "external_id": sender.external_id}
        row = (await self.conn.execute(_IDENTITY_LOCKED, parameters)).first()
        if row is not None:
            language_code = sender.language_code or row.language_code  # a channel that stops saying keeps it
            if not unchanged(row, sender):
                await self.conn.execute(
                    update(identities)
                    .where(identities.c.id == row.id)
                    .values(
                        display_name=sender.display_name, username=sender.username, verified=sender.verified,
                        email=sender.email, language_code=language_code,
                    )
                )  # fmt: skip
            return row.customer_id, row.id
        customer_id = (
            await self.conn.execute(
                customers.insert()
                .values(display_name=sender.display_name, username=sender.username, created_at=now)
                .returning(customers.c.id)
            )
        ).scalar_one()
        identity_id = (
            await self.conn.execute(
                identities.insert()
                .values(
                    customer_id=customer_id,
                    channel=channel,
                    external_id=sender.external_id,
                    display_name=sender.display_name,
                    username=sender.username,
                    language_code=sender.language_code,
                    verified=sender.verified,
                    email=sender.email,
                    created_at=now,
                )
                .returning(identities.c.id)
            )
        ).scalar_one()
        return customer_id, identity_id

    async def identity_known(self, channel: str, external_id: str) -> bool:
        """Whether this channel has heard from this sender before."""
        found = await self.conn.execute(
            select(identities.c.id).where(identities.c.channel == channel, identities.c.external_id == external_id)
        )
        return found.first() is not None
