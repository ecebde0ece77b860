"""``/inquiries [mine|unclaimed|overdue|<category>|tag:<tag>…]``: open inquiries, answered to the caller only.

Each line links the thread and shows the category, the holder and how long the customer has been waiting, so a
glance says what to pick up next. Filters combine: ``/inquiries overdue billing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.config import BotConfig
from bot.domain.tagging import tag_name
from bot.slack.blocks import category_label, permalink
from bot.slack.header_controls import status_note
from bot.slack.mentions import duration
from bot.slack.text import escape
from bot.store.timers import Inquiry
from bot.usecases.triage import Triage

MAX_LINES = 100
SECTION_CHARS = 2900  # a section's text holds 3,000 characters
FLAGS = ("mine", "unclaimed", "overdue")
TAG_FILTER = "tag:"


@dataclass
class Filters:
    mine: bool = False
    unclaimed: bool = False
    overdue: bool = False
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # tag:<name>, each required

    def describe(self) -> str:
        words = [f for f in FLAGS if getattr(self, f)] + self.categories + [f"tag:{t}" for t in self.tags]
        return ", ".join(words)


def parse_filters(text: str, known: set[str], tags: Sequence[str] = ()) -> Filters | str:
    """The filters in a command's text, or the one-line complaint about the first word that is none."""
    filters = Filters()
    by_folded = {k.casefold(): k for k in known}
    for word in text.split():
        folded = word.casefold()
        if folded.startswith(TAG_FILTER) and len(word) > len(TAG_FILTER):
            filters.tags.append(tag_name(word[len(TAG_FILTER) :], tags) or "")
        elif folded in FLAGS:
            setattr(filters, folded, True)
        elif folded in by_folded:
            filters.categories.append(by_folded[folded])
        else:
            choices = ", ".join(sorted(known)) or "none configured"
            return (
                f"Unknown filter “{escape(word)}”. Use `mine`, `unclaimed`, `overdue`, a category ({choices}) "
                "or `tag:<tag>`; they combine, e.g. `/inquiries overdue billing`."
            )
    return filters


def inquiry_line(inquiry: Inquiry, config: BotConfig, team_url: str, now: datetime) -> str:
    c, state = inquiry.conversation, inquiry.state
    name = escape(c.customer_name)
    title = f"<{permalink(team_url, c.slack_channel, c.thread_ts)}|{name}>" if c.thread_ts else name
    holder = f"held by <@{c.holder}>" if c.holder else "*unclaimed*"
    if state is not None and state.hold is not None:
        waited = status_note(state.hold, state.hold_until).removeprefix(" · ")
    elif state is not None and state.waiting_since is not None:
        waited = f"waiting {duration((now - state.waiting_since).total_seconds())}"
    elif state is not None:
        waited = "answered, not waiting"
    else:
        waited = f"open {duration((now - c.opened_at).total_seconds())}"
    line = f"• {title} · {category_label(c.category, config.categories)} · {holder} · {waited}"
    if Triage.is_overdue(state, now):
        line += " · :warning: *overdue*"
    return line


def inquiries_blocks(
    found: list[Inquiry], filters: Filters, config: BotConfig, team_url: str, now: datetime
) -> list[dict[str, Any]]:
    scope = f" ({filters.describe()})" if filters.describe() else ""
    if not found:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": f"No open inquiries{scope}. :tada:"}}]
    lines = [inquiry_line(i, config, team_url, now) for i in found[:MAX_LINES]]
    if len(found) > MAX_LINES:
        lines.append(f"…and {len(found) - MAX_LINES} more; narrow it down with a filter.")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{len(found)} open inquiries*{scope}"}}
    ]
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > SECTION_CHARS:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return blocks[:50]


def register(app: AsyncApp, triage: Triage, config: BotConfig, team_url: str) -> None:
    @app.command("/inquiries")
    async def on_inquiries(ack: Any, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        known = await triage.known_categories() if text else set(config.categories)
        filters = parse_filters(text, known, config.tags.names)
        if isinstance(filters, str):
            await ack(response_type="ephemeral", text=filters)
            return
        found = await triage.inquiries(
            user=command.get("user_id", ""),
            mine=filters.mine,
            unclaimed=filters.unclaimed,
            overdue=filters.overdue,
            categories=filters.categories or None,
            tags=filters.tags,
        )
        blocks = inquiries_blocks(found, filters, config, team_url, triage.clock())
        await ack(response_type="ephemeral", text=f"{len(found)} open inquiries", blocks=blocks)
