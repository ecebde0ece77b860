"""Queries over the saved replies library (bot.store.toolkit_schema): the replies, who changed them, and how often
each was sent (counted from ``messages.saved_reply_id``, so a use is a message really archived, never a guess).

Search is a case-folded substring match over titles and both bodies (LIKE with escaping, on both databases): Korean
needs substrings, not words, and a team's library is small enough that no index is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import messages
from bot.store.toolkit_schema import saved_replies, saved_reply_changes

FIELDS = ("title", "body_ko", "body_en", "tags")


@dataclass(frozen=True)
class SavedReply:
    id: int
    title: str
    body_ko: str
    body_en: str
    tags: tuple[str, ...]
    updated_by: str
    updated_at: datetime
    deleted_at: datetime | None = None

    def fields(self) -> dict[str, Any]:
        """What a change record keeps, and what export writes."""
        return {"title": self.title, "body_ko": self.body_ko, "body_en": self.body_en, "tags": list(self.tags)}


@dataclass(frozen=True)
class Change:
    saved_reply_id: int
    action: str
    actor: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


def _reply(row: Any) -> SavedReply:
    m = row._mapping
    return SavedReply(
        id=m["id"], title=m["title"], body_ko=m["body_ko"], body_en=m["body_en"], tags=tuple(m["tags"] or ()),
        updated_by=m["updated_by"], updated_at=m["updated_at"], deleted_at=m["deleted_at"],
    )  # fmt: skip


def _like(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _live() -> Any:
    return saved_replies.c.deleted_at.is_(None)


class SavedReplyStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, reply_id: int, *, deleted: bool = False) -> SavedReply | None:
        query = select(saved_replies).where(saved_replies.c.id == reply_id)
        if not deleted:
            query = query.where(_live())
        row = (await self.conn.execute(query)).first()
        return _reply(row) if row else None

    async def by_title(self, title: str) -> SavedReply | None:
        """The live reply with this title (titles are unique among live replies, case-folded)."""
        row = (
            await self.conn.execute(
                select(saved_replies).where(_live(), func.lower(saved_replies.c.title) == title.lower())
            )
        ).first()
        return _reply(row) if row else None

    async def search(self, query: str, limit: int) -> list[SavedReply]:
        """Live replies whose title or either body holds ``query`` (any case); all of them for an empty query."""
        select_ = select(saved_replies).where(_live())
        if query.strip():
            pattern = _like(query.strip())
            select_ = select_.where(
                or_(*(func.lower(column).like(pattern, escape="\\") for column in (
                    saved_replies.c.title, saved_replies.c.body_ko, saved_replies.c.body_en,
                )))
            )
        rows = await self.conn.execute(select_.order_by(saved_replies.c.title, saved_replies.c.id).limit(limit))
        return [_reply(r) for r in rows.all()]

    async def page(self, offset: int, limit: int) -> tuple[list[SavedReply], int]:
        """One page of the live library by title, and how many live replies there are."""
        total = (await self.conn.execute(select(func.count()).select_from(saved_replies).where(_live()))).scalar_one()
        rows = await self.conn.execute(
            select(saved_replies).where(_live()).order_by(saved_replies.c.title, saved_replies.c.id)
            .offset(offset).limit(limit)
        )  # fmt: skip
        return [_reply(r) for r in rows.all()], int(total)

    async def all_live(self) -> list[SavedReply]:
        rows = await self.conn.execute(select(saved_replies).where(_live()).order_by(saved_replies.c.id))
        return [_reply(r) for r in rows.all()]

    async def add(self, fields: Mapping[str, Any], *, actor: str, action: str, now: datetime) -> int:
        reply_id = (
            await self.conn.execute(
                saved_replies.insert()
                .values(**_clean(fields), created_by=actor, created_at=now, updated_by=actor, updated_at=now)
                .returning(saved_replies.c.id)
            )
        ).scalar_one()
        await self._record(reply_id, action, actor, None, _clean(fields), now)
        return int(reply_id)

    async def edit(
        self, reply: SavedReply, fields: Mapping[str, Any], *, actor: str, action: str, now: datetime
    ) -> bool:
        """Change a live reply; False when it was deleted meanwhile or nothing would change."""
        after = _clean(fields)
        if after == _clean(reply.fields()):
            return False
        result = await self.conn.execute(
            update(saved_replies)
            .where(saved_replies.c.id == reply.id, _live())
            .values(**after, updated_by=actor, updated_at=now)
        )
        if result.rowcount != 1:
            return False
        await self._record(reply.id, action, actor, reply.fields(), after, now)
        return True

    async def delete(self, reply: SavedReply, *, actor: str, now: datetime) -> bool:
        """Mark a reply deleted (kept: the messages sent from it still name it); False when it already was."""
        result = await self.conn.execute(
            update(saved_replies).where(saved_replies.c.id == reply.id, _live())
            .values(deleted_at=now, updated_by=actor, updated_at=now)
        )  # fmt: skip
        if result.rowcount != 1:
            return False
        await self._record(reply.id, "delete", actor, reply.fields(), None, now)
        return True

    async def _record(
        self, reply_id: int, action: str, actor: str, before: Any, after: Any, now: datetime
    ) -> None:
        await self.conn.execute(
            saved_reply_changes.insert().values(
                saved_reply_id=reply_id, action=action, actor=actor, before=before, after=after, created_at=now
            )
        )

    async def changes(self, reply_id: int | None = None) -> list[Change]:
        """Who changed what, oldest first (one reply's, or the whole library's)."""
        query = select(saved_reply_changes).order_by(saved_reply_changes.c.id)
        if reply_id is not None:
            query = query.where(saved_reply_changes.c.saved_reply_id == reply_id)
        rows = (await self.conn.execute(query)).all()
        return [
            Change(r.saved_reply_id, r.action, r.actor, r.before, r.after, r.created_at) for r in rows
        ]

    async def seeded_titles(self) -> set[str]:
        """The titles the YAML seed has ever added (case-folded): a seed entry is applied once, whatever the team
        did with it afterwards (renamed, edited or deleted)."""
        rows = await self.conn.execute(
            select(saved_reply_changes.c.after).where(saved_reply_changes.c.action == "seed")
        )
        return {str((after or {}).get("title", "")).lower() for (after,) in rows.all()}


def _clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": str(fields.get("title") or ""),
        "body_ko": str(fields.get("body_ko") or ""),
        "body_en": str(fields.get("body_en") or ""),
        "tags": [str(t) for t in fields.get("tags") or ()],
    }


async def saved_reply_uses(
    conn: AsyncConnection, since: datetime, until: datetime, *, reply_ids: Sequence[int] | None = None
) -> list[tuple[int, str, int]]:
    """How many messages were sent from each saved reply in [since, until): (id, title, uses), most used first,
    deleted replies included while they still have uses in the period. A message's edits are not counted again."""
    uses = func.count(messages.c.id).label("uses")
    query = (
        select(saved_replies.c.id, saved_replies.c.title, uses)
        .join(messages, messages.c.saved_reply_id == saved_replies.c.id)
        .where(and_(messages.c.created_at >= since, messages.c.created_at < until, messages.c.edit_of.is_(None)))
        .group_by(saved_replies.c.id, saved_replies.c.title)
        .order_by(uses.desc(), saved_replies.c.title)
    )
    if reply_ids is not None:
        query = query.where(saved_replies.c.id.in_(list(reply_ids)))
    rows = (await conn.execute(query)).all()
    return [(int(r.id), str(r.title), int(r.uses)) for r in rows]
