"""``/history`` and ``/inquiries``: answered to the caller only, straight from the archive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.config import BotConfig
from bot.conversations import Conversations
from bot.domain import ArchivedMessage, Conversation, Direction
from bot.slack_blocks import category_label, channel_name, permalink
from bot.slack_text import escape

SNIPPET_CHARS = 280
MAX_RESULTS = 20

_ARROWS = {
    Direction.INBOUND: "customer",
    Direction.OUTBOUND: "reply",
    Direction.NOTE: "note",
    Direction.AUTO: "auto-reply",
}


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return escape(flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…")


def _waited(since: datetime, now: datetime) -> str:
    minutes = int((now - since).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"


def history_blocks(query: str, results: list[ArchivedMessage], team_url: str) -> list[dict[str, Any]]:
    if not results:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": f"Nothing found for “{escape(query)}”."}}]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{len(results)} messages* for “{escape(query)}”"},
        }
    ]
    for found in results:
        who = f"*{escape(found.customer_name)}*"
        if found.customer_username:
            who += f" (@{escape(found.customer_username)})"
        link = f" · <{permalink(team_url, found.slack_channel, found.thread_ts)}|thread>" if found.thread_ts else ""
        date = found.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        line = f"{who} · {channel_name(found.channel) if found.direction == Direction.INBOUND else 'Slack'}"
        line += f" · {_ARROWS[found.direction]} · {date}{link}\n>{_snippet(found.text) or '[file]'}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
    return blocks


def inquiries_blocks(open_ones: list[Conversation], config: BotConfig, team_url: str) -> list[dict[str, Any]]:
    if not open_ones:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": "No open inquiries. :tada:"}}]
    now = datetime.now(UTC)
    lines = []
    for c in open_ones:
        name = escape(c.customer_name)
        title = f"<{permalink(team_url, c.slack_channel, c.thread_ts)}|{name}>" if c.thread_ts else name
        holder = f"held by <@{c.holder}>" if c.holder else "*unclaimed*"
        lines.append(
            f"• {title} · {category_label(c.category, config.categories)} · {holder} · open {_waited(c.opened_at, now)}"
        )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{len(open_ones)} open inquiries*"}}
    ]
    chunk: list[str] = []
    for line in lines:  # sections hold 3,000 characters; start a new one before that
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return blocks[:50]


def register(app: AsyncApp, service: Conversations, config: BotConfig, team_url: str) -> None:
    @app.command("/history")
    async def on_history(ack: Any, command: dict[str, Any]) -> None:
        query = (command.get("text") or "").strip()
        if not query:
            await ack(response_type="ephemeral", text="Usage: `/history <words, customer name, @username or id>`")
            return
        results = await service.history(query, limit=MAX_RESULTS)
        blocks = history_blocks(query, results, team_url)
        await ack(response_type="ephemeral", text=f"{len(results)} messages found", blocks=blocks)

    @app.command("/inquiries")
    async def on_inquiries(ack: Any) -> None:
        open_ones = await service.open_inquiries(limit=100)
        blocks = inquiries_blocks(open_ones, config, team_url)
        await ack(response_type="ephemeral", text=f"{len(open_ones)} open inquiries", blocks=blocks)
