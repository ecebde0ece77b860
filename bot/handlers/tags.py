"""The tags menu on a conversation's first message (block ``tags:<id>``): the whole selection is committed before
Slack is answered, and the first message is refreshed by a queued job."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers.buttons import Whisper, clicked
from bot.handlers.stale import StaleButton, carried_id, stale
from bot.slack.toolkit_blocks import TAGS_PREFIX, TAGS_SELECT
from bot.usecases.tagging import Tagging


def register(app: AsyncApp, tagging: Tagging, whisper: Whisper) -> None:
    @app.action(TAGS_SELECT)
    async def on_tags(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        action = body["actions"][0]
        block_id = str(action.get("block_id", ""))
        user, channel, ts = clicked(body)
        try:
            if not block_id.startswith(TAGS_PREFIX):
                raise stale(block_id)
            conversation_id = carried_id(block_id.removeprefix(TAGS_PREFIX))
        except StaleButton as exc:
            whisper(channel, user, str(exc), ts)
            return
        chosen = [str(o.get("value", "")) for o in action.get("selected_options") or [] if isinstance(o, dict)]
        await tagging.set_tags(conversation_id, chosen, user)
