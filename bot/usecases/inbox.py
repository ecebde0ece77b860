"""The ``bot.connectors.base.Inbox`` of one channel: its way into the archive (bot.usecases.intake), and for a
channel that shows customers their conversation itself, the ways to read it back, record deliveries and keep files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.connectors.base import Availability, Item, Outcome, StoredFile, Transcript
from bot.domain.hours import is_open, next_open

if TYPE_CHECKING:
    from bot.usecases.intake import Intake

TRANSCRIPT_LIMIT = 500  # entries of each kind one read returns at most


def cursor_key(channel: str) -> str:
    return f"cursor.{channel}"


class ChannelInbox:
    def __init__(self, intake: Intake, channel: str) -> None:
        self.intake = intake
        self.channel = channel

    async def cursor(self) -> str | None:
        async with self.intake.db.reading() as tx:
            return await tx.archive.get_setting(cursor_key(self.channel))

    async def receive(self, items: Sequence[Item], *, cursor: str | None = None) -> list[Outcome]:
        if not items and cursor is None:
            return []
        return await self.intake.submit(self.channel, items, cursor)

    async def transcript(
        self, address: str, *, after_written: int = 0, after_sent: int = 0, limit: int = 200
    ) -> Transcript:
        async with self.intake.db.reading() as tx:
            return await tx.channel_records.transcript(
                self.channel, address, after_written=max(0, after_written), after_sent=max(0, after_sent),
                limit=max(1, min(limit, TRANSCRIPT_LIMIT)),
            )  # fmt: skip

    async def delivered(self, address: str, *, message_id: int | None, part: int, payload: Mapping[str, Any]) -> int:
        async with self.intake.db.transaction() as tx:
            return await tx.channel_records.delivered(
                self.channel, address, message_id=message_id, part=part, payload=payload, now=self.intake.clock()
            )

    async def keep_file(
        self, address: str, *, key: str, name: str, mime_type: str | None, content: bytes
    ) -> StoredFile:
        async with self.intake.db.transaction() as tx:
            return await tx.channel_records.keep_file(
                self.channel, address, key=key, name=name, mime_type=mime_type, content=content,
                now=self.intake.clock(),
            )  # fmt: skip

    async def files(self, keys: Sequence[str]) -> dict[str, StoredFile]:
        if not keys:
            return {}  # no transaction for a message without files (the common case)
        async with self.intake.db.reading() as tx:
            return await tx.channel_records.files(self.channel, keys)

    async def file(self, key: str) -> StoredFile | None:
        async with self.intake.db.reading() as tx:
            return await tx.channel_records.file(self.channel, key)

    async def availability(self) -> Availability:
        hours = self.intake.receiving.config.hours_for(None)
        now = self.intake.clock()
        if is_open(hours, now):
            return Availability(open=True, opens_at=None, timezone=hours.timezone if hours else None)
        assert hours is not None  # no hours means always open
        return Availability(open=False, opens_at=next_open(hours, now), timezone=hours.timezone)
