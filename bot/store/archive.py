"""Queries over customers, conversations, messages and events: the team's archive.

Nothing here deletes: closing, failing and correcting are all new rows or updated states, never removals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import (
    Attachment,
    Conversation,
    Delivery,
    Direction,
    EventKind,
    Status,
)
from bot.store.conversation_rows import (
    BY_ID,
    BY_THREAD,
    MESSAGE_WITH_CONVERSATION,
    OPEN_OF_IDENTITY,
    TOUCH,
    conversation_select,
    message_of,
    to_conversation,
)
from bot.store.identity_records import IdentityRecords
from bot.store.schema import conversations, events, messages, seen_keys, settings_kv


def ignoring_duplicates(table: Any, key: str, *returning: Any) -> dict[str, Any]:
    """INSERT ... ON CONFLICT (``key``) DO NOTHING RETURNING ``returning``, built once for each dialect (by its
    name): how a redelivered message becomes a no-op."""
    return {
        name: dialect.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(*returning)
        for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
    }


# The message statements every relayed message runs, built once (building one costs more than running it on SQLite).
_INSERT_MESSAGE = ignoring_duplicates(messages, "source_key", messages.c.id)
_MARK_SEEN = ignoring_duplicates(seen_keys, "key", seen_keys.c.key)
_ARCHIVED_KEYS = select(messages.c.source_key).where(messages.c.source_key.in_(bindparam("keys", expanding=True)))
_MESSAGES_BY_ID = select(messages).where(messages.c.id.in_(bindparam("ids", expanding=True)))
_MESSAGE_BY_ID = select(messages).where(messages.c.id == bindparam("message_id"))  # a staff reply's delivery reads it
_POSTED_TO_SLACK = (
    update(messages)
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .values(slack_ts=bindparam("ts", type_=messages.c.slack_ts.type), delivery=Delivery.DELIVERED)
)
_SENT_TO_CUSTOMER = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(external_message_ids=bindparam("external", type_=messages.c.external_message_ids.type),
            delivery=Delivery.DELIVERED)
)  # fmt: skip
_ADD_EVENT = events.insert()
_CLAIM_IF_FREE = (  # a staff member's first reply in a thread nobody holds
    update(conversations)
    .where(conversations.c.id == bindparam("conversation_id"), conversations.c.holder.is_(None))
    .values(holder=bindparam("user", type_=conversations.c.holder.type))
)


class Archive(IdentityRecords):
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # --- conversations ---------------------------------------------------------------------------------------

    async def conversation(self, conversation_id: int) -> Conversation | None:
        row = (await self.conn.execute(BY_ID, {"conversation_id": conversation_id})).first()
        return to_conversation(row) if row else None

    async def conversation_by_thread(self, slack_channel: str, thread_ts: str) -> Conversation | None:
        row = (await self.conn.execute(BY_THREAD, {"channel": slack_channel, "thread": thread_ts})).first()
        return to_conversation(row) if row else None

    async def open_conversation(self, identity_id: int) -> Conversation | None:
        row = (await self.conn.execute(OPEN_OF_IDENTITY, {"identity_id": identity_id})).first()
        return to_conversation(row) if row else None

    async def latest_conversation_id(self, identity_id: int) -> int | None:
        return (
            await self.conn.execute(
                select(func.max(conversations.c.id)).where(conversations.c.identity_id == identity_id)
            )
        ).scalar_one_or_none()

    async def create_conversation(
        self,
        *,
        customer_id: int,
        identity_id: int,
        category: str | None,
        slack_channel: str,
        previous_id: int | None,
        now: datetime,
    ) -> int:
        return (
            await self.conn.execute(
                conversations.insert()
                .values(
                    customer_id=customer_id,
                    identity_id=identity_id,
                    status=Status.OPEN,
                    category=category,
                    slack_channel=slack_channel,
                    previous_id=previous_id,
                    opened_at=now,
                    last_message_at=now,
                )
                .returning(conversations.c.id)
            )
        ).scalar_one()

    async def set_thread(self, conversation_id: int, thread_ts: str) -> None:
        await self.conn.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(thread_ts=thread_ts)
        )

    async def touch(self, conversation_id: int, now: datetime) -> None:
        await self.touch_all([conversation_id], now)

    async def touch_all(self, conversation_ids: Sequence[int], now: datetime) -> None:
        """A customer wrote in each of these conversations at ``now`` (one statement for a group of them)."""
        if conversation_ids:
            await self.conn.execute(TOUCH, [{"conversation_id": c, "now": now} for c in conversation_ids])

    async def claim_if_free(self, conversation_id: int, user: str) -> bool:
        """Set the holder only when nobody holds it: the database decides between two simultaneous clicks."""
        result = await self.conn.execute(_CLAIM_IF_FREE, {"conversation_id": conversation_id, "user": user})
        return result.rowcount == 1

    async def release_if_held(self, conversation_id: int) -> str | None:
        """Clear the holder; returns who held it (None when nobody did, so nothing changed)."""
        holder = (
            await self.conn.execute(select(conversations.c.holder).where(conversations.c.id == conversation_id))
        ).scalar_one_or_none()
        if holder is None:
            return None
        result = await self.conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.holder == holder)
            .values(holder=None)
        )
        return holder if result.rowcount == 1 else None

    async def change_status(self, conversation_id: int, old: Status, new: Status, now: datetime) -> bool:
        """Move between states only from the expected one, so a repeated click changes nothing twice."""
        result = await self.conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.status == old)
            .values(status=new, closed_at=now if new == Status.CLOSED else None)
        )
        return result.rowcount == 1

    async def open_conversations(self, limit: int = 100) -> list[Conversation]:
        rows = (
            await self.conn.execute(
                conversation_select()
                .where(conversations.c.status == Status.OPEN)
                .order_by(conversations.c.last_message_at)
                .limit(limit)
            )
        ).all()
        return [to_conversation(r) for r in rows]

    # --- messages --------------------------------------------------------------------------------------------

    async def insert_message(
        self,
        *,
        conversation_id: int,
        direction: Direction,
        author_id: str,
        author_name: str,
        channel: str,
        text: str,
        source_key: str,
        now: datetime,
        raw_text: str | None = None,
        attachments: Sequence[Attachment] = (),
        external_message_ids: Sequence[str] = (),
        slack_ts: str | None = None,
        delivery: Delivery = Delivery.PENDING,
        edit_of: int | None = None,
        saved_reply_id: int | None = None,
    ) -> int | None:
        """Archive a message (``edit_of``: a later version of that message; ``saved_reply_id``: sent from the saved
        replies library); None when its source_key was archived before (a redelivery)."""
        row = {
            "conversation_id": conversation_id, "direction": direction, "author_id": author_id,
            "author_name": author_name, "channel": channel, "text": text, "raw_text": raw_text,
            "attachments": [a.to_json() for a in attachments], "source_key": source_key,
            "external_message_ids": list(external_message_ids), "slack_ts": slack_ts, "delivery": delivery,
            "created_at": now, "edit_of": edit_of, "saved_reply_id": saved_reply_id,
        }  # fmt: skip
        inserted = await self.conn.execute(_INSERT_MESSAGE[self.conn.dialect.name], row)
        return inserted.scalar_one_or_none()

    async def opening_message_id(self, conversation_id: int) -> int | None:
        """The customer's first message of the conversation (the original, not a later version of it)."""
        return (await self.conn.execute(_opening(conversation_id))).scalar()

    async def opening_words(self, conversation_id: int) -> str | None:
        """What the customer's first message of the conversation says now (its newest version); None: none yet."""
        first = _opening(conversation_id).scalar_subquery()
        row = (
            await self.conn.execute(
                select(messages.c.text)
                .where((messages.c.id == first) | (messages.c.edit_of == first))
                .order_by(messages.c.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else str(row.text)

    async def latest_version(self, message_id: int) -> Any:
        """A message as it reads now: its newest version (an edit), or the message itself."""
        newest = (
            await self.conn.execute(
                select(messages).where(messages.c.edit_of == message_id).order_by(messages.c.id.desc()).limit(1)
            )
        ).first()
        return newest if newest is not None else await self.message_row(message_id)

    async def send_as_reply(self, message_id: int, latest_id: int) -> None:
        """A note goes to the customer after all: it (and its newest version) is a reply now, on its way."""
        await self.conn.execute(
            update(messages)
            .where(messages.c.id.in_({message_id, latest_id}))
            .values(direction=Direction.OUTBOUND, delivery=Delivery.PENDING, delivery_error=None)
        )

    async def mark_delivery(self, message_id: int, delivery: Delivery, error: str | None = None) -> None:
        """How far a message (or one version of it) got with the customer."""
        await self.conn.execute(
            update(messages).where(messages.c.id == message_id).values(delivery=delivery, delivery_error=error)
        )

    async def existing_source_keys(self, source_keys: Sequence[str]) -> set[str]:
        """Which of these messages are archived already: one query for a whole group of updates."""
        wanted = sorted({k for k in source_keys if k})
        if not wanted:
            return set()
        found = await self.conn.execute(_ARCHIVED_KEYS, {"keys": wanted})
        return set(found.scalars().all())

    async def message_row(self, message_id: int) -> Any:
        return (await self.conn.execute(_MESSAGE_BY_ID, {"message_id": message_id})).first()

    async def message_by_source_key(self, source_key: str) -> Any:
        return (await self.conn.execute(select(messages).where(messages.c.source_key == source_key))).first()

    async def message_with_conversation(self, message_id: int) -> tuple[Conversation, Any] | None:
        """A message and its conversation in one read; None when either is gone."""
        row = (await self.conn.execute(MESSAGE_WITH_CONVERSATION, {"message_id": message_id})).first()
        return None if row is None else (to_conversation(row), message_of(row))

    async def message_rows(self, message_ids: Sequence[int]) -> list[Any]:
        rows = (await self.conn.execute(_MESSAGES_BY_ID, {"ids": list(message_ids)})).all()
        by_id = {r.id: r for r in rows}
        return [by_id[i] for i in message_ids if i in by_id]

    async def mark_posted_to_slack(self, message_ids: Sequence[int], slack_ts: str) -> None:
        await self.conn.execute(_POSTED_TO_SLACK, {"ids": list(message_ids), "ts": slack_ts})

    async def mark_sent_to_customer(self, message_id: int, external_ids: Sequence[str]) -> None:
        await self.conn.execute(_SENT_TO_CUSTOMER, {"message_id": message_id, "external": list(external_ids)})

    async def mark_failed(self, message_ids: Sequence[int], error: str) -> None:
        await self.conn.execute(
            update(messages)
            .where(messages.c.id.in_(message_ids))
            .values(delivery=Delivery.FAILED, delivery_error=error)
        )

    # --- events and small state ------------------------------------------------------------------------------

    async def add_event(
        self,
        conversation_id: int | None,
        kind: EventKind,
        actor: str,
        now: datetime,
        **detail: Any,
    ) -> None:
        await self.conn.execute(
            _ADD_EVENT,
            {"conversation_id": conversation_id, "kind": kind, "actor": actor, "detail": detail, "created_at": now},
        )

    async def forget_edited_texts(self, conversation_id: int) -> None:
        """Erasure: the new texts of staff edits go the way of the messages' texts; who and when stay."""
        edits = await self.conn.execute(
            select(events.c.id, events.c.detail).where(
                events.c.conversation_id == conversation_id, events.c.kind == EventKind.STAFF_EDITED
            )
        )
        for edit in edits.all():
            detail = {**edit.detail, "text": "", "raw_text": None}
            await self.conn.execute(update(events).where(events.c.id == edit.id).values(detail=detail))

    async def events_of(self, conversation_id: int) -> list[Any]:
        return list(
            (
                await self.conn.execute(
                    select(events).where(events.c.conversation_id == conversation_id).order_by(events.c.id)
                )
            ).all()
        )

    async def mark_seen(self, key: str, now: datetime) -> bool:
        """Remember a delivery key; False when it was seen before."""
        inserted = await self.conn.execute(_MARK_SEEN[self.conn.dialect.name], {"key": key, "created_at": now})
        return inserted.scalar_one_or_none() is not None

    async def get_setting(self, key: str) -> str | None:
        return (
            await self.conn.execute(select(settings_kv.c.value).where(settings_kv.c.key == key))
        ).scalar_one_or_none()

    async def put_setting(self, key: str, value: str) -> None:
        dialect = sqlite if self.conn.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(settings_kv).values(key=key, value=value)
        await self.conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def _opening(conversation_id: int) -> Any:
    return select(func.min(messages.c.id)).where(
        messages.c.conversation_id == conversation_id,
        messages.c.direction == Direction.INBOUND,
        messages.c.edit_of.is_(None),
    )
