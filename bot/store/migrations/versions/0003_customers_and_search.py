"""customers and search: pipeline stage, tags, timeline, audit trail, and the substring index over the archive

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-24 06:00:00

A branch beside 0002 (the bot applies every head). The search index is dialect-specific:

- SQLite: FTS5 tables with the ``trigram`` tokenizer over messages.text, activities.text and the identities' names,
  as external-content tables kept exact by triggers on every insert, update and delete, so no write path (a merge,
  an erasure, a rename) can leave the index behind. Queries of one or two characters cannot use trigrams; they fall
  back to a scan (see bot.store.search).
- PostgreSQL: ``pg_trgm`` GIN indexes for substrings of three characters or more, and a GIN index over every one-
  and two-character gram (``threadbridge_grams``) for the short queries trigrams cannot serve (two-letter Korean
  words are common). PostgreSQL keeps both current by itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime  # a stable type: aware UTC timestamps on every backend

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# What a customer is found by on PostgreSQL; bot.store.search.IDENTITY_TEXT must stay the same expression.
_PG_IDENTITY_TEXT = "(display_name || ' ' || coalesce(username, '') || ' ' || external_id)"

_PG_GRAMS = r"""
CREATE OR REPLACE FUNCTION threadbridge_grams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  chars text[] := regexp_split_to_array(regexp_replace(lower(t), '\s+', ' ', 'g'), '');
  grams text[] := '{}';
  k int;
  c text;
  p text := ' ';
BEGIN
  -- every character and every pair of adjacent characters, lower-cased, none containing white space
  FOR k IN 1..coalesce(array_length(chars, 1), 0) LOOP
    c := chars[k];
    IF c <> ' ' AND c <> '' THEN
      grams := array_append(grams, c);
      IF p <> ' ' THEN
        grams := array_append(grams, p || c);
      END IF;
    END IF;
    p := c;
  END LOOP;
  RETURN ARRAY(SELECT DISTINCT unnest(grams));
END $$
"""

_SQLITE_FTS = {
    # fts table: (content table, indexed columns)
    "messages_fts": ("messages", ("text",)),
    "activities_fts": ("activities", ("text",)),
    "identities_fts": ("identities", ("display_name", "username", "external_id")),
}


def _sqlite_index() -> list[str]:
    statements = []
    for fts, (table, columns) in _SQLITE_FTS.items():
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        statements += [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='id', tokenize='trigram')",
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # index what the archive already holds
        ]
    return statements


def _postgresql_index() -> list[str]:
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        _PG_GRAMS,
        "CREATE INDEX ix_messages_text_trgm ON messages USING gin (text gin_trgm_ops)",
        "CREATE INDEX ix_messages_text_grams ON messages USING gin (threadbridge_grams(text))",
        "CREATE INDEX ix_activities_text_trgm ON activities USING gin (text gin_trgm_ops)",
        "CREATE INDEX ix_activities_text_grams ON activities USING gin (threadbridge_grams(text))",
        f"CREATE INDEX ix_identities_text_trgm ON identities USING gin ({_PG_IDENTITY_TEXT} gin_trgm_ops)",
        f"CREATE INDEX ix_identities_text_grams ON identities USING gin (threadbridge_grams({_PG_IDENTITY_TEXT}))",
    ]


def upgrade() -> None:
    op.create_table(
        "customer_state",
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("stage", sa.String(length=75), nullable=True),
        sa.Column("merged_into", _ID, nullable=True),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_state_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["customers.id"], name=op.f("fk_customer_state_merged_into_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_state")),
    )
    op.create_table(
        "customer_tags",
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_customer_tags_customer_id_customers")),
        sa.PrimaryKeyConstraint("customer_id", "tag", name=op.f("pk_customer_tags")),
    )
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.create_index("ix_customer_tags_tag", ["tag"], unique=False)

    op.create_table(
        "activities",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("conversation_id", _ID, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_activities_customer_id_customers")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_activities_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_customer_id_id", ["customer_id", "id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=512), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_created_at", ["created_at"], unique=False)

    # `/customer @username` looks usernames up case-insensitively
    op.execute("CREATE INDEX ix_identities_username_lower ON identities (lower(username))")
    # `/history from:… to:…` (a month of a large archive is found through this, not by reading everything)
    op.execute("CREATE INDEX ix_messages_created_at ON messages (created_at)")

    dialect = op.get_bind().dialect.name
    for statement in _sqlite_index() if dialect == "sqlite" else _postgresql_index():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for fts in _SQLITE_FTS:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    else:
        for index in (
            "ix_messages_text_trgm",
            "ix_messages_text_grams",
            "ix_identities_text_trgm",
            "ix_identities_text_grams",
        ):
            op.execute(f"DROP INDEX IF EXISTS {index}")
    op.execute("DROP INDEX IF EXISTS ix_identities_username_lower")
    op.execute("DROP INDEX IF EXISTS ix_messages_created_at")
    op.drop_table("audit_log")
    op.drop_table("activities")  # its own indexes go with it
    op.drop_table("customer_tags")
    op.drop_table("customer_state")
    if dialect != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS threadbridge_grams(text)")
