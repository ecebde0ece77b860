"""The set-based statements of the intake's fast path (bot.usecases.follow_ups): a group of customer messages into
conversations already open takes a handful of statements, whatever its size, instead of ten for each message.

Every read locks or writes what its one-by-one counterpart does, in the same order (identities, then conversations,
then their inquiry state), so a group and a staff reply at the same moment cannot deadlock either.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Conversation, Delivery, Direction
from bot.store.archive import ignoring_duplicates
from bot.store.conversation_rows import OPEN_OF_IDENTITIES, to_conversation
from bot.store.outbox import Outbox
from bot.store.routing_schema import inquiry_state
from bot.store.schema import identities, message_parts, messages
from bot.store.timers import InquiryState

# Built once, like the one-by-one path's statements (bot.store.archive): building one costs more than running it.
_SENDERS = (
    select(
        identities.c.id, identities.c.channel, identities.c.external_id, identities.c.display_name,
        identities.c.username, identities.c.verified, identities.c.email, identities.c.language_code,
    )
    .where(tuple_(identities.c.channel, identities.c.external_id).in_(bindparam("pairs", expanding=True)))
    .order_by(identities.c.id)
    .with_for_update(key_share=True)
)  # fmt: skip
_INSERT_MESSAGES = ignoring_duplicates(messages, "source_key", messages.c.id, messages.c.source_key)
_STATES = select(inquiry_state).where(inquiry_state.c.conversation_id.in_(bindparam("conversations", expanding=True)))


@dataclass(frozen=True)
class KnownSender:
    """An identity as the archive has it: what a message must match to need no update of it."""

    identity_id: int
    display_name: str
    username: str | None
    verified: bool | None
    email: str | None
    language_code: str | None


@dataclass(frozen=True)
class NewMessage:
    """One customer message of a group, with everything its rows need."""

    conversation_id: int
    channel: str
    address: str
    author_id: str
    author_name: str
    text: str
    source_key: str
    attachments: list[dict[str, Any]]
    external_message_id: str
    job: dict[str, Any]  # its Slack post's outbox row: lane, target, kind, payload (bot.usecases.jobs)


class FollowUpStore:
    def __init__(self, conn: AsyncConnection, outbox: Outbox) -> None:
        self.conn = conn
        self._outbox = outbox  # the transaction's queue: it counts what was queued (the worker is woken for it)

    async def senders(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], KnownSender]:
        """The identities of these (channel, external id) pairs, locked as ``upsert_identity`` locks one."""
        if not keys:
            return {}
        rows = await self.conn.execute(_SENDERS, {"pairs": sorted(keys)})
        return {
            (r.channel, r.external_id): KnownSender(
                r.id, r.display_name, r.username, r.verified, r.email, r.language_code
            )
            for r in rows
        }

    async def open_conversations(self, identity_ids: Collection[int]) -> dict[int, Conversation]:
        """Each identity's open conversation, by identity id."""
        if not identity_ids:
            return {}
        rows = await self.conn.execute(OPEN_OF_IDENTITIES, {"identities": sorted(identity_ids)})
        found: dict[int, Conversation] = {}
        for row in rows:
            conversation = to_conversation(row)
            found[conversation.identity_id] = conversation
        return found

    async def states(self, conversation_ids: Collection[int]) -> dict[int, InquiryState]:
        if not conversation_ids:
            return {}
        rows = await self.conn.execute(_STATES, {"conversations": sorted(conversation_ids)})
        return {row.conversation_id: InquiryState(**row._asdict()) for row in rows}

    async def archive(self, group: Sequence[NewMessage], now: datetime) -> dict[str, int]:
        """The messages, their map of message ids and their posts queued; returns the new messages' ids by source
        key (one archived meanwhile by another process is left out: a redelivery)."""
        ids = await self._insert_messages(group, now)
        stored = [m for m in group if m.source_key in ids]
        parts = [
            {"message_id": ids[m.source_key], "platform": m.channel, "place": m.address, "external_id":
             m.external_message_id[:64], "position": 0, "kind": "text", "created_at": now}
            for m in stored if m.external_message_id
        ]  # fmt: skip
        if parts:
            await self.conn.execute(message_parts.insert(), parts)
        jobs = [{**m.job, "conversation_id": m.conversation_id, "message_id": ids[m.source_key]} for m in stored]
        await self._outbox.enqueue_all(jobs, now=time.time())
        return ids

    async def _insert_messages(self, group: Sequence[NewMessage], now: datetime) -> dict[str, int]:
        rows = [
            {"conversation_id": m.conversation_id, "direction": Direction.INBOUND, "author_id": m.author_id,
             "author_name": m.author_name, "channel": m.channel, "text": m.text, "raw_text": None,
             "attachments": m.attachments, "source_key": m.source_key, "external_message_ids":
             [m.external_message_id], "slack_ts": None, "delivery": Delivery.PENDING, "created_at": now,
             "edit_of": None, "saved_reply_id": None}
            for m in group
        ]  # fmt: skip
        result = await self.conn.execute(_INSERT_MESSAGES[self.conn.dialect.name], rows)
        return {row.source_key: row.id for row in result.all()}
