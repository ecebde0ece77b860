"""routing and timers: inquiry state, escalation timers, threads left behind by a move

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime  # a stable type: aware UTC timestamps on every backend

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inquiry_state",
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("category_source", sa.String(length=16), nullable=False),
        sa.Column("category_set_by", sa.String(length=64), nullable=True),
        sa.Column("waiting_since", UTCDateTime(), nullable=True),
        sa.Column("first_response_due", UTCDateTime(), nullable=True),
        sa.Column("first_response_at", UTCDateTime(), nullable=True),
        sa.Column("first_response_by", sa.String(length=32), nullable=True),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("after_hours_replied_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_inquiry_state_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_inquiry_state")),
    )
    op.create_table(
        "inquiry_timers",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=True),
        sa.Column("fired_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_inquiry_timers_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_timers")),
        sa.UniqueConstraint("conversation_id", "kind", name=op.f("uq_inquiry_timers_conversation_id_kind")),
    )
    with op.batch_alter_table("inquiry_timers", schema=None) as batch_op:
        batch_op.create_index("ix_inquiry_timers_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "thread_aliases",
        sa.Column("slack_channel", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_thread_aliases_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("slack_channel", "thread_ts", name=op.f("pk_thread_aliases")),
    )
    with op.batch_alter_table("thread_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thread_aliases_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("thread_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_aliases_conversation_id"))
    op.drop_table("thread_aliases")
    with op.batch_alter_table("inquiry_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiry_timers_status_due_at")
    op.drop_table("inquiry_timers")
    op.drop_table("inquiry_state")
