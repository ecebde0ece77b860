"""the team's toolkit: saved replies and their changes, satisfaction surveys, conversation tags, weekly digests

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime  # a stable type: aware UTC timestamps on every backend

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("messages", sa.Column("saved_reply_id", _ID, nullable=True))
    op.create_index(op.f("ix_messages_saved_reply_id"), "messages", ["saved_reply_id"], unique=False)
    op.create_table(
        "saved_replies",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("body_ko", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_replies")),
    )
    op.create_table(
        "saved_reply_changes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("saved_reply_id", _ID, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["saved_reply_id"], ["saved_replies.id"], name=op.f("fk_saved_reply_changes_saved_reply_id_saved_replies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_reply_changes")),
    )
    op.create_index(
        op.f("ix_saved_reply_changes_saved_reply_id"), "saved_reply_changes", ["saved_reply_id"], unique=False
    )
    op.create_table(
        "surveys",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rated_at", UTCDateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("commented_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_surveys_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_surveys_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_surveys_conversation_id")),
    )
    op.create_index("ix_surveys_customer_id_asked_at", "surveys", ["customer_id", "asked_at"], unique=False)
    op.create_index("ix_surveys_rated_at", "surveys", ["rated_at"], unique=False)
    op.create_table(
        "conversation_tags",
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_conversation_tags_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("conversation_id", "tag", name=op.f("pk_conversation_tags")),
    )
    op.create_index("ix_conversation_tags_tag", "conversation_tags", ["tag"], unique=False)
    op.create_table(
        "digest_runs",
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_digest_runs")),
    )


def downgrade() -> None:
    op.drop_table("digest_runs")
    op.drop_index("ix_conversation_tags_tag", table_name="conversation_tags")
    op.drop_table("conversation_tags")
    op.drop_index("ix_surveys_rated_at", table_name="surveys")
    op.drop_index("ix_surveys_customer_id_asked_at", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index(op.f("ix_saved_reply_changes_saved_reply_id"), table_name="saved_reply_changes")
    op.drop_table("saved_reply_changes")
    op.drop_table("saved_replies")
    op.drop_index(op.f("ix_messages_saved_reply_id"), table_name="messages")
    op.drop_column("messages", "saved_reply_id")
