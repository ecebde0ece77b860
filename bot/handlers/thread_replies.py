"""Staff messages in a conversation's thread: archived, then queued for the customer (or kept, if a note).

Bolt runs this before answering Slack (``process_before_response``), so a reply is committed before Slack hears
"received"; a retry of the same event finds the message archived and does nothing. Edits and deletions of a reply
are archived and reach the customer where their channel can (bot.usecases.staff_edits).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain.models import Attachment
from bot.slack.files import file_info_ref, needs_file_info
from bot.slack.mrkdwn import mentioned_user_ids, parse_mrkdwn, to_plain
from bot.slack.names import SlackNames
from bot.slack.rich_text import rich_text_to_mrkdwn
from bot.usecases.conversations import Conversations
from bot.usecases.staff_edits import StaffEdit, StaffEdits

log = logging.getLogger(__name__)

_REPLY_SUBTYPES = {None, "file_share", "thread_broadcast"}
_CHANGES = {"message_changed": "message", "message_deleted": "previous_message"}  # where the message is


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
    return event.get("subtype") in _REPLY_SUBTYPES and _by_a_person_in_a_thread(event, bot_user_id)


def changed_staff_message(event: dict[str, Any], bot_user_id: str | None) -> dict[str, Any] | None:
    """The person's thread message an edit (its new version) or a deletion (the deleted one) is about; None for
    anything else, the bot's own messages and other bots' included."""
    key = _CHANGES.get(event.get("subtype"))
    message = event.get(key) if key else None
    if not isinstance(message, dict) or message.get("subtype") not in _REPLY_SUBTYPES or not event.get("channel"):
        return None
    return message if _by_a_person_in_a_thread(message, bot_user_id) else None


def _by_a_person_in_a_thread(message: dict[str, Any], bot_user_id: str | None) -> bool:
    if message.get("bot_id") or message.get("bot_profile"):
        return False
    if not message.get("user") or message.get("user") == bot_user_id:
        return False
    thread_ts = message.get("thread_ts")
    return bool(thread_ts) and bool(message.get("ts")) and thread_ts != message.get("ts")


def register(app: AsyncApp, service: Conversations, names: SlackNames, edits: StaffEdits) -> None:
    async def on_change(event: dict[str, Any], message: dict[str, Any]) -> None:
        """A staff message edited or deleted in Slack: archived, and the customer's copy follows (bot.usecases
        .staff_edits)."""
        channel = event["channel"]
        if event["subtype"] == "message_deleted":
            ts = event.get("deleted_ts") or message["ts"]
            noticed = await edits.deleted(slack_channel=channel, ts=ts, user=message["user"])
        else:
            edited = message.get("edited") or {}
            text, user = staff_text(message), edited.get("user") or message["user"]
            user_names = await names.names({user, *mentioned_user_ids(text)})
            change = StaffEdit(
                slack_channel=channel,
                ts=message["ts"],
                user=user,
                edit_ts=edited.get("ts"),
                text=text,
                plain_text=to_plain(text, user_names),
                rich=tuple(parse_mrkdwn(text, user_names)),
                user_name=names.shown(user),
            )
            noticed = await edits.edited(change)
        if noticed:
            log.info("staff %s of %s in %s", event["subtype"], message["ts"], message["thread_ts"])

    @app.event("message")
    async def on_message(event: dict[str, Any], context: Any) -> None:
        changed = changed_staff_message(event, context.get("bot_user_id"))
        if changed is not None:
            await on_change(event, changed)
            return
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
            user_name=names.shown(user),  # never the bare id: a customer would read it as the name
            text=text,
            rich=parse_mrkdwn(text, user_names),
            files=files,
        )
        if outcome.tracked and not outcome.duplicate:
            log.info("staff %s in %s: %s", "note" if outcome.internal else "reply", event["thread_ts"], event["ts"])
