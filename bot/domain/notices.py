"""What the bot tells the team, as facts rather than text: the use cases say what happened, the Slack side says it.

A notice travels in a delivery job as JSON and is rendered (words, emoji, mentions) only when it is posted, by
``bot.slack.notices``. So routing and response-time code never writes Slack syntax, and changing how a notice
reads changes it for jobs already queued too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The kinds, and the facts each carries
NO_REPLY_YET = "no_reply_yet"  # waited (s), target (min), business_hours (bool), people ([ids])
ESCALATED = "escalated"  # to (a channel or person id), waited (s) — said in the thread
ESCALATION = "escalation"  # waited (s), target (min), business_hours — posted to `to`, naming the customer
REASSIGNED = "reassigned"  # by, to
CATEGORY_SET = "category_set"  # by, category, previous, owners ([ids])
NOT_DELIVERED = "not_delivered"  # reason
QUARANTINED = "quarantined"  # channel, number, address, who, error — posted to the inbox channel
STAFF_EDITED = "staff_edited"  # by, delivered, text, why (+ channel, hours, detail) — the edit did not reach them
STAFF_DELETED = "staff_deleted"  # by, delivered, text, outcome (deleted, withdrawn, kept), why — a reply deleted
TURNED_NOTE = "turned_note"  # by, text, outcome (deleted, withdrawn, kept), why — a reply edited into a note
NOTE_NOT_SENT = "note_not_sent"  # by, explicit — a note edited to read like a reply: an edit never sends it
LEFT_CONTACT = "left_contact"  # contact — the customer left an address to be answered at (e.g. after hours)
HOLD_ENDED = "hold_ended"  # reason (customer, time), hold (waiting, on_hold), people — an inquiry woke by itself
SURVEY_RATED = "survey_rated"  # rating (1-5), low (bool), people — the customer rated the closed conversation
SURVEY_COMMENTED = "survey_commented"  # rating — the message above is the customer's comment on their rating

KINDS = frozenset(
    {NO_REPLY_YET, ESCALATED, ESCALATION, REASSIGNED, CATEGORY_SET, NOT_DELIVERED, QUARANTINED, STAFF_EDITED,
     STAFF_DELETED, TURNED_NOTE, NOTE_NOT_SENT, HOLD_ENDED, LEFT_CONTACT, SURVEY_RATED, SURVEY_COMMENTED}
)  # fmt: skip

# Why a change did not reach the customer (the ``why`` fact)
CANNOT = "channel"  # the channel cannot change (or delete) what it sent: ``channel``
TOO_OLD = "window"  # past the channel's window: ``channel``, ``hours``
REFUSED = "platform"  # the platform said no: ``detail``
NO_TEXT = "no_text"  # the reply had only files, no words to change


@dataclass(frozen=True)
class Notice:
    kind: str
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown notice kind {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.facts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        facts = {k: v for k, v in data.items() if k != "kind"}
        return cls(str(data["kind"]), facts)


def no_reply_yet(*, waited: float, target: int | None, business_hours: bool, people: list[str]) -> Notice:
    return Notice(
        NO_REPLY_YET, {"waited": waited, "target": target, "business_hours": business_hours, "people": people}
    )


def escalated(*, to: str, waited: float) -> Notice:
    return Notice(ESCALATED, {"to": to, "waited": waited})


def escalation(*, waited: float, target: int | None, business_hours: bool) -> Notice:
    return Notice(ESCALATION, {"waited": waited, "target": target, "business_hours": business_hours})


def reassigned(*, by: str, to: str) -> Notice:
    return Notice(REASSIGNED, {"by": by, "to": to})


def category_set(*, by: str, category: str, previous: str | None, owners: list[str]) -> Notice:
    return Notice(CATEGORY_SET, {"by": by, "category": category, "previous": previous, "owners": owners})


def not_delivered(reason: str) -> Notice:
    return Notice(NOT_DELIVERED, {"reason": reason})


def quarantined(*, channel: str, number: int, address: str | None, who: str | None, error: str) -> Notice:
    return Notice(QUARANTINED, {"channel": channel, "number": number, "address": address, "who": who, "error": error})


def left_contact(contact: str) -> Notice:
    return Notice(LEFT_CONTACT, {"contact": contact})


def staff_edited(*, by: str, delivered: bool, text: str, why: str, **detail: object) -> Notice:
    return Notice(STAFF_EDITED, {"by": by, "delivered": delivered, "text": text, "why": why, **detail})


def staff_deleted(*, by: str, text: str, outcome: str, why: str | None = None, **detail: object) -> Notice:
    return Notice(STAFF_DELETED, {"by": by, "delivered": True, "text": text, "outcome": outcome, "why": why, **detail})


def turned_note(*, by: str, text: str, outcome: str, why: str | None = None, **detail: object) -> Notice:
    return Notice(TURNED_NOTE, {"by": by, "text": text, "outcome": outcome, "why": why, **detail})


def note_not_sent(*, by: str, explicit: bool) -> Notice:
    return Notice(NOTE_NOT_SENT, {"by": by, "explicit": explicit})


def hold_ended(*, reason: str, hold: str | None, people: list[str]) -> Notice:
    return Notice(HOLD_ENDED, {"reason": reason, "hold": hold, "people": people})


def survey_rated(*, rating: int, low: bool, people: list[str]) -> Notice:
    return Notice(SURVEY_RATED, {"rating": rating, "low": low, "people": people})


def survey_commented(*, rating: int | None) -> Notice:
    return Notice(SURVEY_COMMENTED, {"rating": rating})
