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

from sqlalchemy import Row, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Conversation, Delivery, Direction, Status
from bot.store.archive import ignoring_duplicates
from bot.store.conversation_rows import CONVERSATION_COLUMNS, OPEN_OF_IDENTITIES, to_conversation
from bot.store.outbox import Outbox
from bot.store.routing_schema import inquiry_state
from bot.store.schema import conversations, identities, message_parts, messages
from bot.store.timers import InquiryState

SenderKey = tuple[str, str]  # (channel, external id)

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
# SQLite: the three reads above in one statement, each sender with its open conversation and that one's state.
_GROUP_AT_ONCE = (
    select(identities.c.id, *CONVERSATION_COLUMNS, *inquiry_state.c)
    .select_from(identities)
    .outerjoin(
        conversations, (conversations.c.identity_id == identities.c.id) & (conversations.c.status == Status.OPEN)
    )
    .outerjoin(inquiry_state, inquiry_state.c.conversation_id == conversations.c.id)
    .where(tuple_(identities.c.channel, identities.c.external_id).in_(bindparam("pairs", expanding=True)))
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
    states: dict[int, InquiryState]  # their inquiry state, by conversation id


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

        On SQLite one statement: writers take turns, so nothing it reads can change before this transaction ends.
        On PostgreSQL three, in that order: a statement that waited for another transaction's lock on an identity
        still joins the conversations its own start saw, whereas the next statement sees what that one committed."""
        if not keys:
            return GroupRows({}, {}, {})
        if self.conn.dialect.name == "sqlite":
            return self._group_rows(await self.conn.execute(_GROUP_AT_ONCE, {"pairs": sorted(keys)}))
        senders = await self._senders(keys)
        opened = await self._open_conversations({s.identity_id for s in senders.values()})
        return GroupRows(senders, opened, await self._states({c.id for c in opened.values()}))

    def _group_rows(self, rows: Iterable[Row[Any]]) -> GroupRows:
        found = GroupRows({}, {}, {})
        for row in rows:
            m = row._mapping
            found.senders[(m[identities.c.channel], m[identities.c.external_id])] = _known(m)
            if m[conversations.c.id] is not None:
                found.open[m[identities.c.id]] = to_conversation(row)
            if m[inquiry_state.c.conversation_id] is not None:
                found.states[m[conversations.c.id]] = InquiryState(**{c.name: m[c] for c in inquiry_state.c})
        return found

    async def _senders(self, keys: Collection[SenderKey]) -> dict[SenderKey, KnownSender]:
        rows = await self.conn.execute(_SENDERS, {"pairs": sorted(keys)})
        return {(row.channel, row.external_id): _known(row._mapping) for row in rows}

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
