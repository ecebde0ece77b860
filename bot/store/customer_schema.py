"""Tables of the team's memory of a customer: pipeline stage, tags, a timeline of notes and contact attempts, and
an audit trail of who looked at what.

Kept beside the archive (migration 0003) so the bridge's own tables stay what the bridge needs. The full-text index
over messages, notes and identities is not a table here: it is created by the migration in the dialect at hand
(SQLite FTS5 ``trigram`` tables kept by triggers, PostgreSQL ``pg_trgm`` and gram GIN indexes), see
``bot.store.search``.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text

from bot.store.schema import Id, UTCDateTime, metadata

customer_state = Table(
    "customer_state",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("stage", String(75)),  # a stage of the configured pipeline; None: the pipeline's first stage
    Column("merged_into", Id, ForeignKey("customers.id")),  # set on a customer merged into another one
    Column("erased_at", UTCDateTime()),  # personal data removed on request (bot erase-customer)
    Column("updated_at", UTCDateTime(), nullable=False),
)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Column("actor", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_customer_tags_tag", "tag"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("conversation_id", Id, ForeignKey("conversations.id")),  # set when written from a thread
    Column("kind", String(16), nullable=False),  # note, contact, stage, tags, merge, erase
    Column("actor", String(64), nullable=False),
    Column("text", Text, nullable=False),  # what search finds: a note, a contact attempt's outcome
    Column("detail", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_activities_customer_id_id", "customer_id", "id"),
)
"""The customer's timeline: everything staff did or learnt about them outside the conversations themselves."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("actor", String(64), nullable=False),  # a Slack user id, or cli:<login> for the command line
    Column("action", String(32), nullable=False),  # search, profile, merge, erase, refused
    Column("target", String(512)),  # the query, or the customer id looked at
    Column("detail", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_audit_log_created_at", "created_at"),
)
"""Who looked at which customer data, and when: every search, profile view, merge, erasure and refusal."""
