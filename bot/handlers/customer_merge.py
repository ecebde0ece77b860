"""Merging two customers from the preview ``/customer merge`` shows: the Merge and Cancel buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.handlers.background import Background
from bot.handlers.stale import StaleButton, carried_id
from bot.slack.customer_blocks import MERGE, MERGE_CANCEL, merged_blocks
from bot.usecases.crm import CrmError, Customers


def register(app: AsyncApp, customers: Customers, background: Background) -> None:
    @app.action(MERGE)
    async def on_merge(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]

        async def work() -> None:
            try:
                keep, _, other = str(action["value"]).partition(":")
                outcome = await customers.merge(carried_id(keep), carried_id(other), user)
            except (CrmError, StaleButton) as exc:
                await respond(text=f"Not merged: {exc}", replace_original=True)
                return
            await respond(text="Merged", blocks=merged_blocks(outcome), replace_original=True)

        background.spawn(work())

    @app.action(MERGE_CANCEL)
    async def on_merge_cancel(ack: Any, respond: AsyncRespond) -> None:
        await ack()

        async def work() -> None:
            await respond(text="Merge cancelled; nothing changed.", replace_original=True)

        background.spawn(work())
