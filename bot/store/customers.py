"""Queries over customers as the team knows them: identities, conversations, stage, tags, timeline, merges,
erasure and the audit trail (``Transaction.customers``).

Merges and erasures are plain UPDATEs of the archive's rows; the search index follows by itself (SQLite triggers,
PostgreSQL expression indexes), so no write path here has to remember it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.customer_schema import activities, audit_log, customer_state, customer_tags
from bot.store.schema import conversations, customers, events, identities, messages, outbox, seen_keys
from bot.store.search_match import escape_like

ERASED = "[erased]"


@dataclass(frozen=True)
class CustomerRow:
    """A customer as a profile's title shows it: the name of their first identity (stable across merges)."""

    id: int
    name: str
    username: str | None
    created_at: datetime
    stage: str | None
    merged_into: int | None
    erased_at: datetime | None


@dataclass(frozen=True)
class MergeCounts:
    identities: int
    conversations: int
    activities: int
    tags: int


@dataclass(frozen=True)
class ErasureCounts:
    customers: int
    identities: int
    conversations: int
    messages: int
    activities: int
    tags: int
    deliveries: int


class CustomerStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def _upsert(self, table: Any, keys: list[str], values: dict[str, Any], update_keys: Iterable[str]) -> Any:
        dialect = sqlite if self.conn.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(table).values(**values)
        return stmt.on_conflict_do_update(index_elements=keys, set_={k: values[k] for k in update_keys})

    # --- reading ---------------------------------------------------------------------------------------------

    async def customer(self, customer_id: int) -> CustomerRow | None:
        first = (
            select(identities.c.display_name, identities.c.username)
            .where(identities.c.customer_id == customers.c.id)
            .order_by(identities.c.id)
            .limit(1)
            .correlate(customers)
        )
        row = (
            await self.conn.execute(
                select(
                    customers.c.id,
                    customers.c.display_name,
                    customers.c.username,
                    customers.c.created_at,
                    first.with_only_columns(identities.c.display_name).scalar_subquery().label("first_name"),
                    first.with_only_columns(identities.c.username).scalar_subquery().label("first_username"),
                    customer_state.c.stage,
                    customer_state.c.merged_into,
                    customer_state.c.erased_at,
                )
                .select_from(customers.outerjoin(customer_state, customer_state.c.customer_id == customers.c.id))
                .where(customers.c.id == customer_id)
            )
        ).first()
        if row is None:
            return None
        has_identity = row.first_name is not None
        return CustomerRow(
            id=row.id,
            name=row.first_name if has_identity else row.display_name,
            username=row.first_username if has_identity else row.username,
            created_at=row.created_at,
            stage=row.stage,
            merged_into=row.merged_into,
            erased_at=row.erased_at,
        )

    async def by_username(self, username: str) -> list[int]:
        """Customers with an identity of exactly this username (any case)."""
        rows = await self.conn.execute(
            select(identities.c.customer_id)
            .where(func.lower(identities.c.username) == username.lower())
            .distinct()
            .order_by(identities.c.customer_id)
        )
        return [r.customer_id for r in rows]

    async def by_external_id(self, external_id: str) -> list[int]:
        rows = await self.conn.execute(
            select(identities.c.customer_id).where(identities.c.external_id == external_id).distinct()
        )
        return [r.customer_id for r in rows]

    async def identities_of(self, customer_id: int) -> list[Any]:
        return list(
            (
                await self.conn.execute(
                    select(identities).where(identities.c.customer_id == customer_id).order_by(identities.c.id)
                )
            ).all()
        )

    async def conversations_of(self, customer_id: int, *, limit: int, before_id: int | None = None) -> list[Any]:
        """The customer's conversations, newest first (``before_id``: only those opened before that one)."""
        stmt = select(
            conversations.c.id,
            conversations.c.status,
            conversations.c.category,
            conversations.c.slack_channel,
            conversations.c.thread_ts,
            conversations.c.opened_at,
            conversations.c.closed_at,
            conversations.c.last_message_at,
            identities.c.channel,
        ).join(identities, identities.c.id == conversations.c.identity_id)
        stmt = stmt.where(conversations.c.customer_id == customer_id)
        if before_id is not None:
            stmt = stmt.where(conversations.c.id < before_id)
        return list((await self.conn.execute(stmt.order_by(conversations.c.id.desc()).limit(limit))).all())

    async def count_conversations(self, customer_id: int, *, before_id: int | None = None) -> int:
        stmt = select(func.count()).select_from(conversations).where(conversations.c.customer_id == customer_id)
        if before_id is not None:
            stmt = stmt.where(conversations.c.id < before_id)
        return int((await self.conn.execute(stmt)).scalar_one())

    async def first_messages(self, conversation_ids: Sequence[int]) -> dict[int, str]:
        """The first customer message of each conversation: what it was about, for a list of earlier ones."""
        if not conversation_ids:
            return {}
        first = (
            select(messages.c.conversation_id, func.min(messages.c.id).label("id"))
            .where(messages.c.conversation_id.in_(conversation_ids), messages.c.direction == "inbound")
            .group_by(messages.c.conversation_id)
            .subquery()
        )
        rows = await self.conn.execute(
            select(messages.c.conversation_id, messages.c.text).join(first, first.c.id == messages.c.id)
        )
        return {r.conversation_id: r.text for r in rows}

    async def tags(self, customer_id: int) -> list[str]:
        rows = await self.conn.execute(
            select(customer_tags.c.tag).where(customer_tags.c.customer_id == customer_id).order_by(customer_tags.c.tag)
        )
        return [r.tag for r in rows]

    async def timeline(self, customer_id: int, *, limit: int) -> list[Any]:
        return list(
            (
                await self.conn.execute(
                    select(activities)
                    .where(activities.c.customer_id == customer_id)
                    .order_by(activities.c.id.desc())
                    .limit(limit)
                )
            ).all()
        )

    # --- writing ---------------------------------------------------------------------------------------------

    async def set_stage(self, customer_id: int, stage: str, now: datetime) -> str | None:
        """Set the stage; returns the previous one (None when it was never set)."""
        previous = (
            await self.conn.execute(select(customer_state.c.stage).where(customer_state.c.customer_id == customer_id))
        ).scalar_one_or_none()
        values = {"customer_id": customer_id, "stage": stage, "updated_at": now}
        await self.conn.execute(self._upsert(customer_state, ["customer_id"], values, ("stage", "updated_at")))
        return previous

    async def set_tags(self, customer_id: int, tags: Sequence[str], actor: str, now: datetime) -> tuple[list, list]:
        """Replace the customer's tags; returns (added, removed)."""
        current = set(await self.tags(customer_id))
        wanted = list(dict.fromkeys(tags))
        added = [t for t in wanted if t not in current]
        removed = sorted(current - set(wanted))
        if removed:
            await self.conn.execute(
                delete(customer_tags).where(
                    customer_tags.c.customer_id == customer_id, customer_tags.c.tag.in_(removed)
                )
            )
        if added:
            await self.conn.execute(
                insert(customer_tags),
                [{"customer_id": customer_id, "tag": t, "actor": actor, "created_at": now} for t in added],
            )
        return added, removed

    async def add_activity(
        self,
        customer_id: int,
        kind: str,
        actor: str,
        now: datetime,
        *,
        text: str = "",
        conversation_id: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """A timeline entry: ``text`` is what search finds, ``detail`` the facts (never personal data)."""
        return (
            await self.conn.execute(
                activities.insert()
                .values(
                    customer_id=customer_id,
                    conversation_id=conversation_id,
                    kind=kind,
                    actor=actor,
                    text=text,
                    detail=dict(detail or {}),
                    created_at=now,
                )
                .returning(activities.c.id)
            )
        ).scalar_one()

    async def add_event(self, kind: str, actor: str, now: datetime, **detail: Any) -> None:
        """A customer-level event in the archive's event log (no conversation): merges and erasures."""
        await self.conn.execute(
            events.insert().values(conversation_id=None, kind=kind, actor=actor, detail=detail, created_at=now)
        )

    async def audit(self, actor: str, action: str, target: str | None, now: datetime, **detail: Any) -> None:
        """Record that someone looked at or changed customer data."""
        await self.conn.execute(
            audit_log.insert().values(
                actor=actor[:64], action=action, target=None if target is None else target[:512], detail=detail,
                created_at=now,
            )
        )  # fmt: skip

    async def merge(self, keep: int, other: int, now: datetime) -> MergeCounts:
        """Move everything of ``other`` to ``keep``; ``other`` stays as a pointer so its old id still resolves."""
        moved_identities = await self._move(identities, keep, other)
        moved_conversations = await self._move(conversations, keep, other)
        moved_activities = await self._move(activities, keep, other)
        keep_tags = select(customer_tags.c.tag).where(customer_tags.c.customer_id == keep)
        new_tags = (
            select(literal(keep), customer_tags.c.tag, customer_tags.c.actor, customer_tags.c.created_at)
            .where(customer_tags.c.customer_id == other, customer_tags.c.tag.not_in(keep_tags))
        )  # fmt: skip
        moved_tags = (
            await self.conn.execute(
                insert(customer_tags).from_select(["customer_id", "tag", "actor", "created_at"], new_tags)
            )
        ).rowcount
        await self.conn.execute(delete(customer_tags).where(customer_tags.c.customer_id == other))
        states = {
            r.customer_id: r
            for r in await self.conn.execute(
                select(customer_state).where(customer_state.c.customer_id.in_([keep, other]))
            )
        }
        if other in states and states[other].stage and not (keep in states and states[keep].stage):
            await self.set_stage(keep, states[other].stage, now)
        values = {"customer_id": other, "merged_into": keep, "updated_at": now, "stage": None}
        await self.conn.execute(self._upsert(customer_state, ["customer_id"], values, ("merged_into", "updated_at")))
        # customers merged into `other` earlier now point at `keep` directly: one hop resolves any old id
        await self.conn.execute(
            update(customer_state).where(customer_state.c.merged_into == other).values(merged_into=keep)
        )
        return MergeCounts(moved_identities, moved_conversations, moved_activities, moved_tags)

    async def _move(self, table: Any, keep: int, other: int) -> int:
        result = await self.conn.execute(update(table).where(table.c.customer_id == other).values(customer_id=keep))
        return int(result.rowcount)

    async def erase(self, customer_id: int, now: datetime) -> ErasureCounts:
        """Remove a customer's personal data and every message text of their conversations, keeping the rows, so
        counts and timings stay for reports. Customers merged into this one are the same person: erased too."""
        merged = [
            r.customer_id
            for r in await self.conn.execute(
                select(customer_state.c.customer_id).where(customer_state.c.merged_into == customer_id)
            )
        ]
        people = [customer_id, *merged]
        idents = list(
            (
                await self.conn.execute(
                    select(identities.c.id, identities.c.channel, identities.c.external_id).where(
                        identities.c.customer_id.in_(people)
                    )
                )
            ).all()
        )
        conversation_ids = [
            r.id
            for r in await self.conn.execute(select(conversations.c.id).where(conversations.c.customer_id.in_(people)))
        ]
        authors = [f"{i.channel}:{i.external_id}" for i in idents]
        lanes = [f"{i.channel}:chat:{i.external_id}" for i in idents]
        targets = [f"{i.channel}:{i.external_id}" for i in idents]

        message_count = 0
        if conversation_ids:
            message_count = (
                await self.conn.execute(
                    update(messages)
                    .where(messages.c.conversation_id.in_(conversation_ids))
                    .values(
                        text="",
                        raw_text=None,
                        attachments=[],
                        external_message_ids=[],
                        delivery_error=None,
                        source_key=literal("erased:") + cast(messages.c.id, String),
                    )
                )
            ).rowcount
            await self.conn.execute(
                update(messages)
                .where(messages.c.conversation_id.in_(conversation_ids), messages.c.author_id.in_(authors))
                .values(author_id="erased", author_name=ERASED)
            )
            await self.conn.execute(
                update(events)
                .where(events.c.conversation_id.in_(conversation_ids), events.c.actor.in_(authors))
                .values(actor="erased")
            )
        deliveries = 0
        if conversation_ids or lanes:
            deliveries = (
                await self.conn.execute(
                    delete(outbox).where(
                        or_(
                            outbox.c.conversation_id.in_(conversation_ids),
                            outbox.c.lane.in_(lanes),
                            outbox.c.target.in_(targets),
                        )
                    )
                )
            ).rowcount
        for i in idents:
            prefix = escape_like(f"{i.channel}:{i.external_id}:")
            await self.conn.execute(delete(seen_keys).where(seen_keys.c.key.like(f"{prefix}%", escape="\\")))
        identity_count = (
            await self.conn.execute(
                update(identities)
                .where(identities.c.customer_id.in_(people))
                .values(
                    display_name=ERASED,
                    username=None,
                    language_code=None,
                    external_id=literal("erased:") + cast(identities.c.id, String),
                )
            )
        ).rowcount
        await self.conn.execute(
            update(customers).where(customers.c.id.in_(people)).values(display_name=ERASED, username=None)
        )
        activity_count = (
            await self.conn.execute(update(activities).where(activities.c.customer_id.in_(people)).values(text=""))
        ).rowcount
        tag_count = (
            await self.conn.execute(delete(customer_tags).where(customer_tags.c.customer_id.in_(people)))
        ).rowcount
        for person in people:
            values = {"customer_id": person, "erased_at": now, "updated_at": now}
            await self.conn.execute(self._upsert(customer_state, ["customer_id"], values, ("erased_at", "updated_at")))
        return ErasureCounts(
            customers=len(people),
            identities=int(identity_count),
            conversations=len(conversation_ids),
            messages=int(message_count),
            activities=int(activity_count),
            tags=int(tag_count),
            deliveries=int(deliveries),
        )
