"""dead letters: updates that could not be read or stored, kept whole; each channel's cursor under one key form

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("address", sa.String(128)),
        sa.Column("who", sa.String(256)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.UniqueConstraint("key", name="uq_dead_letters_key"),
    )
    # The Telegram polling offset becomes the Telegram channel's cursor (bot.usecases.intake).
    op.execute("UPDATE settings_kv SET key = 'cursor.telegram' WHERE key = 'telegram.offset'")


def downgrade() -> None:
    op.execute("UPDATE settings_kv SET key = 'telegram.offset' WHERE key = 'cursor.telegram'")
    op.drop_table("dead_letters")
