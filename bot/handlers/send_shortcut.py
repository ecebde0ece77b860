"""The "Send to customer" message shortcut: a staff message that stayed internal (a note, or in explicit-send mode
any reply without the send prefix) goes to the customer on purpose. Slash commands cannot be used in threads
(PLATFORM_FACTS), so this is how a thread's message is acted on. Only staff get here (bot.handlers.access)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers.buttons import Whisper
from bot.handlers.thread_replies import staff_text
from bot.slack.mrkdwn import mentioned_user_ids, parse_mrkdwn
from bot.slack.names import SlackNames
from bot.usecases.conversations import Conversations

log = logging.getLogger(__name__)

SEND_TO_CUSTOMER = "send_to_customer"  # the shortcut's callback_id (config/slack-manifest.yml)

_ANSWERS = {
    "already": "This message already went to the customer.",
    "empty": "This message has no words or files to send.",
    "not_staff": "Only a team member's message in a conversation's thread can be sent to the customer.",
    "unknown": "This is not a message of a customer conversation's thread, so there is nobody to send it to.",
}


def register(app: AsyncApp, service: Conversations, names: SlackNames, whisper: Whisper) -> None:
    @app.shortcut(SEND_TO_CUSTOMER)
    async def on_send(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or ""
        user = (body.get("user") or {}).get("id") or ""
        ts, thread_ts = message.get("ts"), message.get("thread_ts")
        if not channel or not ts or message.get("bot_id") or not thread_ts or thread_ts == ts:
            whisper(channel, user, _ANSWERS["not_staff"], thread_ts)
            return
        text = staff_text(message)
        user_names = await names.names({user, str(message.get("user") or user), *mentioned_user_ids(text)})
        author = names.shown(str(message.get("user") or user))  # never the bare id as a name
        outcome = await service.send_note(
            slack_channel=channel, ts=str(ts), user=user, user_name=author, rich=parse_mrkdwn(text, user_names)
        )
        if outcome == "sent":
            log.info("a note in %s was sent to the customer by %s", thread_ts, user)
            whisper(channel, user, ":outbox_tray: Sent to the customer.", thread_ts)
        else:
            whisper(channel, user, _ANSWERS[outcome], thread_ts)
