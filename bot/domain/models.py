"""The product's vocabulary as plain data: no I/O, no SDKs, no database."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Direction(StrEnum):
    INBOUND = "inbound"  # customer -> team
    OUTBOUND = "outbound"  # staff -> customer
    NOTE = "note"  # staff, internal only
    AUTO = "auto"  # the bot -> customer (greeting, acknowledgement)


class Delivery(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    INTERNAL = "internal"  # a note: never leaves Slack


class EventKind(StrEnum):
    OPENED = "opened"
    CLAIMED = "claimed"
    UNCLAIMED = "unclaimed"
    CLOSED = "closed"
    REOPENED = "reopened"
    CATEGORY_SET = "category_set"
    DELIVERY_FAILED = "delivery_failed"
    REASSIGNED = "reassigned"
    MOVED = "moved"  # to another Slack channel, with the category
    ESCALATED = "escalated"
    AFTER_HOURS_REPLY = "after_hours_reply"
    STAFF_EDITED = "staff_edited"  # a staff message was edited in Slack (detail: the version's message id)
    STAFF_DELETED = "staff_deleted"  # a staff message was deleted in Slack
    CUSTOMER_COPY_DELETED = "customer_copy_deleted"  # the customer's copy of a reply was deleted (detail: why)
    THANKED_AFTER_CLOSE = "thanked_after_close"  # a short thanks after Close, kept in the closed conversation
    HOLD_SET = "hold_set"  # waiting on the customer, or on hold until a time (detail: hold, until)
    HOLD_ENDED = "hold_ended"  # woken: by the customer writing, the time coming, staff, or Close (detail: reason)
    NOTE_SENT = "note_sent"  # a note sent to the customer on purpose, with the "Send to customer" shortcut
    LANGUAGE_SET = "language_set"  # staff chose the language the customer reads (detail: language, previous)
    SURVEY_ASKED = "survey_asked"  # the satisfaction question went out after Close
    SURVEY_RATED = "survey_rated"  # the customer rated (detail: rating)
    SURVEY_COMMENTED = "survey_commented"  # the customer commented on their rating (detail: message_id)
    SURVEY_REFUSED = "survey_refused"  # a rating too late, or after the first (detail: rating, reason)
    TAGGED = "tagged"  # tags added or removed, by staff or a keyword rule (detail: added, removed)


@dataclass(frozen=True)
class Attachment:
    """A file on its way through the bridge; ``ref`` is whatever the source platform needs to fetch it again."""

    kind: str  # photo, document, voice, audio, video, animation, sticker, video_note
    ref: str
    file_name: str
    mime_type: str | None = None
    size: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Attachment:
        size = data.get("size")
        mime = data.get("mime_type")
        return cls(
            kind=str(data["kind"]),
            ref=str(data["ref"]),
            file_name=str(data["file_name"]),
            mime_type=str(mime) if mime is not None else None,
            size=int(size) if isinstance(size, int) else None,
        )


@dataclass(frozen=True)
class Sender:
    """Who wrote, as their messenger describes them."""

    external_id: str
    display_name: str
    username: str | None = None
    language_code: str | None = None
    verified: bool | None = None  # True: the team's own site vouched for this login; False: anonymous; None: n/a
    email: str | None = None  # as the channel gave it, for a verified identity


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message as a connector hands it over, already free of SDK types."""

    channel: str  # "telegram"
    address: str  # where replies go on that channel (a Telegram chat id)
    sender: Sender
    text: str
    source_key: str  # unique per platform message: makes a redelivered update a no-op
    sent_at: datetime
    external_message_id: str
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False
    origin: str | None = None  # where the customer came from, when the channel says (see ``origin_text``)
    sticker: str | None = None  # the emoji a sticker (or a lone reaction-like message) stands for, when it is one


ORIGIN_LIMIT = 256
"""Characters of an origin kept: a Telegram deep-link payload has at most 64, a web page address more."""


def origin_text(raw: str) -> str | None:
    """Where a customer came from, as the archive keeps it: a Telegram deep-link payload (``t.me/bot?start=ref``),
    later the page a website visitor came from. Untrusted text: one line, at most ``ORIGIN_LIMIT`` characters,
    None when nothing is left (Slack escaping happens where it is shown)."""
    printable = "".join(c for c in raw if not unicodedata.category(c).startswith("C") or c.isspace())
    line = " ".join(printable.split())[:ORIGIN_LIMIT].strip()
    return line or None


@dataclass(frozen=True)
class Conversation:
    id: int
    customer_id: int
    identity_id: int
    status: Status
    category: str | None
    holder: str | None
    slack_channel: str
    thread_ts: str | None
    previous_id: int | None
    opened_at: datetime
    closed_at: datetime | None
    channel: str
    address: str
    customer_name: str
    customer_username: str | None
    customer_verified: bool | None = None  # how the channel vouches for the identity (Sender.verified)
    customer_email: str | None = None
    language_code: str | None = None  # what the customer's channel reports of them
    language: str | None = None  # the language staff chose for them (None: from language_code)
    last_message_at: datetime | None = None  # the thread's last message, from either side


# --- routing vocabulary: categories, their owners and the teams' hours --------------------------------------


@dataclass(frozen=True)
class Escalation:
    """The second escalation: ``after_minutes`` (business minutes) past the target, posted to ``to``."""

    after_minutes: int
    to: str  # a channel (C…/G…) gets a post linking the thread; a person (U…/W…) a direct message


@dataclass(frozen=True)
class BusinessHours:
    """When one team works: weekly hours in its own time zone, minus holidays.

    ``weekly`` holds seven entries, Monday first, each a sorted tuple of (start, end) minutes after local midnight.
    """

    name: str
    timezone: str
    weekly: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()
    auto_reply: str | None = None  # the after-hours reply for this team, one text for every language
    auto_replies: Mapping[str, str] = field(default_factory=dict)  # the same per language; missing: texts.after_hours

    def reply_in(self, language: str) -> str | None:
        """This team's after-hours reply in ``language``; None: the customer texts' own."""
        return self.auto_replies.get(language) or self.auto_reply


@dataclass(frozen=True)
class Category:
    """A kind of inquiry: who owns it, its optional channel, and which words route a message to it."""

    key: str
    label: str  # what staff read in Slack
    owners: tuple[str, ...]
    channel: str | None
    keywords: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)  # what customers read, per language
    patterns: tuple[re.Pattern[str], ...] = ()
    priority: int = 0  # higher wins when several categories match, and is listed first
    first_response_minutes: int | None = None  # business minutes until the first escalation; None: no timer
    escalation: Escalation | None = None
    hours: str | None = None  # a key of business_hours; None: the "default" hours, if any

    def label_in(self, language: str) -> str:
        """The label a customer reads, in the bot's language."""
        return self.labels.get(language) or self.label


@dataclass(frozen=True)
class Rate:
    """A pace: ``per_second`` on average, with at most ``burst`` at once."""

    per_second: float
    burst: int
