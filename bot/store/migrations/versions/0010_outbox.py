"""the delivery queue's own indexes: the rows still to deliver, and the delivered ones by age

A claim and a prune read only these, so a queue that keeps a million delivered jobs claims as fast as an empty one
and prunes in short batches.

Revision ID: 0010_outbox
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_outbox"
down_revision = "0009"
branch_labels = None
depends_on = None

_UNFINISHED = "status IN ('pending', 'sending')"
_DONE = "status = 'done'"


def upgrade() -> None:
    op.drop_index("ix_outbox_status_not_before", table_name="outbox")
    op.create_index(
        "ix_outbox_unfinished",
        "outbox",
        ["id"],
        unique=False,
        sqlite_where=sa.text(_UNFINISHED),
        postgresql_where=sa.text(_UNFINISHED),
    )
    op.create_index(
        "ix_outbox_done",
        "outbox",
        ["finished_at"],
        unique=False,
        sqlite_where=sa.text(_DONE),
        postgresql_where=sa.text(_DONE),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_done", table_name="outbox")
    op.drop_index("ix_outbox_unfinished", table_name="outbox")
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"], unique=False)
