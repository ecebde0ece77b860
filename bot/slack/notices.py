"""The bot's notices (bot.domain.notices) in words staff read in Slack: emoji, mentions, links, escaped names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import notices
from bot.domain.models import Category, Conversation
from bot.domain.notices import Notice
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
    if kind == notices.STAFF_EDITED:
        gets = "still sees" if f.get("delivered") else "will still get"
        return (
            f":pencil2: This reply was edited in Slack, but the customer {gets} the original: edits do not reach "
            f"customers yet. To correct it, send a new reply.\n{_quote(str(f.get('text', '')))}"
        ).rstrip()
    if kind == notices.STAFF_DELETED:
        has = "still has" if f.get("delivered") else "will still get"
        return (
            f":wastebasket: This reply was deleted in Slack, but the customer {has} it: deletions do not reach "
            f"customers yet.\n{_quote(str(f.get('text', '')))}"
        ).rstrip()
    if kind == notices.LEFT_CONTACT:
        contact = escape(" ".join(str(f.get("contact", "")).replace("`", "'").split())[:256])
        return f":envelope: The customer left an address to be answered at: `{contact}` (kept on their profile)."
    raise ValueError(f"no words for notice kind {kind!r}")


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
