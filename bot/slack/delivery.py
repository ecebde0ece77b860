"""Jobs that land in Slack: open a conversation's thread, post customer messages and files, refresh the header."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import BotConfig
from bot.connectors.base import Connector
from bot.delivery.handlers import Delivered
from bot.delivery.pacing import paced
from bot.delivery.progress import Progress
from bot.domain.activity import summarize_views
from bot.domain.errors import DeliveryError, PermanentFailure, RateLimited, TemporaryFailure
from bot.domain.i18n import pick_language
from bot.domain.models import Attachment, Conversation, EventKind
from bot.slack import notices
from bot.slack.answers import SLACK_FAILURES, describe, refusal, slack_call
from bot.slack.blocks import SlackPost, customer_posts, header, notice, permalink, with_line
from bot.slack.customer_blocks import header_blocks
from bot.slack.header_controls import controls, status_note
from bot.slack.opening import with_opening
from bot.slack.routing_blocks import RoutingView
from bot.slack.text import escape
from bot.slack.toolkit_blocks import survey_line, tag_blocks
from bot.store.database import Database, Transaction
from bot.store.outbox import Job
from bot.store.parts import FILE, SLACK, TEXT

log = logging.getLogger(__name__)

_REASONS = {
    "channel_not_found": "the Slack channel no longer exists or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the Slack channel",
    "is_archived": "the Slack channel is archived",
    "invalid_auth": "the Slack token is invalid",
    "token_revoked": "the Slack token was revoked",
    "account_inactive": "the Slack app was uninstalled or deactivated",
}


def slack_failure(exc: BaseException) -> DeliveryError:
    """Sort a failed Slack call into wait, retry or give up: only Slack's own refusal gives up; an answer that is not
    Slack's (an HTML 502 page from a proxy, plain text) is temporary, like an outage."""
    if isinstance(exc, SlackApiError):
        refused = refusal(exc)
        if refused.rate_limited:
            return RateLimited(refused.retry_after, "Slack rate limit")
        if refused.temporary:
            return TemporaryFailure(describe(exc))
        return PermanentFailure(_REASONS.get(refused.error, f"Slack refused it ({refused.error})"))
    return TemporaryFailure(describe(exc))


class SlackDelivery:
    """Handler for every job kind whose target is Slack (see bot.usecases.conversations for the kinds)."""

    def __init__(
        self,
        client: AsyncWebClient,
        db: Database,
        config: BotConfig,
        connectors: Mapping[str, Connector],
        *,
        team_url: str,
    ) -> None:
        self.client = client
        self.db = db
        self.config = config
        self.connectors = connectors
        self.team_url = team_url

    async def _call(self, method: str, **kwargs: Any) -> Any:
        await paced()
        try:
            return await slack_call(getattr(self.client, method)(**kwargs))
        except SLACK_FAILURES as exc:
            raise slack_failure(exc) from exc

    async def _conversation(self, job: Job) -> Conversation:
        async with self.db.reading() as tx:
            return await _conversation_in(tx, job)

    async def _post(
        self, channel: str, post: SlackPost, thread_ts: str | None = None, *, broadcast: bool = False
    ) -> str:
        """``broadcast``: a thread reply shown in the channel too (``reply_broadcast``)."""
        extra = {"reply_broadcast": True} if broadcast and thread_ts else {}
        response = await self._call(
            "chat_postMessage",
            channel=channel,
            thread_ts=thread_ts,
            text=post.text,
            blocks=post.blocks,
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        return str(response["ts"])

    async def _header(self, conversation: Conversation, moved_from: str | None = None) -> SlackPost:
        previous_link = None
        async with self.db.reading() as tx:  # one read for everything the header shows
            previous = None
            if conversation.previous_id is not None:
                previous = await tx.archive.conversation(conversation.previous_id)
            state = await tx.timers.state(conversation.id)  # routing and timing (bot.usecases.triage)
            alias = await tx.timers.latest_alias(conversation.id)
            # the customer's earlier conversations (bot.store.customers)
            earlier = await tx.customers.count_conversations(conversation.customer_id, before_id=conversation.id)
            origin = await tx.origins.shown_on(conversation.id)  # where the customer came from (bot.store.origins)
            views = await tx.origins.views_before(conversation.customer_id, conversation.opened_at)
            opening = await tx.archive.opening_words(conversation.id)  # quoted on the header (bot.slack.opening)
            survey = await tx.surveys.of(conversation.id)  # satisfaction and tags (bot.slack.toolkit_blocks)
            tags = await tx.tags.of(conversation.id)
        if previous is not None and previous.thread_ts:
            previous_link = permalink(self.team_url, previous.slack_channel, previous.thread_ts)
        routing = RoutingView.of(state, moved_from or (permalink(self.team_url, *alias) if alias else None))
        customer = header_blocks(conversation.id, conversation.customer_id, earlier)
        customer = [*survey_line(survey), *tag_blocks(conversation.id, self.config.tags.names, tags), *customer]
        hold, until = (state.hold, state.hold_until) if state is not None else (None, None)
        language = pick_language(conversation.language, conversation.language_code, self.config.language)
        post = header(
            conversation,
            categories=self.config.categories,
            previous_link=previous_link,
            routing=routing,
            customer=customer,
            origin=origin,
            activity=summarize_views(views),
            status_note=status_note(hold, until),
            controls=controls(conversation, hold, language),
        )
        return with_opening(post, opening)


class OpenThread(SlackDelivery):
    async def deliver(self, batch: list[Job]) -> Delivered:
        conversation = await self._conversation(batch[0])
        if conversation.thread_ts:  # opened before a crash lost only the job's completion
            return Delivered()
        ts = await self._post(conversation.slack_channel, await self._header(conversation))

        async def record(tx: Transaction) -> None:
            await tx.archive.set_thread(conversation.id, ts)

        return Delivered(record=record)

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)


class UpdateHeader(SlackDelivery):
    async def deliver(self, batch: list[Job]) -> Delivered:
        conversation = await self._conversation(batch[0])
        if conversation.thread_ts:
            post = await self._header(conversation)
            await self._call(
                "chat_update",
                channel=conversation.slack_channel,
                ts=conversation.thread_ts,
                text=post.text,
                blocks=post.blocks,
            )
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)


class PostNotice(SlackDelivery):
    async def deliver(self, batch: list[Job]) -> Delivered:
        conversation = await self._conversation(batch[0])
        if conversation.thread_ts:
            text = notices.from_payload(batch[0].payload, self.config.categories, conversation)
            await self._post(conversation.slack_channel, notice(text), conversation.thread_ts)
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)


class PostAlert(SlackDelivery):
    """A notice to a channel about no conversation in particular (an update kept as a dead letter)."""

    async def deliver(self, batch: list[Job]) -> Delivered:
        payload = batch[0].payload
        await self._post(str(payload["channel"]), notice(notices.from_payload(payload, self.config.categories, None)))
        return Delivered()

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        log.error("a notice to %s could not be posted: %s", batch[0].payload.get("channel"), reason)


class PostInbound(SlackDelivery):
    """Customer messages into their thread; a backlog of text messages goes out combined in one post."""

    async def read_ahead(self, tx: Transaction, job: Job) -> tuple[Conversation, list[Any]]:
        """The conversation and the job's message: the one read on the hot path (bot.delivery.handlers), one
        statement when both are there."""
        found = None if job.message_id is None else await tx.archive.message_with_conversation(job.message_id)
        if found is None or found[0].id != job.conversation_id:
            return await _inbound_rows(tx, [job])  # what deliver would meet, failures included
        conversation, row = found
        return conversation, [row]

    async def deliver(self, batch: list[Job]) -> Delivered:
        if batch[0].ahead is not None and len(batch) == 1:
            conversation, rows = batch[0].ahead
        else:
            async with self.db.reading() as tx:
                conversation, rows = await _inbound_rows(tx, batch)
        if not conversation.thread_ts:
            # Opening the thread runs first in this lane; reaching here without one means it failed for good.
            raise PermanentFailure("the conversation's Slack thread could not be opened")
        by_id = {row.id: row for row in rows}
        head = batch[0]
        head_row = by_id[head.message_id]
        progress = Progress(head, self.db)
        alone = head_row.attachments or head.payload.get("resurfaced")  # posted on its own
        if alone or len(customer_posts([_display_text(head_row, head.payload)])) > 1:
            ts, kinds = await self._deliver_one(conversation, head_row, head.payload, progress)
            record = _posted([head_row.id], ts, conversation.slack_channel, progress.ids, kinds)
            return Delivered(record=record, job_ids=[head.id])
        taken: list[Job] = []
        texts: list[str] = []
        for job in batch:
            row = by_id.get(job.message_id)
            if row is None or row.attachments or job.payload.get("resurfaced"):
                break
            candidate = [*texts, _display_text(row, job.payload)]
            if taken and len(customer_posts(candidate)) > 1:
                break
            taken.append(job)
            texts = candidate
        posts = customer_posts(texts)
        ts = (
            await self._post(conversation.slack_channel, posts[0], conversation.thread_ts)
            if posts
            else conversation.thread_ts
        )
        parts = [ts] if posts else []  # a message with nothing to show has no post of its own
        taken_ids = [j.message_id for j in taken if j.message_id]
        record = _posted(taken_ids, ts, conversation.slack_channel, parts, [TEXT] * len(parts))
        return Delivered(record=record, job_ids=[j.id for j in taken])

    async def _deliver_one(
        self, conversation: Conversation, row: Any, payload: dict[str, Any], progress: Progress
    ) -> tuple[str, list[str]]:
        """A message with files or too long for one post: each part recorded as it lands, so none repeats.
        Returns the first part's ts and the kind of every part (for the map of message ids)."""
        assert conversation.thread_ts is not None
        parts: list[Any] = [("post", p) for p in customer_posts([_display_text(row, payload)])]
        attachments = [Attachment.from_json(a) for a in row.attachments]
        if attachments and parts and len(parts) == 1:
            parts = []  # the caption travels with the first file
            caption = _display_text(row, payload)
        else:
            caption = ""
        parts += [("file", a) for a in attachments]
        resurfaced = payload.get("resurfaced")
        if resurfaced:  # the thread was quiet: the holder is mentioned with the message, which may show in the channel
            line = notices.resurfaced(resurfaced)
            first = parts[0][1] if parts and parts[0][0] == "post" else None
            if first is not None and len(first.blocks) < 50:
                parts[0] = ("post", with_line(first, line))
            else:
                parts.insert(0, ("post", notice(line)))
        broadcast = bool(resurfaced and resurfaced.get("broadcast"))
        ts = progress.ids[0] if progress.ids else conversation.thread_ts
        for index, (kind, part) in enumerate(parts):
            if index < progress.done:
                continue
            if kind == "post":
                sent = await self._post(
                    conversation.slack_channel, part, conversation.thread_ts, broadcast=broadcast and index == 0
                )
            else:
                first_file = index == next(i for i, (k, _) in enumerate(parts) if k == "file")
                sent = await self._upload(conversation, part, caption if first_file else "")
            if index == 0:
                ts = sent
            await progress.advance(sent)
        return ts, [TEXT if kind == "post" else FILE for kind, _ in parts]

    async def _upload(self, conversation: Conversation, attachment: Attachment, caption: str) -> str:
        connector = self.connectors.get(conversation.channel)
        if connector is None:
            raise PermanentFailure(f"no connector for {conversation.channel}")
        content = await connector.fetch(attachment)
        kwargs: dict[str, Any] = {
            "channel": conversation.slack_channel,
            "thread_ts": conversation.thread_ts,
            "content": content,
            "filename": attachment.file_name,
            "title": attachment.file_name,
        }
        if caption.strip():
            kwargs["initial_comment"] = escape(caption)
        response = await self._call("files_upload_v2", **kwargs)
        files = response.get("files") or [response.get("file") or {}]
        return str(files[0].get("id", conversation.thread_ts))

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)


async def _inbound_rows(tx: Transaction, batch: list[Job]) -> tuple[Conversation, list[Any]]:
    conversation = await _conversation_in(tx, batch[0])
    return conversation, await tx.archive.message_rows([j.message_id for j in batch if j.message_id is not None])


async def _conversation_in(tx: Transaction, job: Job) -> Conversation:
    assert job.conversation_id is not None
    conversation = await tx.archive.conversation(job.conversation_id)
    if conversation is None:
        raise PermanentFailure(f"conversation {job.conversation_id} does not exist")
    return conversation


def _display_text(row: Any, payload: dict[str, Any]) -> str:
    text = row.text
    if payload.get("edited"):
        return f"(edited) {text}"
    return text


def _posted(message_ids: list[int], ts: str | None, channel: str, parts: list[str], kinds: list[str]) -> Any:
    """Archive where the messages went: the first post's ts on each message, and every part in the map."""

    async def record(tx: Transaction) -> None:
        if message_ids and ts:
            await tx.archive.mark_posted_to_slack(message_ids, ts)
        now = datetime.now(UTC)
        for message_id in message_ids:
            await tx.parts.record(message_id, SLACK, channel, parts, kinds[: len(parts)], now)

    return record


async def archive_failure(tx: Transaction, batch: list[Job], reason: str) -> None:
    message_ids = [j.message_id for j in batch if j.message_id is not None]
    if message_ids:
        await tx.archive.mark_failed(message_ids, reason)
    for job in batch:
        await tx.archive.add_event(
            job.conversation_id,
            EventKind.DELIVERY_FAILED,
            "slack",
            datetime.now(UTC),
            job=job.kind,
            reason=reason,
        )
    log.error("Slack delivery abandoned for %d job(s): %s", len(batch), reason)
