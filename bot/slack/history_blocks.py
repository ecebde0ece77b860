"""``/history`` answers: matching customers, then messages and notes, newest first, with a button for more."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from bot.connectors import registry
from bot.slack.blocks import channel_name
from bot.slack.customer_blocks import (
    _ROLES,
    HISTORY_MORE,
    _button,
    _section,
    _sections,
    card_line,
    snippet,
    thread_link,
    when,
    who,
)
from bot.slack.text import escape
from bot.store.search_results import Hit
from bot.usecases.crm_query import PAGE_SIZE
from bot.usecases.customer_records import SearchPage


def _hit_line(hit: Hit, terms: Sequence[str], team_url: str) -> str:
    role = _ROLES.get(hit.role, hit.role)
    if hit.kind == "message" and hit.role in ("outbound", "note"):
        role += f" by {escape(hit.author)}"
    elif hit.kind == "note":
        actor = f"<@{hit.author}>" if re.fullmatch(r"[UW][A-Z0-9]+", hit.author) else escape(hit.author)
        role = f"timeline {role} by {actor}"
    link = thread_link(team_url, hit.slack_channel, hit.thread_ts, "thread")
    head = f"{who(hit.customer_name, hit.customer_username)} · {channel_name(hit.channel)} · {when(hit.created_at)}"
    return f"{head} · {role} · {link}\n>{snippet(hit.text, terms)}"


def history_blocks(page: SearchPage, team_url: str) -> list[dict[str, Any]]:
    """One page of ``/history``: matching customers (first page), then messages and notes, newest first, and a
    button for the next page."""
    query = escape(page.query)
    if page.error:
        return [_section(f"{escape(page.error)}\n{USAGE_HINT}")]
    blocks: list[dict[str, Any]] = []
    if not page.hits and not page.customers:
        if page.page > 1:
            return [_section(f"No more results for “{query}”.")]
        return [_section(f"Nothing found for “{query}”.")]
    first = (page.page - 1) * PAGE_SIZE + 1
    summary = f"Results {first}–{first + len(page.hits) - 1} for “{query}”" if page.hits else f"“{query}”"
    blocks.append(_section(f"*{summary}*, newest first"))
    if page.customers:
        lines = ["*Customers*"] + [f"• {card_line(c, team_url)}" for c in page.customers]
        if page.more_customers:
            lines.append("_More customers match: narrow the words, or use `/customer`._")
        blocks.extend(_sections(lines))
    for hit in page.hits:
        blocks.append(_section(_hit_line(hit, page.terms, team_url)))
    if page.next_cursor is not None:
        value = json.dumps({"q": page.query, **page.next_cursor.to_json()}, ensure_ascii=False)
        blocks.append(
            {
                "type": "actions",
                "block_id": "history_more",
                "elements": [_button("More results", HISTORY_MORE, value[:2000])],
            }
        )
    return blocks[:50]


USAGE_HINT = (
    "Usage: `/history <words>` with any of `customer:<name|@username|id>` `category:<key>` "
    f"`channel:<{'|'.join(registry.CHANNELS)}>` "
    '`tag:<tag>` `from:2026-01-31` `to:2026-02-28`; `"two words"` finds them together.'
)
