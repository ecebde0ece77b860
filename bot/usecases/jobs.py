"""Every kind of delivery job, the lane it runs in and the target it is paced by, and the one way to queue each.

A lane keeps order: only its oldest unfinished job runs (one lane per conversation on the Slack side, one per
customer chat on the channel side). A target is where the job's API calls land, and what pacing counts
("slack:C123", "telegram:42"). The handlers that carry the jobs out live in ``bot.slack`` (Slack targets) and
``bot.delivery.customer`` (customer channels).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from bot.domain.models import Conversation
from bot.domain.notices import Notice
from bot.domain.richtext import Run, to_json
from bot.store.database import Transaction

OPEN_THREAD = "open_thread"  # the conversation's first message in Slack
POST_INBOUND = "post_inbound"  # a customer message into the thread (a backlog is combined: batchable)
UPDATE_INBOUND = "update_inbound"  # a customer edited a message: its Slack posts updated in place, marked edited
UPDATE_HEADER = "update_header"  # re-render the thread's first message
POST_NOTICE = "post_notice"  # a bot notice in the thread
SEND_TO_CUSTOMER = "send_to_customer"  # a staff reply or one of the bot's own texts, on the customer's channel
EDIT_FOR_CUSTOMER = "edit_for_customer"  # a reply edited in Slack: the customer's copy changed, every part
DELETE_FOR_CUSTOMER = "delete_for_customer"  # a reply deleted in Slack (or turned into a note): the copy deleted
MOVE_THREAD = "move_thread"  # open the conversation's thread in another channel, linking the old one
RETIRE_HEADER = "retire_header"  # turn the old first message into a pointer to the new place
POST_ESCALATION = "post_escalation"  # the second escalation, to a channel or a person
POST_ALERT = "post_alert"  # a notice to a channel about no conversation in particular (a quarantined update)

BATCHABLE = (POST_INBOUND,)


class InThread(Protocol):
    """A conversation as far as its Slack jobs need it: which one, and where its thread is."""

    @property
    def id(self) -> int: ...

    @property
    def slack_channel(self) -> str: ...


def slack_lane(conversation_id: int) -> str:
    return f"slack:conversation:{conversation_id}"


def customer_lane(channel: str, address: str) -> str:
    return f"{channel}:chat:{address}"


def customer_target(channel: str, address: str) -> str:
    return f"{channel}:{address}"


def _slack(channel: str) -> str:
    return f"slack:{channel}"


async def _enqueue(
    tx: Transaction,
    *,
    lane: str,
    target: str,
    kind: str,
    payload: dict[str, Any],
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> int:
    return await tx.outbox.enqueue(
        lane=lane,
        target=target,
        kind=kind,
        payload=payload,
        conversation_id=conversation_id,
        message_id=message_id,
        now=time.time(),
    )


# --- Slack --------------------------------------------------------------------------------------------------------


async def open_thread(tx: Transaction, conversation_id: int, slack_channel: str) -> None:
    await _enqueue(
        tx, lane=slack_lane(conversation_id), target=_slack(slack_channel), kind=OPEN_THREAD, payload={},
        conversation_id=conversation_id,
    )  # fmt: skip


async def post_inbound(
    tx: Transaction,
    conversation_id: int,
    slack_channel: str,
    message_id: int,
    *,
    edited: bool = False,
    resurfaced: dict[str, Any] | None = None,
) -> None:
    """``resurfaced``: the thread was quiet (facts ``quiet`` seconds, ``people`` to mention, ``broadcast``); the
    message is then posted on its own, with the mention, and shown in the channel too when ``broadcast``."""
    job = inbound_post(conversation_id, slack_channel, edited=edited, resurfaced=resurfaced)
    await _enqueue(tx, **job, conversation_id=conversation_id, message_id=message_id)


def inbound_post(
    conversation_id: int, slack_channel: str, *, edited: bool = False, resurfaced: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The lane, target, kind and payload of a customer message's post (queued with many others at once by
    bot.usecases.follow_ups)."""
    payload: dict[str, Any] = {"edited": edited}
    if resurfaced:
        payload["resurfaced"] = resurfaced
    lane, target = slack_lane(conversation_id), _slack(slack_channel)
    return {"lane": lane, "target": target, "kind": POST_INBOUND, "payload": payload}


async def update_inbound(tx: Transaction, conversation: InThread, *, version_id: int, original_id: int) -> None:
    """Show the customer's edit where the original is in Slack (after the original's own post: the same lane)."""
    await _enqueue(
        tx, lane=slack_lane(conversation.id), target=f"slack-update:{conversation.slack_channel}",
        kind=UPDATE_INBOUND, payload={"original": original_id}, conversation_id=conversation.id, message_id=version_id,
    )  # fmt: skip


async def refresh_header(tx: Transaction, conversation: InThread) -> None:
    """The job renders whatever the state is when it runs, in lane order (chat.update is paced on its own)."""
    await _enqueue(
        tx, lane=slack_lane(conversation.id), target=f"slack-update:{conversation.slack_channel}",
        kind=UPDATE_HEADER, payload={}, conversation_id=conversation.id,
    )  # fmt: skip


async def post_notice(tx: Transaction, conversation: InThread, notice: Notice) -> None:
    """A bot post in the conversation's thread (wherever the thread is when it is delivered)."""
    await _enqueue(
        tx, lane=slack_lane(conversation.id), target=_slack(conversation.slack_channel), kind=POST_NOTICE,
        payload={"notice": notice.to_json()}, conversation_id=conversation.id,
    )  # fmt: skip


async def move_thread(tx: Transaction, conversation: InThread, to_channel: str) -> None:
    await _enqueue(
        tx, lane=slack_lane(conversation.id), target=_slack(to_channel), kind=MOVE_THREAD,
        payload={"channel": to_channel}, conversation_id=conversation.id,
    )  # fmt: skip


async def retire_header(tx: Transaction, conversation_id: int, old_channel: str, old_ts: str) -> None:
    await _enqueue(
        tx, lane=slack_lane(conversation_id), target=_slack(old_channel), kind=RETIRE_HEADER,  # it posts there too
        payload={"channel": old_channel, "ts": old_ts}, conversation_id=conversation_id,
    )  # fmt: skip


async def escalate(tx: Transaction, conversation: InThread, to: str, notice: Notice) -> None:
    """A post to a channel (C…) or a direct message to a person (U…) about the conversation."""
    await _enqueue(
        tx, lane=slack_lane(conversation.id), target=_slack(to), kind=POST_ESCALATION,
        payload={"channel": to, "notice": notice.to_json()}, conversation_id=conversation.id,
    )  # fmt: skip


async def alert(tx: Transaction, slack_channel: str, notice: Notice) -> None:
    await _enqueue(
        tx, lane=f"slack:alerts:{slack_channel}", target=_slack(slack_channel), kind=POST_ALERT,
        payload={"channel": slack_channel, "notice": notice.to_json()},
    )  # fmt: skip


# --- customer channels ----------------------------------------------------------------------------------------------


async def to_customer(
    tx: Transaction,
    *,
    channel: str,
    address: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
    text: str | None = None,
    rich: Sequence[Run] | None = None,
    author: str | None = None,
    buttons: Sequence[Sequence[dict[str, str]]] | None = None,
    sign: Signing | None = None,
) -> None:
    """Something for the customer at ``address``: the archived message ``message_id`` (its text) or ``text``.

    ``rich`` is a staff reply's formatting (parsed once, when it arrived), ``author`` who wrote it, ``sign`` how
    the customer reads who it was (``bot.domain.authorship``), ``buttons`` rows of {"text", "data"} offered under it.
    """
    payload: dict[str, Any] = {"address": address, **_reply_payload(rich, author, sign)}
    if text is not None:
        payload["text"] = text
    if buttons:
        payload["buttons"] = [list(row) for row in buttons]
    await _enqueue(
        tx, lane=customer_lane(channel, address), target=customer_target(channel, address), kind=SEND_TO_CUSTOMER,
        payload=payload, conversation_id=conversation_id, message_id=message_id,
    )  # fmt: skip


async def edit_for_customer(
    tx: Transaction,
    conversation: Conversation,
    *,
    version_id: int,
    original_id: int,
    rich: Sequence[Run],
    author: str | None,
    sign: Signing | None,
) -> None:
    """Change the customer's copy of ``original_id`` to its version ``version_id`` (after whatever is still being
    sent to them: the same lane)."""
    payload = {"address": conversation.address, "original": original_id, **_reply_payload(rich, author, sign)}
    await _enqueue(
        tx, lane=customer_lane(conversation.channel, conversation.address),
        target=customer_target(conversation.channel, conversation.address), kind=EDIT_FOR_CUSTOMER, payload=payload,
        conversation_id=conversation.id, message_id=version_id,
    )  # fmt: skip


async def delete_for_customer(
    tx: Transaction, conversation: Conversation, *, message_id: int, by: str, turned_note: bool
) -> None:
    """Delete the customer's copy of ``message_id`` (``turned_note``: an edit made it a note; else it was deleted)."""
    payload = {"address": conversation.address, "by": by, "turned_note": turned_note}
    await _enqueue(
        tx, lane=customer_lane(conversation.channel, conversation.address),
        target=customer_target(conversation.channel, conversation.address), kind=DELETE_FOR_CUSTOMER,
        payload=payload, conversation_id=conversation.id, message_id=message_id,
    )  # fmt: skip


Signing = tuple[str, str | None]  # (the team's replies.author style, the signature line in the customer's words)


def _reply_payload(rich: Sequence[Run] | None, author: str | None, sign: Signing | None) -> dict[str, Any]:
    """How a staff reply is rendered for its channel: the same for its send and for every later edit."""
    payload: dict[str, Any] = {}
    if rich is not None:
        payload["rich"] = to_json(rich)
    if author:
        payload["author"] = author
    if sign is not None:
        payload["sign"], payload["signature"] = sign
    return payload
