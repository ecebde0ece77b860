"""The bot's notices (bot.domain.notices) in words staff read in Slack: emoji, mentions, links, escaped names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import notices
from bot.domain.models import Category, Conversation
from bot.domain.notices import Notice
from bot.domain.surveys import stars
from bot.slack.blocks import category_label, channel_name
from bot.slack.mentions import duration, mentions, place, who
from bot.slack.text import escape


def render(
    notice: Notice, categories: Mapping[str, Category], conversation: Conversation | None = None
) -> str:
    """Trusted mrkdwn for a notice; ``conversation`` is the one the notice is about, if any."""
    f: dict[str, Any] = notice.facts
    kind = notice.kind
    if kind == notices.NO_REPLY_YET:
        people = mentions(f.get("people") or []) or "(the category is retired: nobody to mention)"
        return f":alarm_clock: *No reply yet.* The customer has waited {duration(f['waited'])} ({_target(f)}). {people}"
    if kind == notices.ESCALATION:
        name = escape(conversation.customer_name) if conversation else "a customer"
        label = category_label(conversation.category, categories) if conversation else "Uncategorised"
        return (
            f":rotating_light: *Still unanswered:* an inquiry from *{name}* ({label}) has waited "
            f"{duration(f['waited'])} ({_target(f)})."
        )
    if kind == notices.ESCALATED:
        return f":rotating_light: Escalated to {place(f['to'])}: still no reply after {duration(f['waited'])}."
    if kind == notices.REASSIGNED:
        return f":raising_hand: {who(f['by'])} handed this inquiry to {mentions([f['to']])}."
    if kind == notices.CATEGORY_SET:
        was = f" (was {category_label(f['previous'], categories)})" if f.get("previous") else ""
        owners = mentions(f.get("owners") or [])
        text = f":label: {who(f['by'])} set the category to *{category_label(f['category'], categories)}*{was}."
        return f"{text} {owners}".rstrip()
    if kind == notices.NOT_DELIVERED:
        return f":warning: This message did not reach the customer: {escape(str(f['reason']))}."
    if kind == notices.QUARANTINED:
        source = channel_name(str(f["channel"]))
        where = f" chat {escape(str(f['address']))}" if f.get("address") else ""
        sender = f" ({escape(str(f['who']))})" if f.get("who") else ""
        return (
            f":warning: An update from {source}{where}{sender} could not be read or stored. It is kept whole as dead "
            f"letter #{f['number']} (`python -m bot export` includes it); nothing else waits for it. "
            f"Error: `{escape(str(f.get('error', '')))}`"
        )
    if kind == notices.HOLD_ENDED:
        people = mentions(f.get("people") or [])
        if f.get("reason") == "customer":
            was = "waiting on them" if f.get("hold") == "waiting" else "on hold"
            text = f":speech_balloon: {people} The customer wrote: this inquiry is no longer {was}."
        else:
            text = f":alarm_clock: {people} The hold is over: this inquiry is active again."
        return text.replace("  ", " ")
    if kind == notices.SURVEY_RATED:
        rating = int(f["rating"])
        emoji = ":warning:" if f.get("low") else ":star:"
        text = f"{emoji} The customer rated this conversation *{rating}/5* {stars(rating)}."
        people = mentions(f.get("people") or []) if f.get("low") else ""
        return f"{text} {people}".rstrip()
    if kind == notices.SURVEY_COMMENTED:
        rated = f" on their {f['rating']}/5 rating" if f.get("rating") else ""
        return f":speech_balloon: That was the customer's comment{rated}."
    if kind in _CHANGES:
        return _change(kind, f)
    if kind == notices.LEFT_CONTACT:
        contact = escape(" ".join(str(f.get("contact", "")).replace("`", "'").split())[:256])
        return f":envelope: The customer left an address to be answered at: `{contact}` (kept on their profile)."
    raise ValueError(f"no words for notice kind {kind!r}")


_CHANGES = (notices.STAFF_EDITED, notices.STAFF_DELETED, notices.TURNED_NOTE, notices.NOTE_NOT_SENT)


def _change(kind: str, f: Mapping[str, Any]) -> str:
    """What became of a staff edit or deletion, told in the thread only when the team needs to know."""
    quote = _quote(str(f.get("text", "")))
    if kind == notices.NOTE_NOT_SENT:
        how = "post it as a new reply" + (" or use *Send to customer* on it" if f.get("explicit") else "")
        return (
            ":lock: This note was edited to read like a reply, but an edit never sends a note to the customer. "
            f"To send it, {how}."
        )
    if kind == notices.STAFF_EDITED:
        gets = "still sees" if f.get("delivered") else "will still get"
        return (
            f":pencil2: This reply was edited in Slack, but the customer {gets} the original: {_why(f)}. "
            f"To correct it, send a new reply.\n{quote}"
        ).rstrip()
    outcome = f.get("outcome") or "kept"
    if kind == notices.TURNED_NOTE:
        start = ":lock: This reply was edited into a note"
        if outcome == "deleted":
            return f"{start}: it was deleted from the customer's chat too.\n{quote}".rstrip()
        if outcome == "withdrawn":
            return f"{start} before it was sent: the customer will not get it.\n{quote}".rstrip()
        return f"{start}, but the customer still has the reply: {_why(f)}.\n{quote}".rstrip()
    if outcome == "deleted":
        return f":wastebasket: This reply was deleted in Slack and from the customer's chat too.\n{quote}".rstrip()
    if outcome == "withdrawn":
        unsent = ":wastebasket: This reply was deleted before it was sent: the customer will not get it."
        return f"{unsent}\n{quote}".rstrip()
    has = "still has" if f.get("delivered") else "will still get"
    return f":wastebasket: This reply was deleted in Slack, but the customer {has} it: {_why(f)}.\n{quote}".rstrip()


def _why(f: Mapping[str, Any]) -> str:
    why = f.get("why")
    where = channel_name(str(f.get("channel") or "")) if f.get("channel") else "this channel"
    if why == notices.CANNOT:
        return f"{where} does not let the bot change or delete a message it sent"
    if why == notices.TOO_OLD:
        return f"{where} lets the bot change or delete its messages for {f.get('hours')} hours only"
    if why == notices.REFUSED:
        return escape(str(f.get("detail") or "the channel refused"))
    if why == notices.NO_TEXT:
        return "the reply had only files, no words to change"
    return "changes did not reach customers then"  # a notice queued by a version that could not sync them


def _quote(text: str, limit: int = 150) -> str:
    """The start of a reply as the customer has it, on one quoted line, so the team knows which one it was."""
    words = " ".join(text.split())
    if len(words) > limit:
        words = words[: limit - 1].rstrip() + "…"
    return f"> {escape(words)}" if words else ""


def _target(facts: Mapping[str, Any]) -> str:
    target = facts.get("target")
    text = f"target: {target} min" if target else "target: none"
    return text + " of business hours" if facts.get("business_hours") and target else text


def from_payload(
    payload: Mapping[str, Any], categories: Mapping[str, Category], conversation: Conversation | None
) -> str:
    """A job's notice: structured, or (jobs queued by an older version) the trusted text it carried."""
    if "notice" in payload:
        return render(Notice.from_json(dict(payload["notice"])), categories, conversation)
    return str(payload["text"])


def resurfaced(facts: Mapping[str, Any]) -> str:
    """The line on a customer message into a thread that had been quiet: who should look, after how long."""
    people = mentions(facts.get("people") or [])
    quiet = duration(float(facts.get("quiet") or 0))
    return f":wave: {people + ' ' if people else ''}The customer wrote again after {quiet} of quiet.".strip()
