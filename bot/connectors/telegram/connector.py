"""Telegram: customers write to the team's bot; replies go back to their private chat.

Updates are confirmed to Telegram only after they are stored: in polling mode the offset is the inbox's cursor,
saved in the same commit as the updates it confirms, and the next ``getUpdates`` carries it; in webhook mode the
HTTP answer waits for the commit (5xx while the database cannot take it, so Telegram retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.connectors.base import (
    CheckResult,
    Health,
    Inbox,
    Limits,
    Outcome,
    Outgoing,
    OutgoingFile,
    Parts,
    Route,
    Tuning,
)
from bot.connectors.telegram.changes import Chunk, delete_message, edit_parts
from bot.connectors.telegram.checks import telegram_checks
from bot.connectors.telegram.failures import telegram_failure
from bot.connectors.telegram.html import TELEGRAM_TEXT_LIMIT, rich_to_html, split_utf16, visible_text
from bot.connectors.telegram.inbound import DOWNLOAD_LIMIT
from bot.connectors.telegram.settings import WEBHOOK_PATH, TelegramSettings
from bot.connectors.telegram.updates import ALLOWED_UPDATES, item_of, update_id
from bot.domain.errors import PermanentFailure, TemporaryFailure
from bot.domain.models import Attachment, Rate
from bot.domain.tasks import cancelled

log = logging.getLogger(__name__)

PHOTO_LIMIT = 10 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
CHOSEN_MARK = "✓ "


def limits(settings: TelegramSettings) -> Limits:
    """The Bot API's limits (core.telegram.org/bots/api, /bots/faq): 4,096 UTF-16 units of text, 50 MB up, 20 MB
    down, 100 buttons of 64 bytes; about one message a second per chat (short bursts) and 30 a second overall."""
    return Limits(
        text_length=TELEGRAM_TEXT_LIMIT,
        text_unit="utf16",
        file_size=UPLOAD_LIMIT,
        download_size=DOWNLOAD_LIMIT,
        buttons=100,
        button_data=64,
        per_chat=Rate(settings.messages_per_second, 3),
        overall=Rate(30.0, 30),
        edits=True,
        deletes=True,
        edit_window=timedelta(hours=48),
    )


def keyboard(rows: tuple[tuple[tuple[str, str], ...], ...], chosen: str | None = None) -> InlineKeyboardMarkup:
    """Inline buttons from (label, callback_data) rows; the one whose data is ``chosen`` carries a check mark."""

    def button(text: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(CHOSEN_MARK + text if data == chosen else text, callback_data=data)

    return InlineKeyboardMarkup([[button(text, data) for text, data in row] for row in rows])


class TelegramConnector:
    channel = "telegram"
    label = "Telegram"

    def __init__(self, settings: TelegramSettings, tuning: Tuning) -> None:
        self.settings = settings
        self.limits = limits(settings)
        self.poll_timeout = tuning.poll_timeout
        self.bot = Bot(
            settings.bot_token,
            base_url=settings.api_url,
            base_file_url=settings.file_url,
            request=HTTPXRequest(
                connection_pool_size=32,
                connect_timeout=min(5.0, tuning.api_timeout),
                read_timeout=tuning.api_timeout,
                write_timeout=max(tuning.api_timeout, 60.0),
                pool_timeout=10,
            ),
            get_updates_request=HTTPXRequest(connect_timeout=5, read_timeout=tuning.poll_timeout + 10),
        )
        self._inbox: Inbox | None = None
        self._task: asyncio.Task[None] | None = None
        self._health = Health("starting", "connecting to Telegram")

    def health(self) -> Health:
        return self._health

    def routes(self) -> Sequence[Route]:
        return [Route("POST", WEBHOOK_PATH, self.webhook)] if self.settings.webhook_mode else []

    async def start(self, inbox: Inbox) -> None:
        """Connect in the background: a Telegram outage at start must not keep the bot (and Slack) down."""
        self._inbox = inbox
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def check(self) -> list[CheckResult]:
        """Read-only: the token (getMe) and the webhook (getWebhookInfo), for ``check-config --online``."""
        return await telegram_checks(self.bot, self.settings)

    async def stop_receiving(self) -> None:
        """Stop polling (updates not yet stored stay with Telegram for the next process); sending goes on."""
        await cancelled(self._task)
        self._task = None

    async def stop(self) -> None:
        await cancelled(self._task)
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()

    async def _run(self) -> None:
        if await self._connect() and not self.settings.webhook_mode:
            await self._poll()

    async def _connect(self) -> bool:
        """Introduce the bot and set (or clear) the webhook; False when Telegram refuses the token for good."""
        failures = 0
        while True:
            try:
                await self.bot.initialize()
                if self.settings.webhook_mode:
                    await self.bot.set_webhook(
                        url=self.settings.webhook_url or "",
                        secret_token=self.settings.webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                    log.info("Telegram webhook registered")
                else:
                    await self.bot.delete_webhook()  # getUpdates refuses to work while a webhook is set
                    log.info("polling Telegram for updates")
                self._health = Health("ok")
                return True
            except InvalidToken:
                reason = "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized)"
                log.error("%s: check the token @BotFather gave you; Telegram customers are not heard", reason)
                self._health = Health("failed", reason)
                return False
            except (NetworkError, RetryAfter) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                log.warning("Telegram is not reachable (%s); trying again in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    # --- receiving -------------------------------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long-poll for ever. The offset moves only with the updates it confirms, in one commit, so whatever fails
        here - Telegram, the network, the database - the same updates simply come again; an update that cannot be
        read or stored is quarantined by the inbox and never holds up the others."""
        assert self._inbox is not None
        failures = 0
        while True:
            try:
                cursor = await self._inbox.cursor()
                raw_updates = await self._get_updates(int(cursor or 0))
                await self._store(raw_updates)
                failures = 0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(telegram_failure(exc).retry_after)  # type: ignore[attr-defined]
            except InvalidToken:
                reason = "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized) while polling"
                log.error("%s: check the token @BotFather gave you", reason)
                self._health = Health("failed", reason)
                return
            except Exception as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                log.warning("could not take in Telegram updates (%s); trying again in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    async def _get_updates(self, offset: int) -> list[Any]:
        """getUpdates as JSON, each update parsed on its own afterwards (the library's own get_updates parses the
        whole answer at once, and one update it cannot parse would stop every later customer from being heard)."""
        with warnings.catch_warnings():  # do_api_request suggests get_updates, which is what this avoids
            warnings.simplefilter("ignore")
            result = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={"offset": offset or None, "timeout": self.poll_timeout, "allowed_updates": ALLOWED_UPDATES},
                read_timeout=self.poll_timeout + 10,
            )
        return list(result) if isinstance(result, list) else []

    async def _store(self, raw_updates: Sequence[Any]) -> None:
        """One getUpdates answer into the inbox in one commit, with the offset past its last update."""
        assert self._inbox is not None
        ids = [i for i in (update_id(raw) for raw in raw_updates) if i is not None]
        if not ids:
            return
        parsed = [item_of(raw, self.bot) for raw in raw_updates if update_id(raw) is not None]
        items = [item for item, _ in parsed if item is not None]
        outcomes = await self._inbox.receive(items, cursor=str(max(ids) + 1))
        taps = [update for item, update in parsed if item is not None]
        for update, outcome in zip(taps, outcomes, strict=True):
            if update is not None and update.callback_query is not None:
                await self._acknowledge(update.callback_query, outcome)

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's webhook: the secret header must match, and the update is stored before we answer 200."""
        assert self._inbox is not None
        expected = self.settings.webhook_secret or ""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("refused a Telegram webhook call without the right secret header")
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            raw = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raw = None
        if update_id(raw) is None:
            log.warning("refused a Telegram webhook call that is not an update (a JSON object with an update_id)")
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        item, update = item_of(raw, self.bot)
        try:
            outcomes = await self._inbox.receive([item] if item is not None else [])
        except Exception as exc:
            log.warning("could not store a Telegram update (%s); Telegram will send it again", exc)
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        if update is not None and update.callback_query is not None and outcomes:
            await self._acknowledge(update.callback_query, outcomes[0])
        return web.json_response({"ok": True})

    async def _acknowledge(self, query: CallbackQuery, outcome: Outcome) -> None:
        """Best effort, after the tap is stored: stop the button's spinner and show the choice."""
        message = query.message
        try:
            await self.bot.answer_callback_query(query.id, text=outcome.notice or None)
            markup = getattr(message, "reply_markup", None)
            shows_choice = outcome.status in ("chosen", "ended")
            if isinstance(markup, InlineKeyboardMarkup) and message is not None and shows_choice:
                rows = tuple(
                    tuple((b.text.removeprefix(CHOSEN_MARK), str(b.callback_data or "")) for b in row)
                    for row in markup.inline_keyboard
                )
                await self.bot.edit_message_reply_markup(
                    chat_id=message.chat.id,
                    message_id=message.message_id,
                    reply_markup=keyboard(rows, query.data) if outcome.status == "chosen" else None,
                )
        except TelegramError as exc:
            log.info("could not acknowledge a button tap: %s", exc)

    # --- sending ---------------------------------------------------------------------------------------------

    async def send(self, address: str, outgoing: Outgoing, parts: Parts) -> list[str]:
        if self._health.state != "ok":
            raise TemporaryFailure(f"not connected to Telegram ({self._health.describe()})")
        chat_id = int(address)
        chunks = self._chunks(outgoing)
        plan: list[tuple[str, Any]] = [("text", c) for c in chunks] + [("file", f) for f in outgoing.files]
        markup = keyboard(outgoing.buttons) if outgoing.buttons else None
        last_text = len(chunks) - 1
        sent: list[str] = []
        for index, (kind, item) in enumerate(plan):
            if index < parts.done:
                continue
            await parts.slot()
            if kind == "text":
                text, parse_mode = item
                message_id = await self._send_text(chat_id, text, parse_mode, markup if index == last_text else None)
            else:
                message_id = await self._send_file(chat_id, item)
            sent.append(message_id)
            await parts.advance(message_id)
        return sent

    @staticmethod
    def _chunks(outgoing: Outgoing) -> list[Chunk]:
        """The text as Telegram messages: formatted HTML chunks for staff text, plain chunks for the bot's own."""
        if outgoing.rich is not None:
            return [(c, "HTML") for c in rich_to_html(outgoing.rich)]
        return [(c, None) for c in split_utf16(outgoing.text, TELEGRAM_TEXT_LIMIT)]

    async def edit(self, address: str, message_ids: Sequence[str], outgoing: Outgoing, parts: Parts) -> list[str]:
        if self._health.state != "ok":
            raise TemporaryFailure(f"not connected to Telegram ({self._health.describe()})")

        async def send(chat_id: int, text: str, parse_mode: str | None, reply: ReplyParameters | None) -> str:
            return await self._send_text(chat_id, text, parse_mode, reply=reply)

        return await edit_parts(self.bot, int(address), message_ids, self._chunks(outgoing), parts, send)

    async def delete(self, address: str, message_ids: Sequence[str], parts: Parts) -> None:
        if self._health.state != "ok":
            raise TemporaryFailure(f"not connected to Telegram ({self._health.describe()})")
        for index, message_id in enumerate(message_ids):
            if index < parts.done:
                continue
            await parts.slot()
            await delete_message(self.bot, int(address), int(message_id))
            await parts.advance(None)

    async def _send_text(
        self,
        chat_id: int,
        text: str,
        parse_mode: str | None,
        buttons: InlineKeyboardMarkup | None = None,
        *,
        reply: ReplyParameters | None = None,
    ) -> str:
        try:
            message = await self.bot.send_message(
                chat_id, text, parse_mode=parse_mode, link_preview_options=None, disable_notification=False,
                reply_markup=buttons, reply_parameters=reply,
            )  # fmt: skip
        except TelegramError as exc:
            if parse_mode and "parse entities" in str(getattr(exc, "message", "")).lower():
                log.warning("Telegram could not parse formatted text; sending it plain")
                return await self._send_text(chat_id, visible_text(text), None, buttons, reply=reply)
            raise telegram_failure(exc) from exc
        return str(message.message_id)

    async def _send_file(self, chat_id: int, file: OutgoingFile) -> str:
        size = len(file.content)
        if size > UPLOAD_LIMIT:
            raise PermanentFailure(f"{file.name} is {size // (1024 * 1024)} MB; Telegram bots can send at most 50 MB")
        try:
            if (file.mime_type or "").startswith("image/") and file.mime_type != "image/gif" and size <= PHOTO_LIMIT:
                message = await self.bot.send_photo(chat_id, photo=file.content, filename=file.name)
            else:
                message = await self.bot.send_document(chat_id, document=file.content, filename=file.name)
        except TelegramError as exc:
            raise telegram_failure(exc) from exc
        return str(message.message_id)

    async def fetch(self, attachment: Attachment) -> bytes:
        if self._health.state != "ok":
            raise TemporaryFailure(f"not connected to Telegram ({self._health.describe()})")
        try:
            file = await self.bot.get_file(attachment.ref)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise telegram_failure(exc) from exc
