"""The category menu and the person picker on a conversation's first message.

Both carry the conversation in their block id (``routing:<id>``); the change is committed before Slack is answered,
and the first message is refreshed by a queued job, so everyone sees the outcome.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers.buttons import Whisper
from bot.slack.routing_blocks import CATEGORY_SELECT, REASSIGN_SELECT, ROUTING_BLOCK_PREFIX
from bot.slack.text import escape
from bot.usecases.triage import Triage

log = logging.getLogger(__name__)


def _target(body: dict[str, Any]) -> tuple[int | None, dict[str, Any], str, str, str | None]:
    """(conversation id, the action, who, channel, message ts) of a menu choice."""
    action = body["actions"][0]
    block_id = str(action.get("block_id", ""))
    raw = block_id.removeprefix(ROUTING_BLOCK_PREFIX)
    conversation_id = int(raw) if block_id.startswith(ROUTING_BLOCK_PREFIX) and raw.isdigit() else None
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    return conversation_id, action, body["user"]["id"], channel, message_ts


def register(app: AsyncApp, triage: Triage, whisper: Whisper) -> None:
    @app.action(CATEGORY_SELECT)
    async def on_category(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        conversation_id, action, user, channel, ts = _target(body)
        key = ((action.get("selected_option") or {}).get("value")) or ""
        if conversation_id is None or not key:
            return
        outcome = await triage.change_category(conversation_id, key, user)
        if outcome.status == "unknown":
            whisper(channel, user, f"“{escape(key)}” is no longer a category; pick another.", ts)
        elif outcome.status == "closed":
            whisper(channel, user, "This inquiry is closed; reopen it to change its category.", ts)

    @app.action(REASSIGN_SELECT)
    async def on_reassign(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        conversation_id, action, user, _, _ = _target(body)
        to_user = action.get("selected_user")
        if conversation_id is None or not to_user:
            return
        await triage.reassign(conversation_id, str(to_user), user)
