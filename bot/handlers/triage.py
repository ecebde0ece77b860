"""The category menu and the person picker on a conversation's first message.

Both carry the conversation in their block id (``routing:<id>``); the change is committed before Slack is answered,
and the first message is refreshed by a queued job, so everyone sees the outcome.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers.buttons import Whisper, clicked
from bot.handlers.stale import StaleButton, carried_id, stale
from bot.slack.routing_blocks import CATEGORY_SELECT, REASSIGN_SELECT, ROUTING_BLOCK_PREFIX
from bot.slack.text import escape
from bot.usecases.triage import Triage

log = logging.getLogger(__name__)


def _target(body: dict[str, Any], whisper: Whisper) -> tuple[int, dict[str, Any]] | None:
    """(conversation id, the action) of a menu choice; None, and the chooser told, for a block id the bot did not
    write (no row can have its id)."""
    action = body["actions"][0]
    block_id = str(action.get("block_id", ""))
    try:
        if not block_id.startswith(ROUTING_BLOCK_PREFIX):
            raise stale(block_id)
        return carried_id(block_id.removeprefix(ROUTING_BLOCK_PREFIX)), action
    except StaleButton as exc:
        user, channel, message_ts = clicked(body)
        whisper(channel, user, str(exc), message_ts)
        return None


def register(app: AsyncApp, triage: Triage, whisper: Whisper) -> None:
    @app.action(CATEGORY_SELECT)
    async def on_category(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (target := _target(body, whisper)) is None:
            return
        conversation_id, action = target
        user, channel, ts = clicked(body)
        key = ((action.get("selected_option") or {}).get("value")) or ""
        if not key:
            return
        outcome = await triage.change_category(conversation_id, key, user)
        if outcome.status == "unknown":
            whisper(channel, user, f"“{escape(key)}” is no longer a category; pick another.", ts)
        elif outcome.status == "closed":
            whisper(channel, user, "This inquiry is closed; reopen it to change its category.", ts)

    @app.action(REASSIGN_SELECT)
    async def on_reassign(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if (target := _target(body, whisper)) is None:
            return
        conversation_id, action = target
        user, _, _ = clicked(body)
        to_user = action.get("selected_user")
        if not to_user:
            return
        await triage.reassign(conversation_id, str(to_user), user)
