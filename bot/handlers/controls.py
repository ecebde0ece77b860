"""The status and language menus on a conversation's first message (bot.slack.header_controls).

Both carry the conversation in their block id (``controls:<id>``); the change is committed before Slack is
answered, and the first message is refreshed by a queued job, so everyone sees it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers.buttons import Whisper
from bot.slack.header_controls import CONTROLS_PREFIX, LANGUAGE_SELECT, STATUS_SELECT
from bot.usecases.conversations import Conversations
from bot.usecases.holds import Holds


def _target(body: dict[str, Any]) -> tuple[int | None, str, str, str, str | None]:
    """(conversation id, the chosen value, who, channel, message ts) of a menu choice."""
    action = body["actions"][0]
    block_id = str(action.get("block_id", ""))
    raw = block_id.removeprefix(CONTROLS_PREFIX)
    conversation_id = int(raw) if block_id.startswith(CONTROLS_PREFIX) and raw.isdigit() else None
    value = str((action.get("selected_option") or {}).get("value") or "")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    return conversation_id, value, body["user"]["id"], channel, message_ts


def register(app: AsyncApp, service: Conversations, holds: Holds, whisper: Whisper) -> None:
    @app.action(STATUS_SELECT)
    async def on_status(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        conversation_id, value, user, channel, ts = _target(body)
        if conversation_id is None or not value:
            return
        if await holds.set_status(conversation_id, value, user) == "closed":
            whisper(channel, user, "This inquiry is closed; reopen it to change its status.", ts)

    @app.action(LANGUAGE_SELECT)
    async def on_language(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        conversation_id, value, user, _, _ = _target(body)
        if conversation_id is not None and value:
            await service.set_language(conversation_id, value, user)
