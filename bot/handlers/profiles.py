"""What the customer handlers share: which customer a button means, and how a profile answers the person who asked.

Answers go to the person who asked only (ephemeral). A button on an ephemeral answer replaces that answer (the
profile refreshes in place); a button on a thread's first message, which everybody sees, answers beside it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.handlers.stale import carried_id, stale
from bot.slack.customer_blocks import profile_blocks
from bot.slack.text import escape
from bot.usecases.crm import CrmError, Customers


def button_target(value: str) -> tuple[str, int]:
    """``customer:12`` or ``conversation:34`` from a button's value."""
    kind, _, number = value.partition(":")
    if kind not in ("customer", "conversation"):
        raise stale(value)
    return kind, carried_id(number)


def is_ephemeral(body: dict[str, Any]) -> bool:
    return bool((body.get("container") or {}).get("is_ephemeral"))


class Profiles:
    def __init__(self, customers: Customers, team_url: str) -> None:
        self.customers = customers
        self.team_url = team_url

    async def customer_id(self, kind: str, number: int) -> int:
        """The customer a button names: itself, or the customer of the conversation it is on."""
        return number if kind == "customer" else await self.customers.customer_of_conversation(number)

    async def answer(
        self, respond: AsyncRespond, body: dict[str, Any], text: str, blocks: list[dict[str, Any]]
    ) -> None:
        """Replace an ephemeral answer, or answer beside a message everybody sees."""
        if is_ephemeral(body):
            await respond(text=text, blocks=blocks, replace_original=True)
        else:
            await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    async def show(self, respond: AsyncRespond, body: dict[str, Any], customer: int, user: str, via: str) -> None:
        try:
            profile = await self.customers.profile(customer, user, via=via)
        except CrmError as exc:
            await respond(text=str(exc), response_type="ephemeral", replace_original=False)
            return
        blocks = profile_blocks(profile, self.team_url)
        await self.answer(respond, body, f"Customer {escape(profile.customer.name)}", blocks)
