"""reports: conversations indexed by opening and closing, surveys by when they were asked

Revision ID: 0011_reports
Revises: 0010_outbox
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0011_reports"
down_revision = "0010_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_opened_at", "conversations", ["opened_at"], unique=False)
    op.create_index("ix_conversations_closed_at", "conversations", ["closed_at"], unique=False)
    op.create_index("ix_surveys_asked_at", "surveys", ["asked_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_surveys_asked_at", table_name="surveys")
    op.drop_index("ix_conversations_closed_at", table_name="conversations")
    op.drop_index("ix_conversations_opened_at", table_name="conversations")
