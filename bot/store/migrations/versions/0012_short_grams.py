"""SQLite: an index of one- and two-character grams, so a short search term is one index lookup, not a scan

PostgreSQL has had this since 0003 (a GIN index over ``threadbridge_grams(text)``); nothing changes there. On
SQLite each searchable table gets a contentless FTS5 table of its gram tokens (bot.store.grams), kept exact by
triggers and filled here from what the archive already holds.

Revision ID: 0012_short_grams
Revises: 0011_reports
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

from bot.store.grams import FUNCTION

revision = "0012_short_grams"
down_revision = "0011_reports"
branch_labels = None
depends_on = None

_GRAM_TABLES = {
    # gram table: (searched table, the columns the search's short-term scan reads)
    "messages_grams": ("messages", ("text",)),
    "activities_grams": ("activities", ("text",)),
    "identities_grams": ("identities", ("display_name", "username")),
}


def _statements(gram_table: str, table: str, columns: tuple[str, ...]) -> list[str]:
    def of(row: str) -> str:
        return f"{FUNCTION}({', '.join(f'{row}.{c}' for c in columns)})"

    cols = ", ".join(columns)
    delete_old = f"INSERT INTO {gram_table}({gram_table}, rowid, grams) VALUES ('delete', old.id, {of('old')});"
    insert_new = f"INSERT INTO {gram_table}(rowid, grams) VALUES (new.id, {of('new')});"
    return [
        f"CREATE VIRTUAL TABLE {gram_table} USING fts5(grams, content='', detail=none, columnsize=0, tokenize='ascii')",
        f"CREATE TRIGGER {gram_table}_ai AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"CREATE TRIGGER {gram_table}_ad AFTER DELETE ON {table} BEGIN {delete_old} END",
        f"CREATE TRIGGER {gram_table}_au AFTER UPDATE OF {cols} ON {table} BEGIN {delete_old} {insert_new} END",
        f"INSERT INTO {gram_table}(rowid, grams) SELECT id, {FUNCTION}({cols}) FROM {table}",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for gram_table, (table, columns) in _GRAM_TABLES.items():
        for statement in _statements(gram_table, table, columns):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for gram_table in _GRAM_TABLES:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {gram_table}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {gram_table}")
