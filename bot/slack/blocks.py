"""What the bot's Slack posts look like: a conversation's first message, customer messages, notices.

Everything a customer controls (names, usernames, text, captions) passes through ``slack_text.escape`` here, so a
name like ``<!channel>`` shows as text and pings nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.connectors import registry
from bot.domain.models import Category, Conversation, Status
from bot.slack.mentions import mention
from bot.slack.routing_blocks import RoutingView, routing_actions, routing_context
from bot.slack.saved_reply_views import OPEN as SAVED_REPLY_OPEN
from bot.slack.text import escape, split_messages

CLAIM = "conversation_claim"
UNCLAIM = "conversation_unclaim"
CLOSE = "conversation_close"
REOPEN = "conversation_reopen"
ACTION_IDS = (CLAIM, UNCLAIM, CLOSE, REOPEN)

_FALLBACK_CHARS = 300


@dataclass(frozen=True)
class SlackPost:
    text: str  # notification / fallback text
    blocks: list[dict[str, Any]]


def permalink(team_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """A link to a message built from ids we already hold (reading it back from Slack is rate-limited)."""
    link = f"{team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


def channel_name(channel: str) -> str:
    """What staff call a customer channel ("Telegram"), as its connector names itself."""
    return registry.label(channel)


def who(name: str, username: str | None) -> str:
    """A customer's name in bold, with the @username unless the name is that already (bot.domain.names)."""
    label = f"*{escape(name)}*"
    if username and name != f"@{username}":
        label += f" (@{escape(username)})"
    return label


def customer_label(conversation: Conversation) -> str:
    return who(conversation.customer_name, conversation.customer_username)


def identity_note(verified: bool | None, email: str | None) -> str:
    """How the channel vouches for the customer: a login the team's own site signed, or nobody; "" when the
    channel does not say (a messenger's own account)."""
    if verified is None:
        return ""
    if not verified:
        return " (not verified)"
    return f" ({escape(email)}, verified)" if email else " (verified)"


def category_label(key: str | None, categories: dict[str, Category] | Any) -> str:
    if key is None:
        return "Uncategorised"
    category = categories.get(key)
    return escape(category.label) if category else f"{escape(key)} (retired)"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def header(
    conversation: Conversation,
    *,
    categories: dict[str, Category] | Any,
    previous_link: str | None = None,
    routing: RoutingView | None = None,
    customer: Sequence[dict[str, Any]] = (),
    origin: str | None = None,
    activity: str = "",
    status_note: str = "",
    controls: dict[str, Any] | None = None,
) -> SlackPost:
    """The thread's first message: who, from where, what about, who holds it, and the buttons to change that.

    ``customer`` is the customer line (bot.customer_blocks.header_blocks): earlier conversations and the buttons
    to the profile, notes and contact attempts. ``origin`` is where the customer came from (a deep link's payload,
    a web page), as they sent it, ``activity`` what they did before writing ("viewed /pricing 3×"): escaped here.
    ``status_note`` says how it waits, ``controls`` are the status and language menus (bot.slack.header_controls).
    """
    category = categories.get(conversation.category) if conversation.category else None
    identity = identity_note(conversation.customer_verified, conversation.customer_email)
    sender = f"{customer_label(conversation)}{identity} via {channel_name(conversation.channel)}"
    status = ("Open" + status_note) if conversation.status == Status.OPEN else "Closed"
    holder = f"<@{conversation.holder}>" if conversation.holder else "nobody yet"
    facts = (
        f"*Category:* {category_label(conversation.category, categories)}   *Status:* {status}   *Held by:* {holder}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"New inquiry from {sender}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
    ]
    if origin:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"*Came from:* {escape(origin)}"}]})
    if activity:
        line = f"*Before writing:* {escape(activity)}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    owners = " ".join(mention(o) for o in category.owners) if category else ""
    if owners:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"*Owners:* {owners}"}]})
    if previous_link:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Continues <{previous_link}|the previous conversation>"}],
            }
        )
    if routing is not None:
        blocks.extend(routing_context(routing))
    value = str(conversation.id)
    buttons = []
    if conversation.status == Status.OPEN:
        if conversation.holder:
            buttons.append(_button("Unclaim", UNCLAIM, value))
        else:
            buttons.append(_button("Claim", CLAIM, value, "primary"))
        buttons.append(_button("Close", CLOSE, value, "danger"))
        buttons.append(_button("Saved reply", SAVED_REPLY_OPEN, value))  # bot.handlers.saved_replies
    else:
        buttons.append(_button("Reopen", REOPEN, value))
    blocks.append({"type": "actions", "block_id": f"conversation:{value}", "elements": buttons})
    menus = routing_actions(conversation, categories) if routing is not None else None
    if menus is not None:
        blocks.append(menus)
    if controls is not None:
        blocks.append(controls)
    blocks.extend(customer)
    label = category_label(conversation.category, categories)
    text = f"New inquiry from {escape(conversation.customer_name)} ({label})"
    if owners:
        text += f" {owners}"
    return SlackPost(text=text, blocks=blocks)


def customer_posts(texts: list[str]) -> list[SlackPost]:
    """One or more customer messages as Slack posts within Block Kit's limits, escaped, nothing cut."""
    sections: list[str] = []
    for text in texts:
        if text.strip():
            sections.append(escape(text))
    if not sections:
        return []
    joined = "\n\n".join(sections)
    posts = []
    for message_sections in split_messages(joined):
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in message_sections if s.strip()]
        fallback = message_sections[0][:_FALLBACK_CHARS]
        posts.append(SlackPost(text=_safe_cut(fallback), blocks=blocks))
    return posts


def _safe_cut(escaped: str) -> str:
    """Trim a cut escaped text back to before a partial entity (``&am``), which Slack would show broken."""
    amp = escaped.rfind("&")
    if amp != -1 and ";" not in escaped[amp:]:
        return escaped[:amp]
    return escaped


def notice(text: str) -> SlackPost:
    """A bot notice in a thread (a failed delivery, a state change); ``text`` is trusted mrkdwn."""
    return SlackPost(text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def with_line(post: SlackPost, line: str) -> SlackPost:
    """A post with one more line of the bot's own (trusted mrkdwn) under it, also in its notification text."""
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}
    return SlackPost(text=f"{line} {post.text}"[:3000], blocks=[*post.blocks, context])
