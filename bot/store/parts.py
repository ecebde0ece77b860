"""The lasting map of message ids: which Slack posts and which customer messages carry each archived message.

A message may have several parts on a side (a long text split in two, its files), and several messages may share
one Slack post (a backlog combined into one). Edits and deletions on either side are found through this map, so it is
written in the same commit that finishes the delivery that created the parts, and parts are never deleted by normal
operation: a part an edit dropped or a deletion removed is marked ``removed_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import message_parts, messages

SLACK = "slack"
TEXT = "text"
FILE = "file"


@dataclass(frozen=True)
class Part:
    id: int
    message_id: int
    platform: str
    place: str
    external_id: str
    position: int
    kind: str
    created_at: datetime
    removed_at: datetime | None


def _part(row: object) -> Part:
    return Part(**{c.name: getattr(row, c.name) for c in message_parts.c})


class PartStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def record(
        self, message_id: int, platform: str, place: str, ids: Sequence[str], kinds: Sequence[str], now: datetime
    ) -> None:
        """The parts a delivery (or a received message) gave a message on one platform, in order."""
        if not ids:
            return
        await self.conn.execute(
            message_parts.insert(),
            [
                {"message_id": message_id, "platform": platform, "place": place, "external_id": str(external_id)[:64],
                 "position": position, "kind": kind, "created_at": now}
                for position, (external_id, kind) in enumerate(zip(ids, kinds, strict=True))
            ],
        )  # fmt: skip

    async def current(self, message_id: int, platform: str | None = None) -> list[Part]:
        """The message's parts that are still there, in order (on one platform, or on every one)."""
        query = select(message_parts).where(
            message_parts.c.message_id == message_id, message_parts.c.removed_at.is_(None)
        )
        if platform is not None:
            query = query.where(message_parts.c.platform == platform)
        rows = await self.conn.execute(query.order_by(message_parts.c.platform, message_parts.c.position))
        return [_part(r) for r in rows.all()]

    async def customer_parts(self, message_id: int) -> list[Part]:
        """The parts on the customer's side (every platform but Slack)."""
        return [p for p in await self.current(message_id) if p.platform != SLACK]

    async def replace(
        self, message_id: int, platform: str, place: str, ids: Sequence[str], kinds: Sequence[str], now: datetime
    ) -> None:
        """After an edit: the message's parts on ``platform`` are now ``ids``: parts kept move to their new
        position, parts gone are marked removed, new ones are added."""
        current = {p.external_id: p for p in await self.current(message_id, platform)}
        for position, (external_id, kind) in enumerate(zip(ids, kinds, strict=True)):
            kept = current.pop(str(external_id), None)
            if kept is not None:
                await self.conn.execute(
                    update(message_parts).where(message_parts.c.id == kept.id).values(position=position, kind=kind)
                )
            else:
                await self.conn.execute(
                    message_parts.insert().values(
                        message_id=message_id, platform=platform, place=place, external_id=str(external_id)[:64],
                        position=position, kind=kind, created_at=now,
                    )
                )  # fmt: skip
        if current:
            await self.remove([p.id for p in current.values()], now)

    async def remove(self, part_ids: Sequence[int], now: datetime) -> None:
        if part_ids:
            await self.conn.execute(
                update(message_parts).where(message_parts.c.id.in_(list(part_ids))).values(removed_at=now)
            )

    async def sharing(self, platform: str, place: str, external_id: str) -> list[int]:
        """The messages a part carries (more than one for a combined Slack post), oldest first."""
        rows = await self.conn.execute(
            select(message_parts.c.message_id)
            .where(
                message_parts.c.platform == platform,
                message_parts.c.place == place,
                message_parts.c.external_id == external_id,
                message_parts.c.removed_at.is_(None),
            )
            .order_by(message_parts.c.message_id)
        )
        return list(dict.fromkeys(rows.scalars().all()))

    async def forget(self, conversation_ids: Sequence[int]) -> None:
        """Erasure: the conversations' messages keep no ids on either platform."""
        if conversation_ids:
            own = select(messages.c.id).where(messages.c.conversation_id.in_(list(conversation_ids)))
            await self.conn.execute(delete(message_parts).where(message_parts.c.message_id.in_(own)))
