"""Queries of conversation tags (``conversation_tags``): what each conversation was about, who said so."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import conversations
from bot.store.toolkit_schema import conversation_tags


class TagStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def of(self, conversation_id: int) -> dict[str, str]:
        """The conversation's tags, each with who set it, in the order they were set."""
        rows = await self.conn.execute(
            select(conversation_tags.c.tag, conversation_tags.c.actor)
            .where(conversation_tags.c.conversation_id == conversation_id)
            .order_by(conversation_tags.c.created_at, conversation_tags.c.tag)
        )
        return {r.tag: r.actor for r in rows.all()}

    async def add(self, conversation_id: int, tags: Collection[str], actor: str, now: datetime) -> list[str]:
        """Add the tags not there yet (a tag already set keeps who set it); returns those added."""
        added = []
        for tag in tags:
            dialect = sqlite if self.conn.dialect.name == "sqlite" else postgresql
            stmt = (  # the primary key is (conversation_id, tag): a conflict on it is the tag already set
                dialect.insert(conversation_tags)
                .values(conversation_id=conversation_id, tag=tag, actor=actor, created_at=now)
                .on_conflict_do_nothing(index_elements=["conversation_id", "tag"])
            )
            result = await self.conn.execute(stmt.returning(conversation_tags.c.tag))
            if result.scalar_one_or_none() is not None:
                added.append(tag)
        return added

    async def remove(self, conversation_id: int, tags: Collection[str]) -> None:
        if tags:
            await self.conn.execute(
                delete(conversation_tags).where(
                    conversation_tags.c.conversation_id == conversation_id, conversation_tags.c.tag.in_(list(tags))
                )
            )

    async def of_customer(self, customer_id: int) -> list[tuple[str, int]]:
        """The tags of a customer's conversations, most frequent first: what they ask about."""
        count = func.count().label("n")
        rows = await self.conn.execute(
            select(conversation_tags.c.tag, count)
            .join(conversations, conversations.c.id == conversation_tags.c.conversation_id)
            .where(conversations.c.customer_id == customer_id)
            .group_by(conversation_tags.c.tag)
            .order_by(count.desc(), conversation_tags.c.tag)
        )
        return [(r.tag, r.n) for r in rows.all()]

    async def tagged(self, conversation_ids: Sequence[int], tag: str) -> set[int]:
        if not conversation_ids:
            return set()
        rows = await self.conn.execute(
            select(conversation_tags.c.conversation_id).where(
                conversation_tags.c.conversation_id.in_(list(conversation_ids)), conversation_tags.c.tag == tag
            )
        )
        return {r.conversation_id for r in rows.all()}
