"""origins: where customers came from (a Telegram deep link's /start payload), shown on their next conversation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime  # a stable type: aware UTC timestamps on every backend

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "origins",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("identity_id", _ID, nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(length=160), nullable=False),
        sa.Column("conversation_id", _ID, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], name=op.f("fk_origins_identity_id_identities")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_origins_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_origins")),
        sa.UniqueConstraint("source_key", name=op.f("uq_origins_source_key")),
    )
    with op.batch_alter_table("origins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_origins_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_origins_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("origins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_origins_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_origins_identity_id"))
    op.drop_table("origins")
