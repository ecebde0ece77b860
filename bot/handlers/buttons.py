"""Claim, Unclaim, Close and Reopen on a conversation's first message.

The database settles races (two people clicking Claim at once: one conditional update wins); the loser is told, only
them, who holds it. The first message itself is refreshed by a queued job, so it shows the outcome to everyone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.handlers.stale import StaleButton, carried_id
from bot.slack.answers import SLACK_FAILURES, describe, slack_call
from bot.slack.blocks import CLAIM, CLOSE, REOPEN, UNCLAIM
from bot.usecases.conversations import Conversations

log = logging.getLogger(__name__)


class Whisper:
    """Ephemeral answers to one person, sent after Slack's request is answered (they need not hold it up)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        task = asyncio.create_task(self._send(channel, user, text, thread_ts))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        try:
            await slack_call(self.client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts))
        except SLACK_FAILURES as exc:
            log.warning("could not tell %s: %s", user, describe(exc))

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def clicked(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(who clicked, the channel, the ts of the message clicked on) of a button or menu choice."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    return body["user"]["id"], channel, message_ts


def _target(body: dict[str, Any], whisper: Whisper) -> tuple[int, str, str, str | None] | None:
    """(conversation id, who clicked, channel, message ts); None, and the clicker told, for a value the bot did not
    write (no row can have it)."""
    user, channel, message_ts = clicked(body)
    try:
        conversation_id = carried_id(body["actions"][0].get("value"))
    except StaleButton as exc:
        whisper(channel, user, str(exc), message_ts)
        return None
    return conversation_id, user, channel, message_ts


def register(app: AsyncApp, service: Conversations, whisper: Whisper) -> None:
    @app.action(CLAIM)
    async def on_claim(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (target := _target(body, whisper)) is None:
            return
        conversation_id, user, channel, ts = target
        outcome = await service.claim(conversation_id, user)
        if not outcome.ok and outcome.holder:
            whisper(channel, user, f"<@{outcome.holder}> already holds this inquiry.", ts)

    @app.action(UNCLAIM)
    async def on_unclaim(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (target := _target(body, whisper)) is not None:
            await service.unclaim(target[0], target[1])

    @app.action(CLOSE)
    async def on_close(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (target := _target(body, whisper)) is not None:
            await service.close(target[0], target[1])

    @app.action(REOPEN)
    async def on_reopen(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (target := _target(body, whisper)) is None:
            return
        conversation_id, user, channel, ts = target
        if await service.reopen(conversation_id, user) == "newer_open":
            whisper(
                channel,
                user,
                "This customer has already started a new conversation; answer them there.",
                ts,
            )
