"""``/customer`` and the buttons that show a customer: the profile, the earlier conversations, the stage.

Work that follows a click runs after Slack is answered (``Background``). Forms are in bot.handlers.customer_forms,
merging in bot.handlers.customer_merge.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.domain.ids import parse_id
from bot.handlers.background import Background
from bot.handlers.profiles import Profiles, button_target
from bot.handlers.stale import StaleButton, carried_id
from bot.slack.customer_blocks import (
    EARLIER,
    PROFILE,
    STAGE,
    cards_blocks,
    earlier_blocks,
    merge_preview_blocks,
    profile_blocks,
)
from bot.slack.text import escape
from bot.usecases.crm import CrmError, Customers, Profile

USAGE = (
    "Usage: `/customer <name | @username | id>` shows a customer's profile; "
    "`/customer merge <keep> <other>` merges the second customer into the first."
)
_ARG = re.compile(r'"([^"]+)"|(\S+)')


def _args(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _ARG.finditer(text)]


def register(app: AsyncApp, customers: Customers, profiles: Profiles, background: Background) -> None:
    team_url = profiles.team_url

    async def by_id(text: str, user: str) -> Profile | None:
        """``12`` or ``#12``: that customer (an old id opens the customer it was merged into); None otherwise, and
        for a number that is no customer's id (then it is the id a channel knows a customer by)."""
        number = parse_id(text.lstrip("#"))
        if number is None:
            return None
        try:
            return await customers.profile(number, user, via="command")
        except CrmError:
            return None

    # --- the command ---------------------------------------------------------------------------------------

    @app.command("/customer")
    async def on_customer(ack: Any, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        user = command["user_id"]
        args = _args(text)
        if not args:
            await ack(response_type="ephemeral", text=USAGE)
            return
        try:
            if args[0].lower() == "merge":
                if len(args) != 3:
                    await ack(response_type="ephemeral", text=USAGE)
                    return
                keep, other = await customers.merge_preview(args[1], args[2])
                blocks = merge_preview_blocks(keep, other, team_url)
                await ack(response_type="ephemeral", text=f"Merge #{other.id} into #{keep.id}?", blocks=blocks)
                return
            profile = await by_id(text, user)
            if profile is None:
                cards = await customers.find(text, user)
                if not cards:
                    await ack(
                        response_type="ephemeral",
                        text=f"No customer matches “{escape(text)}”. `/history {escape(text)}` searches messages too.",
                    )
                    return
                if len(cards) > 1:
                    intro = f"*{len(cards)} customers* match “{escape(text)}”:"
                    await ack(response_type="ephemeral", text=intro, blocks=cards_blocks(intro, cards, team_url))
                    return
                profile = await customers.profile(cards[0].id, user, via="command")
        except CrmError as exc:
            await ack(response_type="ephemeral", text=escape(str(exc)))
            return
        blocks = profile_blocks(profile, team_url)
        await ack(response_type="ephemeral", text=f"Customer {escape(profile.customer.name)}", blocks=blocks)

    # --- profile and thread buttons ------------------------------------------------------------------------

    @app.action(PROFILE)
    async def on_profile(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]

        async def work() -> None:
            try:
                kind, number = button_target(action["value"])
                customer = await profiles.customer_id(kind, number)
            except (CrmError, StaleButton) as exc:
                await respond(text=str(exc), response_type="ephemeral", replace_original=False)
                return
            await profiles.show(respond, body, customer, user, "button" if kind == "customer" else "thread")

        background.spawn(work())

    @app.action(EARLIER)
    async def on_earlier(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]

        async def work() -> None:
            try:
                earlier = await customers.earlier(carried_id(action["value"]), user)
            except (CrmError, StaleButton) as exc:
                await respond(text=str(exc), response_type="ephemeral", replace_original=False)
                return
            blocks = earlier_blocks(earlier, team_url)
            await respond(
                text="Earlier conversations", blocks=blocks, response_type="ephemeral", replace_original=False
            )

        background.spawn(work())

    @app.action(STAGE)
    async def on_stage(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]

        async def work() -> None:
            try:
                customer = carried_id(str(action.get("block_id", "")).partition(":")[2])
                stage = (action.get("selected_option") or {}).get("value", "")
                await customers.set_stage(customer, stage, user)
            except (CrmError, StaleButton) as exc:
                await respond(text=str(exc), response_type="ephemeral", replace_original=False)
                return
            await profiles.show(respond, body, customer, user, "refresh")

        background.spawn(work())
