"""Queries of the channels that show customers their conversation themselves (``Transaction.channel_records``):
read a customer's conversation back, record what was delivered, keep files (bot.store.channel_schema)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.connectors.base import Sent, StoredFile, Transcript, Written
from bot.domain.models import Attachment, Direction
from bot.store.channel_schema import channel_files, channel_parts
from bot.store.schema import conversations, identities, messages

LOOKBACK = timedelta(seconds=10)
"""Entries stored this long before a cursor are read again: on PostgreSQL a row with a lower id can commit after
one with a higher id, and a reader that saw only the higher one must not miss the other for good."""

_FILE_INFO = (
    channel_files.c.key,
    channel_files.c.address,
    channel_files.c.name,
    channel_files.c.mime_type,
    channel_files.c.size,
    channel_files.c.created_at,
)


class ChannelRecords:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def _insert(self, table: Any) -> Any:
        return (sqlite if self.conn.dialect.name == "sqlite" else postgresql).insert(table)

    async def _identity(self, channel: str, address: str) -> int | None:
        return (
            await self.conn.execute(
                select(identities.c.id).where(identities.c.channel == channel, identities.c.external_id == address)
            )
        ).scalar_one_or_none()

    async def transcript(
        self, channel: str, address: str, *, after_written: int, after_sent: int, limit: int
    ) -> Transcript:
        identity_id = await self._identity(channel, address)
        if identity_id is None:
            return Transcript(written=(), sent=(), open=None, known=False)
        own = select(conversations.c.id).where(conversations.c.identity_id == identity_id)
        newer = await self._newer(messages.c.id, messages.c.created_at, after_written)
        rows = (
            await self.conn.execute(
                select(messages.c.id, messages.c.text, messages.c.external_message_ids, messages.c.attachments,
                       messages.c.created_at)
                .where(
                    messages.c.conversation_id.in_(own),
                    messages.c.direction == Direction.INBOUND,
                    newer,
                )
                .order_by(messages.c.id)
                .limit(limit + 1)
            )
        ).all()  # fmt: skip
        written = tuple(
            Written(
                id=r.id, text=r.text, client_id=str((r.external_message_ids or [""])[0]),
                attachments=tuple(Attachment.from_json(a) for a in r.attachments or []), at=r.created_at,
            )
            for r in rows[:limit]
        )  # fmt: skip
        mine = (channel_parts.c.channel == channel, channel_parts.c.address == address)
        sent_newer = await self._newer(channel_parts.c.id, channel_parts.c.created_at, after_sent, *mine)
        part_rows = (
            await self.conn.execute(
                select(channel_parts)
                .where(*mine, sent_newer)
                .order_by(channel_parts.c.id)
                .limit(limit + 1)
            )
        ).all()
        sent = tuple(
            Sent(id=r.id, message_id=r.message_id, part=r.part, payload=dict(r.payload or {}), at=r.created_at)
            for r in part_rows[:limit]
        )
        status = (
            await self.conn.execute(
                select(conversations.c.status)
                .where(conversations.c.identity_id == identity_id)
                .order_by(conversations.c.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return Transcript(
            written=written, sent=sent, open=None if status is None else status == "open", known=True,
            more=len(rows) > limit or len(part_rows) > limit,
        )  # fmt: skip

    async def _newer(self, id_column: Any, at_column: Any, after: int, *where: Any) -> Any:
        """Rows after the cursor, and those stored in the ``LOOKBACK`` before the cursor's own row."""
        if not after:
            return true()
        at = (
            await self.conn.execute(select(at_column).where(*where, id_column == after))
        ).scalar_one_or_none()
        return id_column > after if at is None else or_(id_column > after, at_column >= at - LOOKBACK)

    async def delivered(
        self, channel: str, address: str, *, message_id: int | None, part: int, payload: Mapping[str, Any],
        now: datetime,
    ) -> int:  # fmt: skip
        if await self._identity(channel, address) is None:
            raise LookupError(f"no {channel} customer {address}")
        stmt = self._insert(channel_parts).values(
            channel=channel, address=address, message_id=message_id, part=part, payload=dict(payload), created_at=now
        )
        if message_id is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=["message_id", "part"])
        found = (await self.conn.execute(stmt.returning(channel_parts.c.id))).scalar_one_or_none()
        if found is not None:
            return int(found)
        return int(
            (
                await self.conn.execute(
                    select(channel_parts.c.id).where(
                        channel_parts.c.message_id == message_id, channel_parts.c.part == part
                    )
                )
            ).scalar_one()
        )

    async def keep_file(
        self, channel: str, address: str, *, key: str, name: str, mime_type: str | None, content: bytes, now: datetime
    ) -> StoredFile:
        stmt = self._insert(channel_files).values(
            key=key, channel=channel, address=address, name=name, mime_type=mime_type, size=len(content),
            content=content, created_at=now,
        )  # fmt: skip
        await self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        kept = await self.files(channel, [key])
        return kept[key]

    async def files(self, channel: str, keys: Sequence[str]) -> dict[str, StoredFile]:
        if not keys:
            return {}
        rows = await self.conn.execute(
            select(*_FILE_INFO).where(channel_files.c.channel == channel, channel_files.c.key.in_(sorted(set(keys))))
        )
        return {r.key: StoredFile(r.key, r.address, r.name, r.mime_type, r.size, r.created_at) for r in rows}

    async def file(self, channel: str, key: str) -> StoredFile | None:
        r = (
            await self.conn.execute(
                select(*_FILE_INFO, channel_files.c.content).where(
                    channel_files.c.channel == channel, channel_files.c.key == key
                )
            )
        ).first()
        if r is None:
            return None
        return StoredFile(r.key, r.address, r.name, r.mime_type, r.size, r.created_at, bytes(r.content))

    async def forget(self, customer_id: int) -> None:
        """Erase what such channels kept of a customer: the parts delivered, the files, a verified email. Runs
        before the identities lose their addresses (bot.store.customers.erase)."""
        own = (
            await self.conn.execute(
                select(identities.c.channel, identities.c.external_id).where(identities.c.customer_id == customer_id)
            )
        ).all()
        for channel, address in own:
            await self.conn.execute(
                delete(channel_parts).where(channel_parts.c.channel == channel, channel_parts.c.address == address)
            )
            await self.conn.execute(
                delete(channel_files).where(channel_files.c.channel == channel, channel_files.c.address == address)
            )
        await self.conn.execute(
            update(identities).where(identities.c.customer_id == customer_id).values(email=None, verified=None)
        )
