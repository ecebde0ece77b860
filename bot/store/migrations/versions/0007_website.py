"""channel records: parts delivered and files kept by channels that show customers their conversation (the website
widget); identities a channel vouches for (verified, email)

Revision ID: 0007_website
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime  # a stable type: aware UTC timestamps on every backend

revision = "0007_website"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild on SQLite): the search triggers on identities stay as they are.
    op.add_column("identities", sa.Column("verified", sa.Boolean(), nullable=True))
    op.add_column("identities", sa.Column("email", sa.String(length=256), nullable=True))
    op.create_table(
        "channel_parts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_channel_parts_message_id_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_parts")),
        sa.UniqueConstraint("message_id", "part", name=op.f("uq_channel_parts_message_id_part")),
    )
    op.create_index(
        op.f("ix_channel_parts_channel_address_id"), "channel_parts", ["channel", "address", "id"], unique=False
    )
    op.create_table(
        "channel_files",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_channel_files")),
    )
    op.create_index(op.f("ix_channel_files_channel_address"), "channel_files", ["channel", "address"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_files_channel_address"), table_name="channel_files")
    op.drop_table("channel_files")
    op.drop_index(op.f("ix_channel_parts_channel_address_id"), table_name="channel_parts")
    op.drop_table("channel_parts")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("verified")
