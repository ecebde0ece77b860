"""Telegram: customers write to the team's bot; replies go back to their private chat.

Updates are confirmed to Telegram only after they are stored: in polling mode the offset is saved in the same
commit as the message, and the next ``getUpdates`` carries it; in webhook mode the HTTP answer waits for the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from aiohttp import web
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.connectors.base import Outgoing, OutgoingFile, Parts
from bot.connectors.telegram.html import TELEGRAM_TEXT_LIMIT, slack_to_telegram_html, split_utf16, visible_text
from bot.connectors.telegram.inbound import to_inbound
from bot.delivery.pacing import paced
from bot.domain.errors import DeliveryError, PermanentFailure, RateLimited, TemporaryFailure
from bot.domain.models import Attachment
from bot.usecases.conversations import Conversations, Incoming

log = logging.getLogger(__name__)

OFFSET_KEY = "telegram.offset"
WEBHOOK_PATH = "/telegram/webhook"
PHOTO_LIMIT = 10 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
CHOSEN_MARK = "✓ "


class PickResult(Protocol):
    @property
    def status(self) -> str:
        """ "chosen", "ended", ..."""

    @property
    def notice(self) -> str:
        """Shown to the customer as the tap's answer; "" for none."""


class Picks(Protocol):
    """Where a customer's tap on an inline button goes (bot.triage.Triage.pick)."""

    async def pick(
        self, *, channel: str, address: str, data: str, actor: str, dedupe_key: str, cursor: tuple[str, str] | None
    ) -> PickResult: ...


def keyboard(rows: tuple[tuple[tuple[str, str], ...], ...], chosen: str | None = None) -> InlineKeyboardMarkup:
    """Inline buttons from (label, callback_data) rows; the one whose data is ``chosen`` carries a check mark."""

    def button(text: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(CHOSEN_MARK + text if data == chosen else text, callback_data=data)

    return InlineKeyboardMarkup([[button(text, data) for text, data in row] for row in rows])


def telegram_failure(exc: BaseException) -> DeliveryError:
    """Sort a python-telegram-bot error into wait, retry or give up."""
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that the int form will become a timedelta; we take both
            warnings.simplefilter("ignore")
            value = exc.retry_after
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        return RateLimited(seconds, "Telegram flood control")
    if isinstance(exc, Forbidden):
        text = str(exc.message).lower()
        if "blocked" in text:
            return PermanentFailure("the customer blocked the bot on Telegram")
        if "deactivated" in text:
            return PermanentFailure("the customer's Telegram account was deleted")
        return PermanentFailure(f"Telegram refused: {exc.message}")
    if isinstance(exc, InvalidToken):
        return PermanentFailure("the Telegram bot token is invalid or was revoked")
    if isinstance(exc, BadRequest):
        if "chat not found" in str(exc.message).lower():
            return PermanentFailure("the customer's Telegram chat no longer exists")
        return PermanentFailure(f"Telegram rejected the message: {exc.message}")
    if isinstance(exc, TimedOut | NetworkError):
        return TemporaryFailure(f"Telegram unreachable: {exc}")
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")


class StoreFailed(Exception):
    """Some updates of a ``getUpdates`` answer could not be stored; they come again."""


def _incoming(update: Update, cursor: tuple[str, str] | None) -> Incoming | None:
    """What storing an update means; None for a button tap, which has a use case of its own."""
    if update.callback_query is not None:
        return None
    inbound = to_inbound(update)
    if inbound is None:
        return Incoming(None, cursor=cursor)
    greeting = inbound.text.split(maxsplit=1)[:1] == ["/start"] and not inbound.attachments and not inbound.edited
    return Incoming(inbound, greeting=greeting, cursor=cursor)


class TelegramConnector:
    channel = "telegram"

    def __init__(
        self,
        settings: Settings,
        service: Conversations,
        *,
        poll_timeout: int = 25,
        api_timeout: float = 20.0,
        picks: Picks | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.picks = picks
        self.poll_timeout = poll_timeout
        self.bot = Bot(
            settings.telegram_bot_token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
            request=HTTPXRequest(
                connection_pool_size=32,
                connect_timeout=min(5.0, api_timeout),
                read_timeout=api_timeout,
                write_timeout=max(api_timeout, 60.0),
                pool_timeout=10,
            ),
            get_updates_request=HTTPXRequest(connect_timeout=5, read_timeout=poll_timeout + 10),
        )
        self._polling: asyncio.Task[None] | None = None
        self.healthy = False

    @property
    def webhook_mode(self) -> bool:
        return self.settings.telegram_webhook_url is not None

    async def start(self) -> None:
        """Connect in the background: a Telegram outage at start must not keep the bot (and Slack) down."""
        self._polling = asyncio.create_task(self._run(), name="telegram")

    async def _connect(self) -> None:
        failures = 0
        while True:
            try:
                await self.bot.initialize()
                if self.webhook_mode:
                    await self.bot.set_webhook(
                        url=self.settings.telegram_webhook_url or "",
                        secret_token=self.settings.telegram_webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                    log.info("Telegram webhook registered")
                else:
                    await self.bot.delete_webhook()  # getUpdates refuses to work while a webhook is set
                    log.info("polling Telegram for updates")
                self.healthy = True
                return
            except (NetworkError, RetryAfter) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                log.warning("Telegram is not reachable (%s); trying again in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    async def _run(self) -> None:
        await self._connect()
        if not self.webhook_mode:
            await self._poll()

    async def stop(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    # --- receiving -------------------------------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long-poll for ever. An update is confirmed (the offset advanced) only once it is stored, so whatever
        fails here - Telegram, the network, the database - the same updates simply come again."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                if offset is None:
                    offset = int(await self.service.setting(OFFSET_KEY) or 0)
                updates = await self.bot.get_updates(
                    offset=offset or None, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
                stored = await self._store_updates(updates)
                if stored:
                    offset = stored[-1].update_id + 1
                if len(stored) < len(updates):
                    raise StoreFailed(f"stored {len(stored)} of {len(updates)} updates")
                failures = 0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(telegram_failure(exc).retry_after)  # type: ignore[attr-defined]
            except Exception as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                if isinstance(exc, NetworkError | Conflict | StoreFailed):
                    log.warning("getUpdates failed (%s); trying again in %.1fs", exc, delay)
                else:
                    log.exception("could not take in Telegram updates; trying again in %.1fs", delay)
                await asyncio.sleep(delay)

    async def _store_updates(self, updates: Sequence[Update]) -> list[Update]:
        """Store one ``getUpdates`` answer in order, each run of messages in one transaction (with the offset
        after its last update); returns the updates stored, a prefix: nothing after one that failed is stored."""
        stored: list[Update] = []
        run: list[tuple[Update, Incoming]] = []

        async def flush() -> bool:
            done = await self.service.receive_all([item for _, item in run]) if run else 0
            stored.extend(update for update, _ in run[:done])
            complete = done == len(run)
            run.clear()
            return complete

        try:
            for update in updates:
                cursor = (OFFSET_KEY, str(update.update_id + 1))
                incoming = _incoming(update, cursor)
                if incoming is not None:
                    run.append((update, incoming))
                    continue
                if not await flush():
                    return stored
                await self.handle(update, cursor=cursor)  # a button tap: its own use case (bot.usecases.triage)
                stored.append(update)
            await flush()
        except Exception:  # the database, most likely: what was stored so far stays confirmed
            log.exception("could not store a Telegram update; it comes again")
        return stored

    async def handle(self, update: Update, *, cursor: tuple[str, str] | None = None) -> None:
        """Store one update (and the cursor that confirms it) before anything else happens."""
        if update.callback_query is not None:
            await self._on_button(update.callback_query, cursor)
            return
        incoming = _incoming(update, cursor)
        assert incoming is not None
        if incoming.message is not None and not incoming.greeting:
            await self.service.receive(incoming.message, cursor=cursor)  # shares a commit with concurrent ones
        elif incoming.message is not None:
            await self.service.greet(incoming.message)
            if cursor is not None:
                await self.service.save_setting(*cursor)
        elif cursor is not None:
            await self.service.save_setting(*cursor)

    async def _on_button(self, query: CallbackQuery, cursor: tuple[str, str] | None) -> None:
        """A customer tapped one of the bot's inline buttons (a category): stored first, then acknowledged."""
        message = query.message
        chat = message.chat if message is not None else None
        if self.picks is None or not query.data or chat is None or chat.type != "private":
            if cursor is not None:
                await self.service.save_setting(*cursor)
            return
        outcome = await self.picks.pick(
            channel=self.channel,
            address=str(chat.id),
            data=query.data,
            actor=f"{self.channel}:{query.from_user.id}",
            dedupe_key=f"{self.channel}:callback:{query.id}",
            cursor=cursor,
        )
        # Best effort from here: the choice is stored; these only stop the button's spinner and show the choice.
        try:
            await self.bot.answer_callback_query(query.id, text=outcome.notice or None)
            markup = getattr(message, "reply_markup", None)
            status = outcome.status
            if isinstance(markup, InlineKeyboardMarkup) and message is not None and status in ("chosen", "ended"):
                rows = tuple(
                    tuple((b.text.removeprefix(CHOSEN_MARK), str(b.callback_data or "")) for b in row)
                    for row in markup.inline_keyboard
                )
                await self.bot.edit_message_reply_markup(
                    chat_id=chat.id,
                    message_id=message.message_id,
                    reply_markup=keyboard(rows, query.data) if status == "chosen" else None,
                )
        except TelegramError as exc:
            log.info("could not acknowledge a button tap: %s", exc)

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's webhook: the secret header must match, and the update is stored before we answer 200."""
        expected = self.settings.telegram_webhook_secret or ""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            data: Any = await request.json()
            update = Update.de_json(data, self.bot)
        except (ValueError, TypeError, KeyError):
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        await self.handle(update)
        return web.json_response({"ok": True})

    # --- sending ---------------------------------------------------------------------------------------------

    async def send(self, address: str, outgoing: Outgoing, parts: Parts) -> list[str]:
        if not self.healthy:
            raise TemporaryFailure("not connected to Telegram yet")
        chat_id = int(address)
        if outgoing.format == "mrkdwn":
            chunks: list[tuple[str, str | None]] = [
                (c, "HTML") for c in slack_to_telegram_html(outgoing.text, outgoing.user_names)
            ]
        else:
            chunks = [(c, None) for c in split_utf16(outgoing.text, TELEGRAM_TEXT_LIMIT)]
        plan: list[tuple[str, Any]] = [("text", c) for c in chunks] + [("file", f) for f in outgoing.files]
        markup = keyboard(outgoing.buttons) if outgoing.buttons else None
        last_text = len(chunks) - 1
        sent: list[str] = []
        for index, (kind, item) in enumerate(plan):
            if index < parts.done:
                continue
            if kind == "text":
                text, parse_mode = item
                buttons = markup if index == last_text else None
                message_id = await self._send_text(chat_id, text, parse_mode, buttons)
            else:
                message_id = await self._send_file(chat_id, item)
            sent.append(message_id)
            await parts.advance(message_id)
        return sent

    async def _send_text(
        self, chat_id: int, text: str, parse_mode: str | None, buttons: InlineKeyboardMarkup | None = None
    ) -> str:
        await paced()
        try:
            message = await self.bot.send_message(
                chat_id,
                text,
                parse_mode=parse_mode,
                link_preview_options=None,
                disable_notification=False,
                reply_markup=buttons,
            )
        except BadRequest as exc:
            if parse_mode and "parse entities" in str(exc.message).lower():
                log.warning("Telegram could not parse formatted text; sending it plain")
                return await self._send_text(chat_id, visible_text(text), None, buttons)
            raise telegram_failure(exc) from exc
        except TelegramError as exc:
            raise telegram_failure(exc) from exc
        return str(message.message_id)

    async def _send_file(self, chat_id: int, file: OutgoingFile) -> str:
        size = len(file.content)
        if size > UPLOAD_LIMIT:
            raise PermanentFailure(f"{file.name} is {size // (1024 * 1024)} MB; Telegram bots can send at most 50 MB")
        await paced()
        try:
            if (file.mime_type or "").startswith("image/") and file.mime_type != "image/gif" and size <= PHOTO_LIMIT:
                message = await self.bot.send_photo(chat_id, photo=file.content, filename=file.name)
            else:
                message = await self.bot.send_document(chat_id, document=file.content, filename=file.name)
        except TelegramError as exc:
            raise telegram_failure(exc) from exc
        return str(message.message_id)

    async def fetch(self, attachment: Attachment) -> bytes:
        if not self.healthy:
            raise TemporaryFailure("not connected to Telegram yet")
        try:
            file = await self.bot.get_file(attachment.ref)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise telegram_failure(exc) from exc
