"""Queries of reports: a period's conversations counted, grouped and listed, on SQLite and PostgreSQL alike.

Counts and sums are grouped in SQL, by category and person at once, so a report reads each conversation of its period
once and adds up cells; the percentiles come from the per-conversation rows that are also the report's CSV. Every
query reads a period through an index (``bot.store.report_schema``), never the whole archive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, and_, case, cast, func, literal, null, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

import bot.store.report_schema  # noqa: F401  (the indexes these queries read by)
from bot.store.routing_schema import inquiry_state
from bot.store.schema import conversations, messages
from bot.store.toolkit_schema import conversation_tags, saved_replies, surveys

OUTBOUND = "outbound"


class utc_hour(FunctionElement[str]):
    """A timestamp's hour in UTC as text, "YYYY-MM-DD HH": Python turns it into the team's local hour."""

    type = String()
    inherit_cache = True


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element: utc_hour, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d %H', {compiler.process(next(iter(element.clauses)), **kw)})"


@compiles(utc_hour, "postgresql")
def _utc_hour_postgresql(element: utc_hour, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(next(iter(element.clauses)), **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


class utc_iso(FunctionElement[str]):
    """A timestamp as ISO 8601 text in UTC ("2026-11-23T01:00:00+00:00"), formatted by the database: the CSV's tens
    of thousands of timestamps are never parsed into Python datetimes only to be printed again."""

    type = String()
    inherit_cache = True


@compiles(utc_iso, "sqlite")
def _utc_iso_sqlite(element: utc_iso, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {compiler.process(next(iter(element.clauses)), **kw)})"


@compiles(utc_iso, "postgresql")
def _utc_iso_postgresql(element: utc_iso, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""


@dataclass(frozen=True)
class Scope:
    """Which conversations a report covers: a period, and at most one category or person."""

    start: datetime
    end: datetime
    category: str | None = None
    person: str | None = None
    targets: Mapping[str, int] | None = None  # category -> first-response target in seconds


@dataclass(frozen=True)
class Cell:
    """The counts of one (category, person) pair in the period."""

    category: str | None
    person: str | None
    opened: int
    closed: int
    answered: int
    targeted: int  # opened in a category with a first-response target
    within_target: int


@dataclass(frozen=True)
class SurveyCell:
    category: str | None
    person: str | None
    asked: int
    rated: int
    rating_sum: int


class ConversationRow(NamedTuple):
    """One conversation behind the numbers (a CSV line); a tuple, as a 90-day report reads tens of thousands."""

    id: int
    opened_at: str  # ISO 8601, UTC
    closed_at: str | None
    status: str
    category: str | None
    person: str | None
    first_response_seconds: int | None  # business time, holds excluded; None: not answered (or opened earlier)
    resolution_seconds: int | None  # wall-clock; None: not closed in the period
    rating: int | None
    opened_in_period: bool
    tags: str  # its tags, separated by spaces


class Duration(NamedTuple):
    """How long one conversation took, as far as the period saw it."""

    category: str | None
    person: str | None
    first_response_seconds: int | None  # business time, holds excluded; None: not answered or opened earlier
    resolution_seconds: int | None  # wall-clock; None: not closed in the period


def _person() -> ColumnElement[Any]:
    """Whose conversation it is: its holder, else whoever answered first."""
    return func.coalesce(conversations.c.holder, inquiry_state.c.first_response_by)


def _business_first_response() -> ColumnElement[Any]:
    """The archived first-response time (business seconds from the opening) less the time holds paused it."""
    raw = inquiry_state.c.first_response_seconds - func.coalesce(inquiry_state.c.paused_seconds, 0)
    return case((raw < 0, 0), else_=raw)


class ReportStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def _in(self, column: Any, scope: Scope) -> ColumnElement[bool]:
        return and_(column >= scope.start, column < scope.end)

    def _filters(self, scope: Scope) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if scope.category is not None:
            where.append(conversations.c.category == scope.category)
        if scope.person is not None:
            where.append(_person() == scope.person)
        return where

    def _touched(self, scope: Scope) -> ColumnElement[bool]:
        """Opened or closed in the period (each side read by its own index)."""
        return or_(self._in(conversations.c.opened_at, scope), self._in(conversations.c.closed_at, scope))

    def _joined(self) -> Any:
        return conversations.outerjoin(inquiry_state, inquiry_state.c.conversation_id == conversations.c.id)

    async def cells(self, scope: Scope) -> list[Cell]:
        opened = self._in(conversations.c.opened_at, scope)
        closed = self._in(conversations.c.closed_at, scope)
        fr = _business_first_response()
        targets = dict(scope.targets or {})
        no_target = cast(null(), Integer)
        target = case(targets, value=conversations.c.category, else_=no_target) if targets else no_target
        one = literal(1, Integer)

        def count(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, one), else_=0)), 0)

        person = _person().label("person")
        query = (
            select(
                conversations.c.category,
                person,
                count(opened).label("opened"),
                count(closed).label("closed"),
                count(and_(opened, inquiry_state.c.first_response_seconds.is_not(None))).label("answered"),
                count(and_(opened, target.is_not(None))).label("targeted"),
                count(and_(opened, target.is_not(None), fr <= target)).label("within_target"),
            )
            .select_from(self._joined())
            .where(self._touched(scope), *self._filters(scope))
            .group_by(conversations.c.category, person)
        )
        rows = (await self.conn.execute(query)).all()
        return [Cell(r.category, r.person, int(r.opened), int(r.closed), int(r.answered), int(r.targeted),
                     int(r.within_target)) for r in rows]  # fmt: skip

    async def durations(self, scope: Scope) -> list[Duration]:
        """First-response and resolution times of the period's conversations: what the percentiles are taken of."""
        opened = self._in(conversations.c.opened_at, scope)
        closed = self._in(conversations.c.closed_at, scope)
        query = (
            select(
                conversations.c.category,
                _person().label("person"),
                case((opened, _business_first_response()), else_=null()).label("first_response_seconds"),
                case((closed, inquiry_state.c.resolution_seconds), else_=null()).label("resolution_seconds"),
            )
            .select_from(self._joined())
            .where(self._touched(scope), *self._filters(scope))
        )
        # Rows as the driver fetched them, all at once: they read like a Duration, without one made per row.
        return (await self.conn.execute(query)).all()  # type: ignore[return-value]

    async def rows(self, scope: Scope) -> list[ConversationRow]:
        opened = self._in(conversations.c.opened_at, scope)
        closed = self._in(conversations.c.closed_at, scope)
        tags = (
            select(func.aggregate_strings(conversation_tags.c.tag, " "))
            .where(conversation_tags.c.conversation_id == conversations.c.id)
            .scalar_subquery()
        )
        query = (
            select(
                conversations.c.id,
                utc_iso(conversations.c.opened_at).label("opened_at"),
                utc_iso(conversations.c.closed_at).label("closed_at"),
                conversations.c.status,
                conversations.c.category,
                _person().label("person"),
                case((opened, _business_first_response()), else_=null()).label("fr"),
                case((closed, inquiry_state.c.resolution_seconds), else_=null()).label("resolution"),
                surveys.c.rating,
                case((opened, literal(1, Integer)), else_=0).label("opened_in"),
                tags.label("tags"),
            )
            .select_from(self._joined().outerjoin(surveys, surveys.c.conversation_id == conversations.c.id))
            .where(self._touched(scope), *self._filters(scope))
            .order_by(conversations.c.id)
        )
        result = (await self.conn.execute(query)).all()
        return [
            ConversationRow(
                id_, opened_at, closed_at, status, category, person, fr, resolution, rating, opened_in == 1,
                (" ".join(sorted(tags.split(" "))) if " " in tags else tags) if tags else "",
            )
            for id_, opened_at, closed_at, status, category, person, fr, resolution, rating, opened_in, tags in result
        ]

    async def survey_cells(self, scope: Scope) -> list[SurveyCell]:
        """Surveys asked in the period: how many, how many answered, and their ratings' sum."""
        person = _person().label("person")
        query = (
            select(
                conversations.c.category,
                person,
                func.count().label("asked"),
                func.count(surveys.c.rating).label("rated"),
                func.coalesce(func.sum(surveys.c.rating), 0).label("rating_sum"),
            )
            .select_from(surveys.join(conversations, conversations.c.id == surveys.c.conversation_id).outerjoin(
                inquiry_state, inquiry_state.c.conversation_id == conversations.c.id))
            .where(self._in(surveys.c.asked_at, scope), *self._filters(scope))
            .group_by(conversations.c.category, person)
        )  # fmt: skip
        rows = (await self.conn.execute(query)).all()
        return [SurveyCell(r.category, r.person, int(r.asked), int(r.rated), int(r.rating_sum)) for r in rows]

    async def opened_by_hour(self, scope: Scope) -> list[tuple[str, int]]:
        """Conversations opened per UTC hour ("YYYY-MM-DD HH", count)."""
        bucket = utc_hour(conversations.c.opened_at).label("hour")
        query = (
            select(bucket, func.count().label("n"))
            .select_from(self._joined())
            .where(self._in(conversations.c.opened_at, scope), *self._filters(scope))
            .group_by(bucket)
        )
        return [(str(r.hour), int(r.n)) for r in (await self.conn.execute(query)).all()]

    async def top_tags(self, scope: Scope, limit: int = 10) -> list[tuple[str, int]]:
        """Tags of the conversations opened in the period, most used first."""
        uses = func.count().label("n")
        query = (
            select(conversation_tags.c.tag, uses)
            .select_from(
                self._joined().join(conversation_tags, conversation_tags.c.conversation_id == conversations.c.id)
            )
            .where(self._in(conversations.c.opened_at, scope), *self._filters(scope))
            .group_by(conversation_tags.c.tag)
            .order_by(uses.desc(), conversation_tags.c.tag)
            .limit(limit)
        )
        return [(str(r.tag), int(r.n)) for r in (await self.conn.execute(query)).all()]

    async def saved_reply_uses(self, scope: Scope, limit: int = 10) -> list[tuple[str, int]]:
        """Saved replies sent to customers in the period, most used first (read by the saved-reply index)."""
        uses = func.count().label("n")
        query = (
            select(saved_replies.c.title, uses)
            .select_from(
                messages.join(saved_replies, saved_replies.c.id == messages.c.saved_reply_id)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .outerjoin(inquiry_state, inquiry_state.c.conversation_id == conversations.c.id)
            )
            .where(
                messages.c.saved_reply_id.is_not(None),
                messages.c.direction == OUTBOUND,
                self._in(messages.c.created_at, scope),
                *self._filters(scope),
            )
            .group_by(saved_replies.c.id, saved_replies.c.title)
            .order_by(uses.desc(), saved_replies.c.title)
            .limit(limit)
        )
        return [(str(r.title), int(r.n)) for r in (await self.conn.execute(query)).all()]
