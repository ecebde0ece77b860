"""The customer forms: a note, a contact attempt, tags. A form opens while the click's trigger is fresh (three
seconds), so it opens before Slack is answered; what follows a saved form runs after."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import is_id
from bot.handlers.background import Background
from bot.handlers.profiles import Profiles, button_target, is_ephemeral
from bot.handlers.stale import StaleButton
from bot.slack.answers import SLACK_FAILURES, describe, slack_call
from bot.slack.customer_blocks import CONTACT, CONTACT_VIEW, NOTE, NOTE_VIEW, TAGS, TAGS_VIEW
from bot.slack.customer_modals import contact_modal, note_modal, tags_modal
from bot.usecases.crm import CrmError, Customers

log = logging.getLogger(__name__)


def register(app: AsyncApp, customers: Customers, profiles: Profiles, background: Background) -> None:
    async def open_modal(client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any], kind: str) -> None:
        user = body["user"]["id"]
        try:
            target, number = button_target(action["value"])
            customer = await profiles.customer_id(target, number)
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
            "e": is_ephemeral(body),
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
            await profiles.show(respond, fake_body, int(meta["c"]), user, "refresh")
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
