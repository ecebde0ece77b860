"""How a search term is matched in each dialect: FTS5 trigram phrases, FTS5 gram tokens and LIKE on SQLite, trigram
and gram indexes on PostgreSQL; and the filters of ``/history`` as conditions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Text, cast, column, exists, func, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.customer_schema import activities
from bot.store.grams import term_token
from bot.store.schema import conversations, identities, messages
from bot.store.search_results import Filters
from bot.store.toolkit_schema import conversation_tags

MIN_TRIGRAM = 3

IDENTITY_TEXT_SQL = (
    "(identities.display_name || ' ' || coalesce(identities.username, '') || ' ' || identities.external_id)"
)
"""What a customer is found by: on PostgreSQL the expression of migration 0003's identity indexes (PostgreSQL
matches an index expression by its parsed form, so the table prefix does not matter; the literals do)."""


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_phrase(term: str) -> str:
    """An FTS5 phrase matching ``term`` as a substring (trigram tokenizer): quoted, inner quotes doubled."""
    return '"' + term.replace('"', '""') + '"'


def is_short(term: str) -> bool:
    """Too short for a trigram index: found by LIKE (SQLite) or by the gram index (PostgreSQL)."""
    return len(term) < MIN_TRIGRAM


class TextMatch:
    """Conditions for the search queries of one connection (``bot.store.search.Search`` builds on them)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @property
    def _postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    # --- conditions ------------------------------------------------------------------------------------------

    def _contains(self, col: Any, term: str, *, indexed: bool) -> ColumnElement[bool]:
        """``col`` contains ``term``, case-insensitively, in the form the dialect's index serves."""
        if not self._postgres:
            return col.like(f"%{escape_like(term)}%", escape="\\")
        if indexed and is_short(term) and not any(ch.isspace() for ch in term):
            grams = func.threadbridge_grams(col, type_=ARRAY(Text))
            return grams.op("@>")(cast(postgresql.array([term.lower()]), ARRAY(Text)))
        return col.ilike(f"%{escape_like(term)}%", escape="\\")

    def _fts_match(self, fts: str, terms: Sequence[str]) -> tuple[Any, Any] | None:
        """SQLite: the FTS table and its MATCH condition for the terms long enough for trigrams, if any."""
        long_terms = [t for t in terms if not is_short(t)]
        if self._postgres or not long_terms:
            return None
        fts_table = table(fts, column("rowid"))
        query = " AND ".join(_fts_phrase(t) for t in long_terms)
        return fts_table, text(f"{fts} MATCH :{fts}_q").bindparams(**{f"{fts}_q": query})

    def _grams_match(self, grams: str, terms: Sequence[str]) -> tuple[Any, Any] | None:
        """SQLite: the gram table and its MATCH condition when every term is short and the gram index holds it (an
        absent term is then one index lookup instead of a scan); None otherwise."""
        tokens = [term_token(t) for t in terms]
        if self._postgres or not tokens or None in tokens:  # term_token: None for a term of trigram length
            return None
        gram_table = table(grams, column("rowid"))
        return gram_table, text(f"{grams} MATCH :{grams}_q").bindparams(**{f"{grams}_q": " AND ".join(tokens)})

    def _text_match(self, fts: str, grams: str, terms: Sequence[str]) -> tuple[Any, Any] | None:
        """SQLite: the index that finds rows holding ``terms``: trigrams when a term is long enough, else grams."""
        return self._fts_match(fts, terms) or self._grams_match(grams, terms)

    def _filter_conditions(
        self, filters: Filters, *, for_activities: bool = False, created: Any = None
    ) -> list[ColumnElement[bool]]:
        if created is None:
            created = activities.c.created_at if for_activities else messages.c.created_at
        conditions: list[ColumnElement[bool]] = []
        if filters.since is not None:
            conditions.append(created >= filters.since)
        if filters.until is not None:
            conditions.append(created < filters.until)
        if filters.category is not None:
            conditions.append(conversations.c.category == filters.category)
        if filters.tag is not None:  # a note counts when written from a thread of a tagged conversation
            column = activities.c.conversation_id if for_activities else messages.c.conversation_id
            conditions.append(
                exists().where(conversation_tags.c.conversation_id == column, conversation_tags.c.tag == filters.tag)
            )
        if filters.channel is not None:
            if for_activities:
                other = identities.alias("channel_identity")
                conditions.append(
                    exists().where(other.c.customer_id == activities.c.customer_id, other.c.channel == filters.channel)
                )
            else:
                conditions.append(identities.c.channel == filters.channel)
        return conditions
