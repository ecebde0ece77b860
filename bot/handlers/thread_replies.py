"""Staff messages in a conversation's thread: archived, then queued for the customer (or kept, if a note).

Bolt runs this before answering Slack (``process_before_response``), so a reply is committed before Slack hears
"received"; a retry of the same event finds the message archived and does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain.models import Attachment
from bot.slack.files import file_info_ref, needs_file_info
from bot.slack.names import SlackNames
from bot.slack.rich_text import rich_text_to_mrkdwn
from bot.slack.text import mentioned_user_ids, to_plain
from bot.usecases.conversations import Conversations

log = logging.getLogger(__name__)

_REPLY_SUBTYPES = {None, "file_share", "thread_broadcast"}


def staff_files(event: dict[str, Any]) -> list[Attachment]:
    """Files shared with a message, as attachments the customer side can fetch with the bot token (a Slack Connect
    file by its id, see bot.slack.files)."""
    found = []
    for file in event.get("files") or []:
        url = file.get("url_private_download") or file.get("url_private")
        if needs_file_info(file):  # shared from another organisation: files.info has the link (asked at delivery)
            url = file_info_ref(file["id"])
        if not url or file.get("mode") in {"tombstone", "hidden_by_limit"}:
            continue
        found.append(
            Attachment(
                kind="document",
                ref=url,
                file_name=file.get("name") or file.get("title") or file.get("id", "file"),
                mime_type=file.get("mimetype"),
                size=file.get("size"),
            )
        )
    return found


def staff_text(message: dict[str, Any]) -> str:
    """A message's mrkdwn: its ``text``, or, when Slack left that empty, its ``rich_text`` blocks rendered."""
    text = message.get("text") or ""
    return text if text.strip() else rich_text_to_mrkdwn(message.get("blocks"))


def is_staff_reply(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """A person's new message inside a thread: not the bot, not another bot, not an edit or deletion."""
    if event.get("subtype") not in _REPLY_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
        return False
    if not event.get("user") or event.get("user") == bot_user_id:
        return False
    thread_ts = event.get("thread_ts")
    return bool(thread_ts) and thread_ts != event.get("ts")


def register(app: AsyncApp, service: Conversations, names: SlackNames) -> None:
    @app.event("message")
    async def on_message(event: dict[str, Any], context: Any) -> None:
        if not is_staff_reply(event, context.get("bot_user_id")):
            return
        text = staff_text(event)
        files = staff_files(event)
        if not text.strip() and not files:
            return
        user = event["user"]
        user_names = await names.names({user, *mentioned_user_ids(text)})
        outcome = await service.staff_message(
            slack_channel=event["channel"],
            thread_ts=event["thread_ts"],
            ts=event["ts"],
            user=user,
            user_name=user_names.get(user, user),
            text=text,
            plain_text=to_plain(text, user_names),
            files=files,
            user_names=user_names,
        )
        if outcome.tracked and not outcome.duplicate:
            log.info("staff %s in %s: %s", "note" if outcome.internal else "reply", event["thread_ts"], event["ts"])
