"""What the customer use cases answer with: cards, profiles, pages of search results, merge and erasure reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.store.customers import CustomerRow, ErasureCounts, MergeCounts
from bot.store.search_results import Hit
from bot.usecases.crm_query import Cursor
from bot.usecases.errors import CrmError

CONTACT_METHODS = ("call", "email", "message", "meeting", "visit", "other")
MAX_TAGS = 20
TAG_CHARS = 64
NOTE_CHARS = 3000  # what one Slack section shows whole
UNION_LIMIT = 20  # a query naming more customers than this is a name search, not one person's history




@dataclass(frozen=True)
class CustomerCard:
    """A customer in one line: for search results, ambiguous lookups and merge previews."""

    id: int
    name: str
    username: str | None
    channels: tuple[str, ...]
    conversations: int
    stage: str
    last_thread: tuple[str, str] | None  # (slack channel, thread ts) of their newest conversation
    last_at: datetime | None
    erased: bool = False


@dataclass(frozen=True)
class SearchPage:
    query: str
    terms: tuple[str, ...]
    filters: dict[str, str]
    hits: list[Hit]
    customers: list[CustomerCard] = field(default_factory=list)
    more_customers: bool = False
    next_cursor: Cursor | None = None
    page: int = 1
    error: str | None = None


@dataclass(frozen=True)
class Profile:
    customer: CustomerRow
    stage: str
    stages: tuple[str, ...]
    identities: list[Any]
    conversations: list[Any]
    conversation_count: int
    tags: list[str]
    timeline: list[Any]
    asked_for: int  # the id that was asked for: another one when it was merged into this customer
    asked_about: tuple[tuple[str, int], ...] = ()  # the tags of their conversations, most frequent first


@dataclass(frozen=True)
class Earlier:
    customer_id: int
    total: int
    conversations: list[Any]
    first_messages: dict[int, str]


@dataclass(frozen=True)
class MergeOutcome:
    keep: CustomerCard
    other: CustomerCard
    counts: MergeCounts


@dataclass(frozen=True)
class ErasureReport:
    customer_id: int
    counts: ErasureCounts
    seconds: float


def normalize_tags(raw: str | Sequence[str]) -> list[str]:
    """Tags as stored: lower-case, single-spaced, no commas, unique, at most ``MAX_TAGS`` of ``TAG_CHARS``."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for item in items:
        tag = " ".join(item.replace(",", " ").split()).lower()
        if not tag:
            continue
        if len(tag) > TAG_CHARS:
            raise CrmError(f"A tag has at most {TAG_CHARS} characters.")
        tags.append(tag)
    tags = list(dict.fromkeys(tags))
    if len(tags) > MAX_TAGS:
        raise CrmError(f"A customer has at most {MAX_TAGS} tags.")
    return tags
