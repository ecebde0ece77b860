"""conversations that feel human: a lasting map of message ids, versions of edited messages, each customer's
language, and inquiries waiting on the customer or on hold

Revision ID: 0008
Revises: 0007_website
Create Date: 2026-12-01

The map (``message_parts``) is filled in for what the archive already holds: every Slack post a message has
(``slack_ts``) and every message its customer's channel gave it (``external_message_ids``), so replies sent before
the upgrade can be edited and deleted too. A customer message posted before its thread moved channel is mapped to
the channel the thread is in now (the archive did not say more).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime  # a stable type: aware UTC timestamps on every backend

revision = "0008"
down_revision = "0007_website"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BATCH = 1000


def upgrade() -> None:
    op.add_column("identities", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("messages", sa.Column("edit_of", _ID, nullable=True))
    op.create_index(op.f("ix_messages_edit_of"), "messages", ["edit_of"], unique=False)
    for column in (
        sa.Column("hold", sa.String(length=16), nullable=True),
        sa.Column("hold_until", UTCDateTime(), nullable=True),
        sa.Column("hold_since", UTCDateTime(), nullable=True),
        sa.Column("hold_set_by", sa.String(length=64), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=True),
    ):
        op.add_column("inquiry_state", column)
    op.create_table(
        "message_parts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=128), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_message_parts_message_id_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_parts")),
    )
    op.create_index(op.f("ix_message_parts_message_id"), "message_parts", ["message_id"], unique=False)
    op.create_index(
        "ix_message_parts_platform_place_external_id", "message_parts", ["platform", "place", "external_id"]
    )
    _map_what_the_archive_holds()


def _map_what_the_archive_holds() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    messages = sa.Table(
        "messages", meta, sa.Column("id", _ID), sa.Column("conversation_id", _ID),
        sa.Column("direction", sa.String), sa.Column("source_key", sa.String), sa.Column("attachments", sa.JSON),
        sa.Column("external_message_ids", sa.JSON), sa.Column("slack_ts", sa.String),
        sa.Column("created_at", UTCDateTime()),
    )  # fmt: skip
    conversations = sa.Table(
        "conversations", meta, sa.Column("id", _ID), sa.Column("identity_id", _ID),
        sa.Column("slack_channel", sa.String),
    )  # fmt: skip
    identities = sa.Table(
        "identities", meta, sa.Column("id", _ID), sa.Column("channel", sa.String), sa.Column("external_id", sa.String)
    )
    parts = sa.Table(
        "message_parts", meta, sa.Column("message_id", _ID), sa.Column("platform", sa.String),
        sa.Column("place", sa.String), sa.Column("external_id", sa.String), sa.Column("position", sa.Integer),
        sa.Column("kind", sa.String), sa.Column("created_at", UTCDateTime()),
    )  # fmt: skip
    query = (
        sa.select(
            messages, conversations.c.slack_channel, identities.c.channel, identities.c.external_id.label("address")
        )
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .join(identities, identities.c.id == conversations.c.identity_id)
        .order_by(messages.c.id)
        .limit(_BATCH)
    )
    after = 0
    while True:
        rows = bind.execute(query.where(messages.c.id > after)).all()
        if not rows:
            return
        values: list[dict[str, Any]] = []
        for row in rows:
            values.extend(_parts_of(row))
        if values:
            bind.execute(parts.insert(), values)
        after = rows[-1].id


def _parts_of(row: Any) -> list[dict[str, Any]]:
    found = []
    if row.slack_ts and not str(row.source_key).startswith("erased:"):
        channel = row.slack_channel
        if row.direction in ("outbound", "note") and str(row.source_key).startswith("slack:"):
            channel = str(row.source_key).split(":")[1]  # the staff member's own message: where they wrote it
        # A customer's files went up as uploads (the first part may be a file, not a post): never updated in place
        kind = "file" if row.direction == "inbound" and row.attachments else "text"
        found.append({"platform": "slack", "place": channel, "external_id": row.slack_ts, "position": 0,
                      "kind": kind})  # fmt: skip
    ids = [str(i) for i in (row.external_message_ids or []) if i is not None]
    files = len(row.attachments or []) if row.direction != "inbound" else 0
    for position, external_id in enumerate(ids):
        kind = "file" if position >= len(ids) - files else "text"
        found.append({"platform": row.channel, "place": row.address, "external_id": external_id[:64],
                      "position": position, "kind": kind})  # fmt: skip
    return [{**part, "message_id": row.id, "created_at": row.created_at} for part in found]


def downgrade() -> None:
    op.drop_index("ix_message_parts_platform_place_external_id", table_name="message_parts")
    op.drop_index(op.f("ix_message_parts_message_id"), table_name="message_parts")
    op.drop_table("message_parts")
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy of messages or identities would drop the
    # search triggers of migration 0003 with the old table.
    for name in ("paused_seconds", "hold_set_by", "hold_since", "hold_until", "hold"):
        op.execute(f"ALTER TABLE inquiry_state DROP COLUMN {name}")
    op.drop_index(op.f("ix_messages_edit_of"), table_name="messages")
    op.execute("ALTER TABLE messages DROP COLUMN edit_of")
    op.execute("ALTER TABLE identities DROP COLUMN language")
