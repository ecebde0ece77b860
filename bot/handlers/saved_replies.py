"""Saved replies in Slack: the "Saved reply" message shortcut and the button on a thread's first message open a
search that answers as you type; the chosen reply is previewed for this customer, editable, and sent as the staff
member's own reply in the thread. The library is managed from the App Home (add, edit, delete), every change
archived with who made it. Only staff get here (bot.handlers.access)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.models import Conversation
from bot.domain.saved_replies import BODY_CHARS, check_entry
from bot.handlers.background import Background
from bot.handlers.buttons import Whisper
from bot.slack import saved_reply_views as views
from bot.slack.answers import SLACK_FAILURES, describe, slack_call
from bot.slack.mrkdwn import parse_mrkdwn
from bot.slack.names import SlackNames
from bot.slack.text import escape
from bot.usecases.conversations import Conversations
from bot.usecases.saved_replies import SavedReplies

log = logging.getLogger(__name__)

ADD = "saved_reply_add"  # App Home button: a new reply
MANAGE = "saved_reply_manage"  # App Home overflow menu of a reply: edit:<id> or delete:<id>
_NOT_STORED = "The saved reply is in the thread but could not be stored, so the customer did not get it: send it again."
_NOT_A_THREAD = "Use this on a message of a customer conversation's thread, or on its first message."


class SavedReplyHandlers:
    def __init__(
        self, client: AsyncWebClient, saved: SavedReplies, service: Conversations, names: SlackNames,
        whisper: Whisper, background: Background, library_changed: Callable[[], None],
    ) -> None:  # fmt: skip
        self.client = client
        self.saved = saved
        self.service = service
        self.names = names
        self.whisper = whisper
        self.background = background
        self.library_changed = library_changed

    async def open_search(self, trigger_id: str, conversation: Conversation) -> None:
        found = await self.saved.search("", category=conversation.category, limit=views.RESULTS)
        view = views.search_view(conversation.id, "", found, 0)
        await self.open_view(trigger_id, view)

    async def typed(self, view: dict[str, Any], query: str) -> None:
        """A keystroke in the search field: the results for what it holds now, unless a newer view replaced it."""
        meta = views.metadata(view)
        conversation = await self.service.conversation(int(meta.get("c") or 0))
        if conversation is None:
            return
        found = await self.saved.search(query, category=conversation.category, limit=views.RESULTS)
        updated = views.search_view(conversation.id, query, found, int(meta.get("g") or 0) + 1)
        try:
            await slack_call(self.client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated))
        except SlackApiError as exc:
            if exc.response.get("error") != "hash_conflict":  # a newer keystroke already updated the modal
                log.warning("could not update the saved replies search: %s", describe(exc))
        except SLACK_FAILURES as exc:
            log.warning("could not update the saved replies search: %s", describe(exc))

    async def send(self, conversation: Conversation, reply_id: int, user: str, text: str) -> None:
        """Post the reply in the thread under the staff member's name, then archive and deliver it as their reply."""
        name = await self.names.name(user)
        written = escape(text)  # typed in a modal, not by Slack's composer: nothing in it may ping or link
        reply = await self.saved.get(reply_id)
        title = reply.title if reply else None  # deleted since the preview: sent all the same, as previewed
        blocks: list[dict[str, Any]] | None = None
        if len(written) <= 3000:
            line = f"Saved reply{f' “{escape(title)}”' if title else ''}, sent by <@{user}>"
            blocks = [
                {"type": "section", "text": {"type": "mrkdwn", "text": written}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]},
            ]
        try:
            posted = await slack_call(
                self.client.chat_postMessage(
                    channel=conversation.slack_channel, thread_ts=conversation.thread_ts, text=written, blocks=blocks,
                    username=name, unfurl_links=False, unfurl_media=False,
                )
            )  # fmt: skip
        except SLACK_FAILURES as exc:
            log.warning("could not post saved reply %d in %s: %s", reply_id, conversation.thread_ts, describe(exc))
            self.whisper(conversation.slack_channel, user, "Slack refused the saved reply; nothing was sent.",
                         conversation.thread_ts)  # fmt: skip
            return
        try:
            outcome = await self.service.staff_message(
                slack_channel=conversation.slack_channel, thread_ts=str(conversation.thread_ts), ts=str(posted["ts"]),
                user=user, user_name=name, text=written, rich=parse_mrkdwn(written), saved_reply_id=reply_id,
            )  # fmt: skip
        except Exception:
            log.exception("saved reply %d was posted in %s but could not be stored", reply_id, conversation.thread_ts)
            self.whisper(conversation.slack_channel, user, _NOT_STORED, conversation.thread_ts)
            return
        if not outcome.tracked:
            self.whisper(conversation.slack_channel, user, _NOT_A_THREAD, conversation.thread_ts)
        else:
            log.info("saved reply %d sent by %s in conversation %d", reply_id, user, conversation.id)

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        try:
            await slack_call(self.client.views_open(trigger_id=trigger_id, view=view))
        except SLACK_FAILURES as exc:
            log.warning("could not open the %s modal: %s", view.get("callback_id") or "saved replies", describe(exc))


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None


def register(app: AsyncApp, h: SavedReplyHandlers) -> None:
    @app.shortcut(views.SHORTCUT)
    async def on_shortcut(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or ""
        user = (body.get("user") or {}).get("id") or ""
        thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
        conversation = await h.service.by_thread(channel, thread_ts) if channel and thread_ts else None
        if conversation is None:
            h.whisper(channel, user, _NOT_A_THREAD, message.get("thread_ts"))
            return
        await h.open_search(body["trigger_id"], conversation)

    @app.action(views.OPEN)
    async def on_button(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        conversation_id = _int((body.get("actions") or [{}])[0].get("value"))
        conversation = await h.service.conversation(conversation_id) if conversation_id else None
        if conversation is not None:
            await h.open_search(body["trigger_id"], conversation)

    @app.action(views.QUERY)
    async def on_typed(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        await h.typed(body.get("view") or {}, str(action.get("value") or ""))

    @app.view(views.SEARCH)
    async def on_preview(ack: Any, body: dict[str, Any]) -> None:
        view = body["view"]
        values = view.get("state", {}).get("values", {})
        reply_id = views.chosen(values)
        if reply_id is None:
            block = views.choice_block(values) or views.QUERY
            await ack(response_action="errors", errors={block: "Choose a saved reply first."})
            return
        name = await h.names.name(body["user"]["id"])
        preview = await h.saved.preview(int(views.metadata(view).get("c") or 0), reply_id, name)
        if preview is None:
            block = views.choice_block(values) or views.QUERY
            await ack(response_action="errors", errors={block: "That saved reply was deleted meanwhile."})
            return
        view = views.preview_view(
            preview.conversation.id, preview.reply, preview.text, preview.language, preview.customer_language
        )
        await ack(response_action="push", view=view)

    @app.view(views.SEND)
    async def on_send(ack: Any, body: dict[str, Any]) -> None:
        view = body["view"]
        meta = views.metadata(view)
        text = ((view.get("state", {}).get("values", {}).get(views.TEXT) or {}).get(views.TEXT) or {}).get("value")
        text = (text or "").strip()
        if not text:
            await ack(response_action="errors", errors={views.TEXT: "Write something to send."})
            return
        if len(text) > BODY_CHARS:
            await ack(response_action="errors", errors={views.TEXT: f"At most {BODY_CHARS} characters."})
            return
        conversation = await h.service.conversation(int(meta.get("c") or 0))
        reply_id = _int(meta.get("r"))
        if conversation is None or conversation.thread_ts is None or reply_id is None:
            await ack(response_action="errors", errors={views.TEXT: "This conversation's thread is not there."})
            return
        await ack(response_action="clear")
        h.background.spawn(h.send(conversation, reply_id, body["user"]["id"], text))

    @app.action(ADD)
    async def on_add(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await h.open_view(body["trigger_id"], views.edit_view(None))

    @app.action(MANAGE)
    async def on_manage(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        option = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value") or ""
        what, _, raw = str(option).partition(":")
        reply = await h.saved.get(_int(raw) or 0)
        if reply is None:
            view = views.notice_view("Saved replies", "That saved reply was deleted meanwhile.")
        else:
            view = views.delete_view(reply) if what == "delete" else views.edit_view(reply)
        await h.open_view(body["trigger_id"], view)

    @app.view(views.SAVE)
    async def on_save(ack: Any, body: dict[str, Any]) -> None:
        view = body["view"]
        fields = views.form_values(view.get("state", {}).get("values", {}))
        checked = check_entry(fields["title"], fields["body_ko"], fields["body_en"], fields["tags"])
        if isinstance(checked, dict):
            await ack(response_action="errors", errors=checked)
            return
        saved = await h.saved.save(_int(views.metadata(view).get("r")), checked, body["user"]["id"])
        if saved.outcome == "duplicate":
            await ack(response_action="errors", errors={"title": "Another saved reply has this title."})
            return
        if saved.outcome == "missing":
            await ack(response_action="update", view=views.notice_view("Saved replies", "It was deleted meanwhile."))
            return
        await ack()
        h.library_changed()

    @app.view(views.DELETE)
    async def on_delete(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if await h.saved.delete(_int(views.metadata(body["view"]).get("r")) or 0, body["user"]["id"]):
            h.library_changed()
