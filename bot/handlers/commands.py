"""``/history``: the whole archive searched, answered to the caller only (``/inquiries`` is in handlers.inquiries).

The first page is the command's answer; "More results" sends the next page to the button's response_url after the
click is answered. Every page is recorded in the audit trail by the search itself (bot.crm.Customers.search).
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.handlers.background import Background
from bot.slack.customer_blocks import HISTORY_MORE
from bot.slack.history_blocks import USAGE_HINT, history_blocks
from bot.usecases.crm import Cursor, Customers


def _summary(blocks: list[dict[str, Any]]) -> str:
    first = blocks[0].get("text", {}).get("text", "") if blocks else ""
    return first.split("\n")[0][:300] or "Search results"


def register(app: AsyncApp, customers: Customers, team_url: str, background: Background) -> None:
    @app.command("/history")
    async def on_history(ack: Any, command: dict[str, Any]) -> None:
        query = (command.get("text") or "").strip()
        if not query:
            await ack(response_type="ephemeral", text=USAGE_HINT)
            return
        page = await customers.search(query, command["user_id"])
        blocks = history_blocks(page, team_url)
        await ack(response_type="ephemeral", text=_summary(blocks), blocks=blocks)

    @app.action(HISTORY_MORE)
    async def on_more(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            state = json.loads(action.get("value") or "{}")
            query = str(state["q"])
        except (ValueError, KeyError, TypeError):
            return  # not a value this bot wrote

        async def work() -> None:
            page = await customers.search(query, user, cursor=Cursor.from_json(state))
            blocks = history_blocks(page, team_url)
            await respond(text=_summary(blocks), blocks=blocks, response_type="ephemeral", replace_original=False)

        background.spawn(work())
