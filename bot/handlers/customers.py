"""``/customer``, the profile's buttons and modals, and the customer buttons of a thread's first message.

Answers go to the person who asked only (ephemeral). A button on an ephemeral answer replaces that answer (the
profile refreshes in place); a button on a thread's first message, which everybody sees, answers beside it. Work that
follows a click runs after Slack is answered (``Background``), except opening a modal, which must happen while the
click's trigger is fresh (three seconds).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import is_id, parse_id
from bot.handlers.background import Background
from bot.handlers.stale import StaleButton, carried_id, stale
from bot.slack.answers import SLACK_FAILURES, describe, slack_call
from bot.slack.customer_blocks import (
    CONTACT,
    CONTACT_VIEW,
    EARLIER,
    MERGE,
    MERGE_CANCEL,
    NOTE,
    NOTE_VIEW,
    PROFILE,
    STAGE,
    TAGS,
    TAGS_VIEW,
    cards_blocks,
    earlier_blocks,
    merge_preview_blocks,
    merged_blocks,
    profile_blocks,
)
from bot.slack.customer_modals import contact_modal, note_modal, tags_modal
from bot.slack.text import escape
from bot.usecases.crm import CrmError, Customers, Profile

log = logging.getLogger(__name__)

USAGE = (
    "Usage: `/customer <name | @username | id>` shows a customer's profile; "
    "`/customer merge <keep> <other>` merges the second customer into the first."
)
_ARG = re.compile(r'"([^"]+)"|(\S+)')


def _args(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _ARG.finditer(text)]


def _target(value: str) -> tuple[str, int]:
    """``customer:12`` or ``conversation:34`` from a button's value."""
    kind, _, number = value.partition(":")
    if kind not in ("customer", "conversation"):
        raise stale(value)
    return kind, carried_id(number)


def _ephemeral(body: dict[str, Any]) -> bool:
    return bool((body.get("container") or {}).get("is_ephemeral"))


def register(app: AsyncApp, customers: Customers, team_url: str, background: Background) -> None:
    async def customer_id(kind: str, number: int) -> int:
        return number if kind == "customer" else await customers.customer_of_conversation(number)

    async def answer(respond: AsyncRespond, body: dict[str, Any], text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace an ephemeral answer, or answer beside a message everybody sees."""
        if _ephemeral(body):
            await respond(text=text, blocks=blocks, replace_original=True)
        else:
            await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    async def show_profile(respond: AsyncRespond, body: dict[str, Any], customer: int, user: str, via: str) -> None:
        try:
            profile = await customers.profile(customer, user, via=via)
        except CrmError as exc:
            await respond(text=str(exc), response_type="ephemeral", replace_original=False)
            return
        await answer(respond, body, f"Customer {escape(profile.customer.name)}", profile_blocks(profile, team_url))

    async def by_id(text: str, user: str) -> Profile | None:
        """``12`` or ``#12``: that customer (an old id opens the customer it was merged into); None otherwise, and
        for a number that is no customer's id (a Telegram chat id, then)."""
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
                kind, number = _target(action["value"])
                customer = await customer_id(kind, number)
            except (CrmError, StaleButton) as exc:
                await respond(text=str(exc), response_type="ephemeral", replace_original=False)
                return
            await show_profile(respond, body, customer, user, "button" if kind == "customer" else "thread")

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
            await show_profile(respond, body, customer, user, "refresh")

        background.spawn(work())

    async def open_modal(client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any], kind: str) -> None:
        user = body["user"]["id"]
        try:
            target, number = _target(action["value"])
            customer = await customer_id(target, number)
            profile = await customers.profile(customer, user, via=f"{kind}_form")
        except (CrmError, StaleButton) as exc:
            try:
                await slack_call(client.chat_postEphemeral(channel=body["channel"]["id"], user=user, text=str(exc)))
            except SLACK_FAILURES as failure:
                log.warning("could not tell %s why the %s form did not open: %s", user, kind, describe(failure))
            return
        meta = {
            "c": profile.customer.id,
            "v": number if target == "conversation" else None,
            "r": body.get("response_url"),
            "e": _ephemeral(body),
        }
        name = profile.customer.name
        if kind == "note":
            view = note_modal(name, meta)
        elif kind == "contact":
            view = contact_modal(name, meta)
        else:
            view = tags_modal(name, profile.tags, meta)
        try:
            await slack_call(client.views_open(trigger_id=body["trigger_id"], view=view))
        except SLACK_FAILURES as failure:
            log.warning("could not open the %s form: %s", kind, describe(failure))

    @app.action(NOTE)
    async def on_note(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(client, body, action, "note")

    @app.action(CONTACT)
    async def on_contact(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(client, body, action, "contact")

    @app.action(TAGS)
    async def on_tags(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(client, body, action, "tags")

    # --- modal submissions ---------------------------------------------------------------------------------

    def form(view: dict[str, Any], block: str, action: str) -> dict[str, Any]:
        return ((view.get("state") or {}).get("values") or {}).get(block, {}).get(action) or {}

    async def after_save(meta: dict[str, Any], user: str, done: str) -> None:
        """Refresh the profile the form was opened from, or confirm beside the thread's first message."""
        url = meta.get("r")
        if not isinstance(url, str) or not url:
            return
        respond = AsyncRespond(response_url=url)
        if meta.get("e"):
            fake_body = {"container": {"is_ephemeral": True}}
            await show_profile(respond, fake_body, int(meta["c"]), user, "refresh")
        else:
            await respond(text=done, response_type="ephemeral", replace_original=False)

    def meta_of(view: dict[str, Any]) -> dict[str, Any]:
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        if not isinstance(meta, dict) or not is_id(meta.get("c")) or not (meta.get("v") is None or is_id(meta["v"])):
            return {}  # not what this bot wrote (the ids are checked before any query sees them)
        return meta

    @app.view(NOTE_VIEW)
    async def on_note_saved(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        meta = meta_of(view)
        text = form(view, "note", "text").get("value") or ""
        try:
            if not meta:
                raise CrmError("This form is out of date; open it again.")
            await customers.add_note(meta["c"], text, user, conversation_id=meta.get("v"))
        except CrmError as exc:
            await ack(response_action="errors", errors={"note": str(exc)})
            return
        await ack()
        background.spawn(after_save(meta, user, "Note saved on the customer's timeline."))

    @app.view(CONTACT_VIEW)
    async def on_contact_saved(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        meta = meta_of(view)
        method = (form(view, "method", "method").get("selected_option") or {}).get("value") or ""
        outcome = form(view, "outcome", "text").get("value") or ""
        try:
            if not meta:
                raise CrmError("This form is out of date; open it again.")
            await customers.log_contact(meta["c"], method, outcome, user, conversation_id=meta.get("v"))
        except CrmError as exc:
            await ack(response_action="errors", errors={"outcome": str(exc)})
            return
        await ack()
        background.spawn(after_save(meta, user, f"Contact attempt ({method}) logged on the customer's timeline."))

    @app.view(TAGS_VIEW)
    async def on_tags_saved(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        meta = meta_of(view)
        raw = form(view, "tags", "text").get("value") or ""
        try:
            if not meta:
                raise CrmError("This form is out of date; open it again.")
            await customers.set_tags(meta["c"], raw, user)
        except CrmError as exc:
            await ack(response_action="errors", errors={"tags": str(exc)})
            return
        await ack()
        background.spawn(after_save(meta, user, "Tags saved."))

    # --- merging -------------------------------------------------------------------------------------------

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
