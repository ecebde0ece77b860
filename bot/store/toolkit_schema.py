"""Tables of the team's toolkit: the saved replies library and who changed it, satisfaction surveys after Close,
the tags on conversations, and the weekly digests already posted.

Kept beside the archive (migration 0009) so the bridge's own tables stay what the bridge needs. A reply sent from
the library is an ordinary message in the archive that names the saved reply (``messages.saved_reply_id``): uses are
counted from there, by period, on both databases.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text

from bot.store.schema import Id, UTCDateTime, metadata

saved_replies = Table(
    "saved_replies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("title", String(150), nullable=False),
    Column("body_en", Text, nullable=False),  # either body may be empty: the other one is sent instead
    Column("body_ko", Text, nullable=False),
    Column("tags", JSON, nullable=False),  # category names (or free words) the reply belongs to
    Column("created_by", String(64), nullable=False),  # a Slack user id, "yaml" for the seed, cli:<login>
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime()),  # kept, so the messages sent from it still say which reply they were
)
"""The library of answers the team keeps."""

saved_reply_changes = Table(
    "saved_reply_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("saved_reply_id", Id, ForeignKey("saved_replies.id"), nullable=False, index=True),
    Column("action", String(16), nullable=False),  # add, edit, delete, seed, import
    Column("actor", String(64), nullable=False),
    Column("before", JSON),  # the reply's fields before the change; None for an addition
    Column("after", JSON),  # after it; None for a deletion
    Column("created_at", UTCDateTime(), nullable=False),
)
"""Who changed what in the library, and when."""

surveys = Table(
    "surveys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False, unique=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("status", String(16), nullable=False),  # due, asked, rated, commented, skipped
    Column("due_at", UTCDateTime(), nullable=False),  # the close plus the configured delay
    Column("asked_at", UTCDateTime()),
    Column("rating", Integer),  # 1 to 5
    Column("rated_at", UTCDateTime()),
    Column("comment", Text),
    Column("commented_at", UTCDateTime()),
    Index("ix_surveys_customer_id_asked_at", "customer_id", "asked_at"),  # the cooldown per customer
    Index("ix_surveys_rated_at", "rated_at"),  # reports by period
)
"""One satisfaction question per closed conversation at most, and the customer's answer."""

conversation_tags = Table(
    "conversation_tags",
    metadata,
    Column("conversation_id", Id, ForeignKey("conversations.id"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Column("actor", String(64), nullable=False),  # a Slack user id, or rule:<name> for a keyword rule
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_conversation_tags_tag", "tag"),
)
"""What each conversation was about, from the configured list: set by staff or by keyword rules."""

digest_runs = Table(
    "digest_runs",
    metadata,
    Column("period", String(32), primary_key=True),  # the week it covers, e.g. 2026-W48: claimed once, by one process
    Column("claimed_by", String(64), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("posted_at", UTCDateTime()),
)
"""The weekly digests already posted (or being posted), so several processes and restarts post each one once."""
