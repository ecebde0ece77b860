"""What a search asks and what it finds: the filters of ``/history`` and one matching message or note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Filters:
    """Restrictions on what a search returns; None means no restriction."""

    customer_ids: tuple[int, ...] | None = None
    category: str | None = None
    channel: str | None = None  # the customer's channel: telegram, ...
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    tag: str | None = None  # conversations tagged so (bot.store.tags)


@dataclass(frozen=True)
class Hit:
    """One message or note that matched, with what a result line shows."""

    kind: str  # "message" or "note"
    id: int
    customer_id: int
    conversation_id: int | None
    customer_name: str
    customer_username: str | None
    channel: str  # the customer's channel
    role: str  # inbound, outbound, note, auto (messages); note, contact (timeline entries)
    author: str
    text: str
    created_at: datetime
    slack_channel: str | None
    thread_ts: str | None
    category: str | None
