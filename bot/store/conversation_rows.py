"""A conversation as the archive reads it (its row and its customer's identity), and the statements that read and
touch one, built once: every relayed message runs some of them, and on SQLite building a statement costs more than
running it (docs/BENCHMARKS.md, relay)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import Row, bindparam, select, update

from bot.domain.models import Conversation, Status
from bot.store.schema import conversations, identities, messages

CONVERSATION_COLUMNS = (
    conversations,
    identities.c.channel,
    identities.c.external_id,
    identities.c.display_name,
    identities.c.username,
    identities.c.verified,
    identities.c.email,
    identities.c.language_code,
    identities.c.language,
)


def conversation_select() -> Any:
    """A new SELECT of conversations with their identities, to add conditions to."""
    return select(*CONVERSATION_COLUMNS).join(identities, identities.c.id == conversations.c.identity_id)


BY_ID = conversation_select().where(conversations.c.id == bindparam("conversation_id"))
BY_THREAD = conversation_select().where(
    conversations.c.slack_channel == bindparam("channel"), conversations.c.thread_ts == bindparam("thread")
)
OPEN_OF_IDENTITY = conversation_select().where(
    conversations.c.identity_id == bindparam("identity_id"), conversations.c.status == Status.OPEN
)
OPEN_OF_IDENTITIES = conversation_select().where(
    conversations.c.identity_id.in_(bindparam("identities", expanding=True)), conversations.c.status == Status.OPEN
)
MESSAGE_WITH_CONVERSATION = (  # a customer message's delivery to Slack reads both (bot.slack.delivery.PostInbound)
    select(messages, *CONVERSATION_COLUMNS)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .join(identities, identities.c.id == conversations.c.identity_id)
    .where(messages.c.id == bindparam("message_id"))
)
TOUCH = (
    update(conversations)
    .where(conversations.c.id == bindparam("conversation_id"))
    .values(last_message_at=bindparam("now", type_=conversations.c.last_message_at.type))
)


def to_conversation(row: Row[Any]) -> Conversation:
    m = row._mapping
    return Conversation(
        id=m[conversations.c.id],
        customer_id=m[conversations.c.customer_id],
        identity_id=m[conversations.c.identity_id],
        status=Status(m[conversations.c.status]),
        category=m[conversations.c.category],
        holder=m[conversations.c.holder],
        slack_channel=m[conversations.c.slack_channel],
        thread_ts=m[conversations.c.thread_ts],
        previous_id=m[conversations.c.previous_id],
        opened_at=m[conversations.c.opened_at],
        closed_at=m[conversations.c.closed_at],
        channel=m[identities.c.channel],
        address=m[identities.c.external_id],
        customer_name=m[identities.c.display_name],
        customer_username=m[identities.c.username],
        customer_verified=m[identities.c.verified],
        customer_email=m[identities.c.email],
        language_code=m[identities.c.language_code],
        language=m[identities.c.language],
        last_message_at=m[conversations.c.last_message_at],
    )


def message_of(row: Row[Any]) -> SimpleNamespace:
    """The message's own columns of a joined row, by name, as a row of ``messages`` alone reads (its ``id`` is the
    message's, not the conversation's)."""
    m = row._mapping
    return SimpleNamespace(**{column.name: m[column] for column in messages.c})
