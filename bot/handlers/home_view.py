"""The App Home tab as Block Kit: my open inquiries, those needing attention in my categories, today's team
figures and the saved replies, each list one page of ten with Previous / Next buttons. About 35 blocks at most,
however many inquiries are open (a home view holds 100), and every section under 3,000 characters."""

from __future__ import annotations

import json
from typing import Any

from bot.config import BotConfig
from bot.handlers.inquiries import inquiry_line
from bot.handlers.saved_replies import ADD, MANAGE
from bot.slack.text import escape
from bot.usecases.home import PAGE, USES_DAYS, HomeData, Library, Listing

PAGE_ACTION = "home_page"  # value: <list>:<page>
SECTION_CHARS = 2900
_BLOCKS = 100


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _pager(name: str, page: int, total: int) -> list[dict[str, Any]]:
    pages = max(1, -(-total // PAGE))
    if pages == 1:
        return []
    buttons = []
    if page > 0:
        buttons.append(_button("◀ Previous", f"{name}:{page - 1}", f"{name}_prev"))
    if page < pages - 1:
        buttons.append(_button("Next ▶", f"{name}:{page + 1}", f"{name}_next"))
    return [{"type": "actions", "block_id": f"page:{name}", "elements": buttons}]


def _button(text: str, value: str, suffix: str) -> dict[str, Any]:
    return {
        "type": "button", "text": {"type": "plain_text", "text": text}, "value": value,
        "action_id": f"{PAGE_ACTION}:{suffix}",
    }  # fmt: skip


def _range(listing_page: int, shown: int, total: int) -> str:
    first = listing_page * PAGE + 1
    return f"{first}–{first + shown - 1} of {total:,}"


def _lines_blocks(lines: list[str]) -> list[dict[str, Any]]:
    blocks, chunk = [], []
    for line in lines:
        line = line[:SECTION_CHARS]
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > SECTION_CHARS:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return blocks


def _listing(name: str, listing: Listing, empty: str, config: BotConfig, team_url: str, data: HomeData) -> list:
    if not listing.items:
        return [_context(empty)]
    lines = [inquiry_line(i, config, team_url, data.now) for i in listing.items]
    return [
        _context(_range(listing.page, len(listing.items), listing.total)),
        *_lines_blocks(lines),
        *_pager(name, listing.page, listing.total),
    ]


def _figures(data: HomeData) -> list[dict[str, Any]]:
    f = data.figures
    in_time = f"{f.answered_in_time} of {f.answered}" if f.answered else "none answered yet"
    fields = [
        f"*Opened today*\n{f.opened}", f"*Closed today*\n{f.closed}", f"*Waiting now*\n{f.waiting}",
        f"*Answered within target today*\n{in_time}",
    ]  # fmt: skip
    return [{"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in fields]}]


def _library(library: Library) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "actions",
            "block_id": "library",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Add a saved reply"},
                          "action_id": ADD, "style": "primary"}],
        }
    ]
    if not library.items:
        return [*blocks, _context("No saved replies yet.")]
    blocks.append(_context(_range(library.page, len(library.items), library.total)))
    for reply in library.items:
        body = reply.body_ko or reply.body_en
        languages = "/".join(code for code, text in (("ko", reply.body_ko), ("en", reply.body_en)) if text)
        tags = f" · {escape(', '.join(reply.tags))}" if reply.tags else ""
        used = library.uses.get(reply.id, 0)
        tags += f" · sent {used}× in {USES_DAYS} days" if used else ""
        text = f"*{escape(reply.title)}* · {languages}{tags}\n{escape(' '.join(body.split())[:200])}"
        blocks.append(
            {
                "type": "section",
                "block_id": f"reply:{reply.id}",
                "text": {"type": "mrkdwn", "text": text},
                "accessory": {
                    "type": "overflow",
                    "action_id": MANAGE,
                    "options": [
                        {"text": {"type": "plain_text", "text": "Edit"}, "value": f"edit:{reply.id}"},
                        {"text": {"type": "plain_text", "text": "Delete"}, "value": f"delete:{reply.id}"},
                    ],
                },
            }
        )
    return [*blocks, *_pager("library", library.page, library.total)]


def home_view(data: HomeData, config: BotConfig, team_url: str, pages: dict[str, int]) -> dict[str, Any]:
    categories = ", ".join(data.categories)
    attention_title = "Unclaimed or overdue in your categories" + (f" ({categories})" if categories else "")
    no_categories = "You own no category, so nothing is listed here."
    blocks = [
        _header("Your open inquiries"),
        *_listing("mine", data.mine, "You hold no open inquiry. :tada:", config, team_url, data),
        {"type": "divider"},
        _header(attention_title),
        *_listing("attention", data.attention, "Nothing waits for you here. :tada:" if data.categories
                  else no_categories, config, team_url, data),
        {"type": "divider"},
        _header("Today's team figures"),
        *_figures(data),
        {"type": "divider"},
        _header("Saved replies"),
        *_library(data.library),
    ]
    return {
        "type": "home",
        "callback_id": "app_home",
        "private_metadata": json.dumps(pages),
        "blocks": blocks[:_BLOCKS],
    }


def outsider_view() -> dict[str, Any]:
    """What someone outside the support team sees: no customer data."""
    text = "This app is for the support team. Ask to be added to one of the team's Slack channels to use it."
    return {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
