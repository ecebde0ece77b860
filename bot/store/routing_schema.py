"""Tables of routing and timing: how each inquiry was categorised, its clocks, its due timers, its moved threads.

Kept beside the archive rather than in it (migration 0002): the conversation row stays what the bridge needs,
and everything about owners and deadlines lives here, one row per conversation plus its timers.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from bot.store.schema import Id, UTCDateTime, metadata

inquiry_state = Table(
    "inquiry_state",
    metadata,
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("category_source", String(16), nullable=False),  # customer, rules, default, staff or none
    Column("category_set_by", String(64)),
    Column("waiting_since", UTCDateTime()),  # the customer's oldest message nobody has answered yet
    Column("first_response_due", UTCDateTime()),
    Column("first_response_at", UTCDateTime()),
    Column("first_response_by", String(32)),
    Column("first_response_seconds", Integer),  # business seconds: the clock the target is measured on
    Column("resolved_at", UTCDateTime()),
    Column("resolution_seconds", Integer),  # wall-clock seconds from opening to closing
    Column("after_hours_replied_at", UTCDateTime()),
    Column("hold", String(16)),  # waiting (on the customer) or on_hold; None: active
    Column("hold_until", UTCDateTime()),  # on hold: when it wakes by itself
    Column("hold_since", UTCDateTime()),
    Column("hold_set_by", String(64)),
    Column("paused_seconds", Integer),  # business seconds the first-response clock spent paused, before this hold
)

inquiry_timers = Table(
    "inquiry_timers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # first (in the thread) or second (to the escalation target)
    Column("due_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # pending, fired or cancelled
    Column("fired_at", UTCDateTime()),
    Column("fired_by", String(128)),
    UniqueConstraint("conversation_id", "kind"),
    Index("ix_inquiry_timers_status_due_at", "status", "due_at"),
)

thread_aliases = Table(
    "thread_aliases",
    metadata,
    Column("slack_channel", String(32), primary_key=True),
    Column("thread_ts", String(32), primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
"""Threads a conversation left when it moved channel: staff replies there still reach the customer."""
