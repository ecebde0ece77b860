"""Tables of the channels that show customers their conversation themselves (a web page) instead of leaving it to a
messenger: what was delivered to each customer, part by part, and the files kept for them.

The archive stays the truth of what was said; these add what such a channel needs to show it again exactly as it
was delivered (the rendered parts, their buttons, the files' bytes), so any process can serve any customer.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, LargeBinary, String, Table, UniqueConstraint

from bot.store.schema import Id, UTCDateTime, metadata

channel_parts = Table(
    "channel_parts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("address", String(128), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id")),  # the archived message it delivers; None: a text of its own
    Column("part", Integer, nullable=False),
    Column("payload", JSON, nullable=False),  # as the channel rendered it: text or runs, buttons, a file's key
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("message_id", "part"),
    Index("ix_channel_parts_channel_address_id", "channel", "address", "id"),
)
"""What a channel delivered to a customer, one row per part: redelivering a part is a no-op."""

channel_files = Table(
    "channel_files",
    metadata,
    Column("key", String(64), primary_key=True),  # the channel's own, unguessable name for it
    Column("channel", String(32), nullable=False),
    Column("address", String(128), nullable=False),  # the customer it belongs to
    Column("name", String(256), nullable=False),
    Column("mime_type", String(128)),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_channel_files_channel_address", "channel", "address"),
)
"""Files such a channel keeps: uploaded by a customer (fetched for Slack from here) or sent to them by staff."""
