"""Substring search over the archive: message and note texts, and the customers' names, usernames and ids.

Korean has no spaces between a word and its particles (``환불이``, ``환불해``), so words are found as substrings,
not as tokens. The index is built by migration 0003:

- SQLite: FTS5 ``trigram`` tables (``messages_fts``, ``activities_fts``, ``identities_fts``) kept exact by triggers.
  A term of three or more characters is a trigram phrase; shorter terms (trigrams cannot hold them) are checked
  with LIKE on the rows the longer terms found, or, for an all-short query, found through the gram tables of
  migration 0012 (``messages_grams`` and the others: every one- and two-character gram, bot.store.grams).
- PostgreSQL: ``pg_trgm`` GIN indexes serve ILIKE for terms of three characters or more, and a GIN index over
  ``threadbridge_grams(text)`` (every one- and two-character gram) serves the short ones exactly.

Results come newest first and page by keyset (``before``: an id), so page 50 costs what page 1 costs. The
PostgreSQL planner sorts every match of a mid-frequency term before it returns ten, so its queries run in two
phases: the newest ``RECENT_WINDOW`` ids by a cheap scan, and only if that is not enough, the rest by the index.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    func,
    literal_column,
    or_,
    select,
    text,
)

from bot.domain.ids import parse_id
from bot.store.customer_schema import activities, customer_state
from bot.store.schema import conversations, customers, identities, messages
from bot.store.search_match import IDENTITY_TEXT_SQL, TextMatch, escape_like, is_short
from bot.store.search_results import Filters, Hit

RECENT_WINDOW = 10_000
"""PostgreSQL: ids scanned newest-first before the index is asked (see the module docstring)."""

CANDIDATES = 200
"""PostgreSQL: ids taken from the text indexes at a time when filters on other tables may drop some of them."""

_SEARCHABLE_ACTIVITIES = ("note", "contact")


class Search(TextMatch):
    """The search queries of one transaction (``Transaction.search``)."""

    # --- customers -------------------------------------------------------------------------------------------

    async def customers_matching(self, terms: Sequence[str], *, limit: int = 21) -> list[int]:
        """Customers one of whose identities holds every term in its name, username or channel id, plus the
        customer a lone ``#12`` names; survivors of merges, most recently created first."""
        terms = [t.lstrip("@") for t in terms if t.lstrip("@")]
        if not terms:
            return []
        found: dict[int, None] = {}
        number = parse_id(terms[0][1:]) if len(terms) == 1 and terms[0].startswith("#") else None
        if number is not None:  # "#12" names customer 12 (a bare number is not an id)
            survivor = await self.survivor(number)
            if survivor is not None:
                found[survivor] = None
        identity_text: ColumnElement[str] = literal_column(IDENTITY_TEXT_SQL)
        stmt = select(identities.c.customer_id)
        match = self._text_match("identities_fts", "identities_grams", terms)
        short = [t for t in terms if is_short(t)] if match is not None else terms  # LIKE checks what FTS cannot
        if match is not None:
            fts_table, condition = match
            stmt = stmt.select_from(fts_table.join(identities, identities.c.id == fts_table.c.rowid)).where(condition)
        for term in short:
            if self._postgres:
                stmt = stmt.where(self._contains(identity_text, term, indexed=True))
            else:  # a scan: the narrow columns, and not the channel ids (a digit or two of an id means nothing)
                pattern = f"%{escape_like(term)}%"
                stmt = stmt.where(
                    or_(
                        identities.c.display_name.like(pattern, escape="\\"),
                        identities.c.username.like(pattern, escape="\\"),
                    )
                )
        stmt = stmt.order_by(identities.c.customer_id.desc()).limit(limit * 4)
        if self._postgres and any(is_short(t) for t in terms):
            async with self._bitmap_scans_only():  # see indexed_ids: the grams must come from the index
                rows = (await self.conn.execute(stmt)).all()
        else:
            rows = (await self.conn.execute(stmt)).all()
        for (customer_id,) in rows:
            found[customer_id] = None
            if len(found) >= limit:
                break
        return list(found)[:limit]

    async def survivor(self, customer_id: int) -> int | None:
        """The customer an id stands for today: itself, or the one it was merged into; None when unknown."""
        row = (
            await self.conn.execute(
                select(customers.c.id, customer_state.c.merged_into)
                .select_from(customers.outerjoin(customer_state, customer_state.c.customer_id == customers.c.id))
                .where(customers.c.id == customer_id)
            )
        ).first()
        if row is None:
            return None
        return row.merged_into or row.id

    # --- messages --------------------------------------------------------------------------------------------

    def _message_select(self) -> Select[Any]:
        return select(
            messages.c.id,
            messages.c.conversation_id,
            messages.c.direction,
            messages.c.author_name,
            messages.c.text,
            messages.c.created_at,
            conversations.c.customer_id,
            conversations.c.slack_channel,
            conversations.c.thread_ts,
            conversations.c.category,
            identities.c.channel.label("customer_channel"),
            identities.c.display_name,
            identities.c.username,
        )

    def _message_joins(self, base: Any) -> Any:
        return base.join(conversations, conversations.c.id == messages.c.conversation_id).join(
            identities, identities.c.id == conversations.c.identity_id
        )

    async def messages(
        self,
        terms: Sequence[str],
        filters: Filters,
        *,
        before: int | None = None,
        limit: int = 10,
        of_customers: Sequence[int] = (),
    ) -> list[Hit]:
        """Messages holding every term (or, with ``of_customers``, also every message of those customers), newest
        first, with ids below ``before``."""
        hits = await self._messages_by_text(terms, filters, before, limit) if terms or not of_customers else []
        if of_customers:
            extra = await self._messages_scan((), replace(filters, customer_ids=tuple(of_customers)), before, limit)
            merged = {h.id: h for h in [*hits, *extra]}
            hits = sorted(merged.values(), key=lambda h: h.id, reverse=True)[:limit]
        return hits

    async def _messages_by_text(
        self, terms: Sequence[str], filters: Filters, before: int | None, limit: int
    ) -> list[Hit]:
        if filters.customer_ids is not None or not terms:
            return await self._messages_scan(terms, filters, before, limit)  # a few conversations: no index needed
        match = self._text_match("messages_fts", "messages_grams", terms)
        if match is not None:  # SQLite, the terms in an FTS index (trigrams or grams): it drives, newest first
            fts_table, condition = match
            stmt = (
                self._message_select()
                .select_from(self._message_joins(fts_table.join(messages, messages.c.id == fts_table.c.rowid)))
                .where(condition, *self._filter_conditions(filters, created=await self._created(filters)))
            )
            for term in terms:
                if is_short(term):
                    stmt = stmt.where(self._contains(messages.c.text, term, indexed=False))
            if before is not None:
                stmt = stmt.where(fts_table.c.rowid < before)
            stmt = stmt.order_by(fts_table.c.rowid.desc()).limit(limit)
            return await self._hits(stmt)
        if not self._postgres:  # SQLite, a short term no index holds (whitespace in it): scan newest first
            return await self._messages_scan(terms, filters, before, limit)
        return await self._messages_two_phase(terms, filters, before, limit)

    async def _created(self, filters: Filters) -> Any:
        """messages.created_at as the date filters should use it. SQLite without statistics walks the
        created_at index for any date condition and sorts the range, which for a wide range is far slower than
        reading newest first; so a range holding more than a tenth of the ids is compared through an expression
        the index cannot serve. The conditions stay exact either way; only the plan changes."""
        column = messages.c.created_at
        if self._postgres or (filters.since is None and filters.until is None):
            return column
        newest = (await self.conn.execute(select(func.max(messages.c.id)))).scalar_one_or_none() or 0
        low = high = None
        if filters.since is not None:
            low = (
                await self.conn.execute(select(messages.c.id).where(column >= filters.since).order_by(column).limit(1))
            ).scalar_one_or_none()
        if filters.until is not None:
            high = (
                await self.conn.execute(
                    select(messages.c.id).where(column < filters.until).order_by(column.desc()).limit(1)
                )
            ).scalar_one_or_none()
        if (filters.since is not None and low is None) or (filters.until is not None and high is None):
            return column  # nothing in the range: the index says so at once
        if (high if high is not None else newest) - (low or 0) <= newest // 10:
            return column
        return func.coalesce(column, column)

    async def _messages_scan(self, terms: Sequence[str], filters: Filters, before: int | None, limit: int) -> list[Hit]:
        stmt = self._message_select().select_from(self._message_joins(messages))
        stmt = stmt.where(*self._filter_conditions(filters, created=await self._created(filters)))
        if filters.customer_ids is not None:
            conversation_ids = select(conversations.c.id).where(conversations.c.customer_id.in_(filters.customer_ids))
            stmt = stmt.where(messages.c.conversation_id.in_(conversation_ids))
        for term in terms:
            stmt = stmt.where(self._contains(messages.c.text, term, indexed=False))
        if before is not None:
            stmt = stmt.where(messages.c.id < before)
        return await self._hits(stmt.order_by(messages.c.id.desc()).limit(limit))

    async def _messages_two_phase(
        self, terms: Sequence[str], filters: Filters, before: int | None, limit: int
    ) -> list[Hit]:
        """PostgreSQL: the newest window by id (cheap ILIKE per row), then the rest through the indexes."""
        if before is None:
            newest = (await self.conn.execute(select(func.max(messages.c.id)))).scalar_one_or_none()
            if newest is None:
                return []
            before = newest + 1
        floor = before - RECENT_WINDOW
        base = (
            self._message_select().select_from(self._message_joins(messages)).where(*self._filter_conditions(filters))
        )
        recent = base.where(messages.c.id < before, messages.c.id >= floor)
        for term in terms:
            recent = recent.where(self._contains(messages.c.text, term, indexed=False))
        hits = await self._hits(recent.order_by(messages.c.id.desc()).limit(limit))
        if len(hits) >= limit or floor <= 0:
            return hits
        joined = filters.category is not None or filters.channel is not None or filters.tag is not None
        extra = self._filter_conditions(Filters(since=filters.since, until=filters.until))
        cursor = floor
        while len(hits) < limit:  # candidates through the text indexes, then the other filters on those
            batch = CANDIDATES if joined else limit - len(hits)
            ids = await self.indexed_ids(messages, terms, before=cursor, limit=batch, extra=extra)
            if not ids:
                break
            found = await self._hits(base.where(messages.c.id.in_(ids)).order_by(messages.c.id.desc()))
            hits += found[: limit - len(hits)]
            if len(ids) < batch:
                break
            cursor = ids[-1]
        return hits

    async def indexed_ids(
        self, table: Any, terms: Sequence[str], *, before: int, limit: int, extra: Sequence[Any] = ()
    ) -> list[int]:
        """PostgreSQL: ids of ``table`` rows below ``before`` whose text holds every term, newest first, found
        through the GIN indexes only.

        The planner estimates a gram's rarity poorly and, given ORDER BY id LIMIT, likes to walk the primary key
        newest first and compute ``threadbridge_grams`` for every row it passes: for a rare gram that is every row,
        about 0.1 ms each. Ruling out plain index and sequential scans for this one query leaves it the bitmap scans
        of the text indexes, which touch only matching rows.
        """
        conditions = [self._contains(table.c.text, t, indexed=True) for t in terms]
        stmt = select(table.c.id).where(table.c.id < before, *conditions, *extra)
        async with self._bitmap_scans_only():
            rows = await self.conn.execute(stmt.order_by(table.c.id.desc()).limit(limit))
            return [r.id for r in rows]

    @asynccontextmanager
    async def _bitmap_scans_only(self) -> AsyncIterator[None]:
        settings = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")
        for name in settings:
            await self.conn.execute(text(f"SET LOCAL {name} = off"))
        try:
            yield
        finally:
            for name in settings:
                await self.conn.execute(text(f"SET LOCAL {name} TO DEFAULT"))

    async def _hits(self, stmt: Any) -> list[Hit]:
        return [
            Hit(
                kind="message",
                id=r.id,
                customer_id=r.customer_id,
                conversation_id=r.conversation_id,
                customer_name=r.display_name,
                customer_username=r.username,
                channel=r.customer_channel,
                role=r.direction,
                author=r.author_name,
                text=r.text,
                created_at=r.created_at,
                slack_channel=r.slack_channel,
                thread_ts=r.thread_ts,
                category=r.category,
            )
            for r in (await self.conn.execute(stmt)).all()
        ]

    # --- notes and contact attempts --------------------------------------------------------------------------

    async def notes(
        self,
        terms: Sequence[str],
        filters: Filters,
        *,
        before: int | None = None,
        limit: int = 10,
        of_customers: Sequence[int] = (),
    ) -> list[Hit]:
        """Timeline notes and contact attempts holding every term (or of ``of_customers``), newest first."""
        first_identity = (
            select(func.min(identities.c.id))
            .where(identities.c.customer_id == activities.c.customer_id)
            .correlate(activities)
            .scalar_subquery()
        )
        base = (
            select(
                activities.c.id,
                activities.c.customer_id,
                activities.c.conversation_id,
                activities.c.kind,
                activities.c.actor,
                activities.c.text,
                activities.c.created_at,
                conversations.c.slack_channel,
                conversations.c.thread_ts,
                conversations.c.category,
                identities.c.channel.label("customer_channel"),
                identities.c.display_name,
                identities.c.username,
            )
            .select_from(
                activities.outerjoin(conversations, conversations.c.id == activities.c.conversation_id).join(
                    identities, identities.c.id == first_identity
                )
            )
            .where(
                activities.c.kind.in_(_SEARCHABLE_ACTIVITIES), *self._filter_conditions(filters, for_activities=True)
            )
        )
        if before is not None:
            base = base.where(activities.c.id < before)
        customer_scope = list(filters.customer_ids) if filters.customer_ids is not None else None
        found: dict[int, Any] = {}
        if terms or not of_customers:
            stmt = base
            if customer_scope is not None:
                stmt = stmt.where(activities.c.customer_id.in_(customer_scope))
            match = self._text_match("activities_fts", "activities_grams", terms) if customer_scope is None else None
            remaining = list(terms)
            if match is not None:
                fts_table, condition = match
                stmt = stmt.where(activities.c.id.in_(select(fts_table.c.rowid).where(condition)))
                remaining = [t for t in terms if is_short(t)]
            if self._postgres and terms and customer_scope is None:  # candidates through the text indexes
                cursor = before if before is not None else 2**62
                kinds = [activities.c.kind.in_(_SEARCHABLE_ACTIVITIES)]
                while len(found) < limit:
                    ids = await self.indexed_ids(activities, terms, before=cursor, limit=CANDIDATES, extra=kinds)
                    if not ids:
                        break
                    batch = stmt.where(activities.c.id.in_(ids)).order_by(activities.c.id.desc())
                    for r in (await self.conn.execute(batch)).all():
                        if len(found) < limit:
                            found[r.id] = r
                    if len(ids) < CANDIDATES:
                        break
                    cursor = ids[-1]
            else:
                for term in remaining:
                    stmt = stmt.where(self._contains(activities.c.text, term, indexed=False))
                for r in (await self.conn.execute(stmt.order_by(activities.c.id.desc()).limit(limit))).all():
                    found[r.id] = r
        if of_customers:
            stmt = base.where(activities.c.customer_id.in_(list(of_customers)))
            for r in (await self.conn.execute(stmt.order_by(activities.c.id.desc()).limit(limit))).all():
                found[r.id] = r
        rows = sorted(found.values(), key=lambda r: r.id, reverse=True)[:limit]
        return [
            Hit(
                kind="note",
                id=r.id,
                customer_id=r.customer_id,
                conversation_id=r.conversation_id,
                customer_name=r.display_name,
                customer_username=r.username,
                channel=r.customer_channel,
                role=r.kind,
                author=r.actor,
                text=r.text,
                created_at=r.created_at,
                slack_channel=r.slack_channel,
                thread_ts=r.thread_ts,
                category=r.category,
            )
            for r in rows
        ]
