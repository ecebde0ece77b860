"""Tables of the archive and the delivery queue.

Core tables rather than ORM classes: every query is written out where it is used, so what hits the database on a
hot path is visible in the code. Migrations in ``migrations/versions`` create exactly these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")
"""SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids."""

UNFINISHED_WHERE = "status IN ('pending', 'sending')"
"""Jobs still to deliver (bot.store.outbox's PENDING and SENDING), as the partial index and its queries spell it."""
DONE_WHERE = "status = 'done'"


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored and returned as aware UTC datetimes on both SQLite (which drops the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("display_name", String(256), nullable=False),
    Column("username", String(256)),
    Column("created_at", UTCDateTime(), nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("username", String(256)),
    Column("language_code", String(16)),  # what their channel reports (Telegram's language_code, a browser's)
    Column("language", String(8)),  # the language staff chose for them; None: from language_code
    Column("created_at", UTCDateTime(), nullable=False),
    Column("verified", Boolean),  # the channel vouches for this login (a site's signed identity); None: not said
    Column("email", String(256)),  # as a verified identity gave it
    UniqueConstraint("channel", "external_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("identity_id", Id, ForeignKey("identities.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("category", String(64)),
    Column("holder", String(32)),
    Column("slack_channel", String(32), nullable=False),
    Column("thread_ts", String(32)),
    Column("previous_id", Id, ForeignKey("conversations.id")),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("last_message_at", UTCDateTime(), nullable=False),
    Index("ix_conversations_thread", "slack_channel", "thread_ts"),
    Index(
        "uq_conversations_one_open_per_identity",
        "identity_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False, index=True),
    Column("direction", String(16), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("author_name", String(256), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("raw_text", Text),
    Column("attachments", JSON, nullable=False),
    Column("source_key", String(160), nullable=False, unique=True),
    Column("external_message_ids", JSON, nullable=False),
    Column("slack_ts", String(32)),
    Column("delivery", String(16), nullable=False),
    Column("delivery_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("edit_of", Id, index=True),  # a later version of this message (an edit): the original's id
    Column("saved_reply_id", Id, index=True),  # sent from the saved replies library: which one (toolkit_schema)
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), index=True),
    Column("kind", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lane", String(96), nullable=False),
    Column("target", String(96), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("conversation_id", Id, ForeignKey("conversations.id")),
    Column("message_id", Id, ForeignKey("messages.id")),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("not_before", Float, nullable=False),
    Column("lease_until", Float),
    Column("lease_owner", String(128)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Index("ix_outbox_lane_status_id", "lane", "status", "id"),
    # Only the rows still to deliver (a handful) and only the delivered ones by age: the claim, the gauges and the
    # prune read these, however many delivered rows the queue keeps (a (status, not_before) index let the planner
    # pick a sort of every delivered row instead). Queries name the same literal condition, so both
    # databases can prove the partial index applies (bot.store.outbox.UNFINISHED_SQL / DONE_SQL).
    Index("ix_outbox_unfinished", "id", sqlite_where=text(UNFINISHED_WHERE), postgresql_where=text(UNFINISHED_WHERE)),
    Index("ix_outbox_done", "finished_at", sqlite_where=text(DONE_WHERE), postgresql_where=text(DONE_WHERE)),
)

settings_kv = Table(
    "settings_kv",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

seen_keys = Table(
    "seen_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("key", String(200), nullable=False, unique=True),  # the update's own id: kept once however often it comes
    Column("raw", Text, nullable=False),  # the update exactly as the platform sent it (JSON text)
    Column("error", Text, nullable=False),
    Column("address", String(128)),  # the chat it came from, when that much could be read
    Column("who", String(256)),
    Column("created_at", UTCDateTime(), nullable=False),
)
"""Updates that could not be read or stored: kept whole, so nothing a customer sent is lost and none blocks the rest."""

origins = Table(
    "origins",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("identity_id", Id, ForeignKey("identities.id"), nullable=False, index=True),
    Column("origin", Text, nullable=False),  # as the channel reported it (bot.domain.models.origin_text)
    Column("source_key", String(160), nullable=False, unique=True),  # the update that said so: kept once
    Column("conversation_id", Id, ForeignKey("conversations.id"), index=True),  # shown on; None: not yet
    Column("created_at", UTCDateTime(), nullable=False),
)
"""Where customers came from (a Telegram deep link's ``/start`` payload, later a website visitor's page), each time
their channel said so; the next conversation to open takes the ones still waiting and shows the latest."""

message_parts = Table(
    "message_parts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False, index=True),
    Column("platform", String(32), nullable=False),  # "slack", or the customer's channel ("telegram", ...)
    Column("place", String(128), nullable=False),  # the Slack channel, or the customer's address on their channel
    Column("external_id", String(64), nullable=False),  # the Slack ts or file id; the channel's message id
    Column("position", Integer, nullable=False),  # the part's place in the message, from 0
    Column("kind", String(8), nullable=False),  # text (a message's words), file
    Column("created_at", UTCDateTime(), nullable=False),  # when it was sent: edit windows count from it
    Column("removed_at", UTCDateTime()),  # deleted, or dropped when an edit needed fewer parts
    Index("ix_message_parts_platform_place_external_id", "platform", "place", "external_id"),
)
"""Every part of every message on both sides: which Slack posts and which customer messages carry it, so an edit or
a deletion on one side finds what to change on the other, however many parts a long message was split into."""
