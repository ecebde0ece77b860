"""Only staff may use the bot's commands, buttons and forms: one Bolt middleware in front of all of them.

Staff are the members of the configured staff channels and user groups (``bot.slack.staff``). Anyone else gets a polite
refusal that shows no customer data, and the attempt is recorded in the audit trail. Message events (replies in
threads) are not interactions and pass through: only people in the staff channels can write there anyway.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse

from bot.handlers.background import Background
from bot.slack.staff import Access, StaffDirectory
from bot.usecases.crm import Customers

log = logging.getLogger(__name__)

REFUSAL = (
    "Sorry, this is only for the support team: ask to be added to one of the team's Slack channels "
    "(or its user group), then try again."
)
UNKNOWN = "Sorry, I could not check with Slack that you are on the support team just now; please try again shortly."

_INTERACTIONS = ("block_actions", "view_submission", "block_suggestion", "shortcut", "message_action")


def _json(body: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(body), headers={"content-type": ["application/json;charset=utf-8"]})


def _who(body: dict[str, Any]) -> tuple[str | None, str]:
    """The user behind an interaction and what they tried, or (None, "") for anything that is not one."""
    if "command" in body and "user_id" in body:
        return str(body["user_id"]), f"{body['command']} {body.get('text') or ''}".strip()
    kind = body.get("type")
    if kind in _INTERACTIONS:
        user = (body.get("user") or {}).get("id")
        actions = body.get("actions") or [{}]
        what = actions[0].get("action_id") or (body.get("view") or {}).get("callback_id") or kind
        return (str(user) if user else None), f"{kind}:{what}"
    return None, ""


def register(app: Any, staff: StaffDirectory, customers: Customers, background: Background) -> None:
    @app.middleware
    async def only_staff(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        user, what = _who(body)
        if user is None and not what:
            await next()  # an event, not an interaction
            return None
        access = await staff.check(user) if user else Access.REFUSED
        if access == Access.STAFF:
            await next()
            return None
        text = UNKNOWN if access == Access.UNKNOWN else REFUSAL
        log.info("refused %s to %s (%s)", what, user, access.value)
        background.spawn(customers.refused(user or "unknown", f"{what} ({access.value})"))
        if "command" in body:
            return _json({"response_type": "ephemeral", "text": text})
        kind = body.get("type")
        if kind == "view_submission":
            view = {
                "type": "modal",
                "title": {"type": "plain_text", "text": "Not allowed"},
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            }
            return _json({"response_action": "update", "view": view})
        if kind == "block_suggestion":
            return _json({"options": []})
        url = body.get("response_url")
        if isinstance(url, str) and url:

            async def tell() -> None:
                await AsyncRespond(response_url=url)(text=text, response_type="ephemeral", replace_original=False)

            background.spawn(tell())
        return BoltResponse(status=200, body="")
