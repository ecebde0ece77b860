"""The set-based statements of the intake's fast path (bot.usecases.follow_ups): a group of customer messages into
conversations already open takes a handful of statements, whatever its size, instead of ten for each message.

Every read locks or writes what its one-by-one counterpart does, in the same order (identities, then conversations,
then their inquiry state), so a group and a staff reply at the same moment cannot deadlock either.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Conversation, Delivery, Direction, Status
from bot.store.archive import ignoring_duplicates
from bot.store.conversation_rows import CONVERSATION_COLUMNS, OPEN_OF_IDENTITIES, TOUCH, to_conversation
from bot.store.outbox import Outbox
from bot.store.routing_schema import inquiry_state
from bot.store.schema import conversations, identities, message_parts, messages
from bot.store.timers import InquiryState

SenderKey = tuple[str, str]  # (channel, external id)

# Built once, like the one-by-one path's statements (bot.store.archive): building one costs more than running it.
# Senders are found one channel at a time, ``channel = ? AND external_id IN (...)``: SQLite serves that from the
# identities' unique index, and (channel, external_id) IN (VALUES ...) with a scan of the whole table.
_OF_CHANNEL = (
    identities.c.channel == bindparam("channel"),
    identities.c.external_id.in_(bindparam("ids", expanding=True)),
)
_SENDERS = (
    select(
        identities.c.id, identities.c.channel, identities.c.external_id, identities.c.display_name,
        identities.c.username, identities.c.verified, identities.c.email, identities.c.language_code,
    )
    .where(*_OF_CHANNEL)
    .order_by(identities.c.id)
    .with_for_update(key_share=True)
)  # fmt: skip
# SQLite: the three reads above in one statement, each sender with its open conversation and that one's state.
_GROUP_AT_ONCE = (
    select(identities.c.id, *CONVERSATION_COLUMNS, *inquiry_state.c)
    .select_from(identities)
    .outerjoin(
        conversations, (conversations.c.identity_id == identities.c.id) & (conversations.c.status == Status.OPEN)
    )
    .outerjoin(inquiry_state, inquiry_state.c.conversation_id == conversations.c.id)
    .where(*_OF_CHANNEL)
)
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
class GroupRows:
    """What a group of follow-ups reads before it stores anything."""

    senders: dict[SenderKey, KnownSender]
    open: dict[int, Conversation]  # each known sender's open conversation, by identity id
    states: dict[int, InquiryState]  # their inquiry state, by conversation id (SQLite; PostgreSQL: see touch)


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

    async def read_group(self, keys: Collection[SenderKey]) -> GroupRows:
        """The identities of these senders, locked as ``upsert_identity`` locks one, with their open conversations
        and those conversations' inquiry state.

        On SQLite one statement a channel: writers take turns, so nothing it reads can change before this
        transaction ends. On PostgreSQL the identities first, then their conversations: a statement that waited for
        another transaction's lock on an identity still joins the conversations its own start saw, whereas the next
        statement sees what that one committed; the states come with ``touch``."""
        if not keys:
            return GroupRows({}, {}, {})
        by_channel: dict[str, list[str]] = {}
        for channel, external_id in sorted(keys):
            by_channel.setdefault(channel, []).append(external_id)
        if self.conn.dialect.name == "sqlite":
            found = GroupRows({}, {}, {})
            for channel, ids in by_channel.items():
                self._add_rows(found, await self.conn.execute(_GROUP_AT_ONCE, {"channel": channel, "ids": ids}))
            return found
        senders: dict[SenderKey, KnownSender] = {}
        for channel, ids in by_channel.items():  # locked in one order in every process: channel, then id
            rows = await self.conn.execute(_SENDERS, {"channel": channel, "ids": ids})
            senders.update({(row.channel, row.external_id): _known(row._mapping) for row in rows})
        opened = await self._open_conversations({s.identity_id for s in senders.values()})
        return GroupRows(senders, opened, {})  # the states are read by ``touch``, once the rows are locked

    async def touch(self, conversation_ids: Sequence[int], now: datetime, read: GroupRows) -> dict[int, InquiryState]:
        """Mark that a customer wrote in these conversations at ``now``; returns their inquiry state as it stands
        with their rows locked (a staff reply locks the same row first, so its clock changes are in or waited for).
        On SQLite that is what ``read_group`` read; on PostgreSQL it is read after the touch, which may have waited
        for a reply to commit."""
        if conversation_ids:
            await self.conn.execute(TOUCH, [{"conversation_id": c, "now": now} for c in conversation_ids])
        if self.conn.dialect.name == "sqlite":
            return read.states
        return await self._states(conversation_ids)

    def _add_rows(self, found: GroupRows, rows: Iterable[Row[Any]]) -> None:
        for row in rows:
            m = row._mapping
            found.senders[(m[identities.c.channel], m[identities.c.external_id])] = _known(m)
            if m[conversations.c.id] is not None:
                found.open[m[identities.c.id]] = to_conversation(row)
            if m[inquiry_state.c.conversation_id] is not None:
                found.states[m[conversations.c.id]] = InquiryState(**{c.name: m[c] for c in inquiry_state.c})

    async def _open_conversations(self, identity_ids: Collection[int]) -> dict[int, Conversation]:
        if not identity_ids:
            return {}
        rows = await self.conn.execute(OPEN_OF_IDENTITIES, {"identities": sorted(identity_ids)})
        found: dict[int, Conversation] = {}
        for row in rows:
            conversation = to_conversation(row)
            found[conversation.identity_id] = conversation
        return found

    async def _states(self, conversation_ids: Collection[int]) -> dict[int, InquiryState]:
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


def _known(m: Mapping[Any, Any]) -> KnownSender:
    return KnownSender(
        m[identities.c.id], m[identities.c.display_name], m[identities.c.username], m[identities.c.verified],
        m[identities.c.email], m[identities.c.language_code],
    )  # fmt: skip
