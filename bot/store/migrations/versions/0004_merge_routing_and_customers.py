"""Join the routing (0002) and customers (0003) branches into one history again.

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

revision = "0004"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both branches' tables already exist; this only gives later migrations one parent."""


def downgrade() -> None:
    """Splitting the history again changes no table either."""
