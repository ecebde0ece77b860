"""Helpers of the customer, search and export tests: customers writing in, clicks and form submissions as Slack
sends them (signed, with a response_url the fake records), and the rows the audit trail and timeline hold."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import select

from bot.store.customer_schema import activities, audit_log
from bot.store.schema import messages
from tests.conftest import INBOX, SIGNING_SECRET, STAFF, Bot, all_text, wait_until
from tests.fakes.slack_requests import action_body, post_signed, view_submission_body


def person(chat: int, first: str, last: str | None = None, username: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": chat, "is_bot": False, "first_name": first}
    if last:
        user["last_name"] = last
    if username:
        user["username"] = username
    return user


async def customer_writes(bot: Bot, chat: int, text: str, user: dict[str, Any]) -> tuple[str, str]:
    """A customer message that opens (or lands in) a conversation; returns its thread once it exists and the
    message is archived."""
    bot.telegram.push_text(chat, text, user=user)
    thread = await bot.thread_for(chat)

    async def archived() -> bool:
        async with bot.rt.db.transaction() as tx:
            found = await tx.conn.execute(select(messages.c.id).where(messages.c.text == text))
            return found.first() is not None

    await wait_until(archived, what=f"{text!r} archived")
    return thread


def _patch_payload(body: bytes, **container: Any) -> bytes:
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    payload["container"].update(container)
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


async def click(
    bot: Bot,
    action_id: str,
    value: str,
    *,
    user: str = STAFF,
    ephemeral: bool = False,
    block_id: str = "b",
    element: dict[str, Any] | None = None,
    channel: str = INBOX,
) -> str:
    """A click on a button (or a choice in a menu, with ``element``); returns the id of its response_url."""
    url = bot.slack.response_url()
    body = action_body(
        action_id, value, user=user, response_url=url, block_id=block_id, element=element, channel=channel
    )
    if ephemeral:
        body = _patch_payload(body, is_ephemeral=True)
    response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET)
    assert response.status == 200, await response.text()
    await response.read()
    return url.rsplit("/", 1)[-1]


def select_stage(stage: str) -> dict[str, Any]:
    return {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": stage}, "value": stage},
    }


async def responses(bot: Bot, rid: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
    """What the bot sent to one response_url, once ``count`` bodies arrived."""
    await wait_until(
        lambda: len([r for r in bot.slack.responses if r["id"] == rid]) >= count, timeout=timeout, what=f"{rid}"
    )
    return [r["body"] for r in bot.slack.responses if r["id"] == rid]


async def submit(
    bot: Bot, callback_id: str, values: dict[str, Any], private_metadata: str, *, user: str = STAFF
) -> dict[str, Any] | None:
    """Submit a modal; returns the JSON the bot answered with (None for an empty 200: the modal closes)."""
    body = view_submission_body(callback_id, values, user=user, private_metadata=private_metadata)
    response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET)
    assert response.status == 200, await response.text()
    text = await response.text()
    return json.loads(text) if text.strip() else None


def shown(answer: Any) -> str:
    """Everything a person reads in an answer (blocks' texts, or the text), as one string."""
    if isinstance(answer, dict):
        return all_text(answer) + "\n" + str(answer.get("text") or "")
    return str(answer)


def assert_within_limits(bot: Bot, blocks: list[dict[str, Any]]) -> None:
    """Block Kit's documented limits, checked by the fake the way Slack reports them."""
    assert bot.slack._check_blocks(blocks) is None, bot.slack._check_blocks(blocks)


def action_elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]] + [
        b["accessory"] for b in blocks if b.get("accessory")
    ]


async def audit_rows(bot: Bot, action: str | None = None) -> list[Any]:
    async with bot.rt.db.transaction() as tx:
        stmt = select(audit_log).order_by(audit_log.c.id)
        if action is not None:
            stmt = stmt.where(audit_log.c.action == action)
        return list((await tx.conn.execute(stmt)).all())


async def timeline_rows(bot: Bot, customer_id: int) -> list[Any]:
    async with bot.rt.db.transaction() as tx:
        return list(
            (
                await tx.conn.execute(
                    select(activities).where(activities.c.customer_id == customer_id).order_by(activities.c.id)
                )
            ).all()
        )


async def customer_of(bot: Bot, chat: int) -> int:
    conversation = await bot.rt.service.conversation(await bot.conversation_id_for(chat))
    assert conversation is not None
    return conversation.customer_id
