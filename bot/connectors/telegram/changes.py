"""Changing what a Telegram customer already has: a reply edited in Slack (editMessageText) or deleted
(deleteMessage), every part of a reply that was split, within the 48 hours the Bot API allows."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, TelegramError

from bot.connectors.base import Parts
from bot.connectors.telegram.failures import telegram_failure
from bot.connectors.telegram.html import visible_text
from bot.domain.errors import PermanentFailure

log = logging.getLogger(__name__)

Chunk = tuple[str, str | None]  # (text, parse_mode)
SendText = Callable[[int, str, str | None, ReplyParameters | None], Awaitable[str]]

TOO_OLD = "Telegram lets a bot change its messages for 48 hours only"
GONE = "the message is no longer in the customer's chat"


def _said(exc: TelegramError) -> str:
    return str(getattr(exc, "message", exc)).lower()


async def edit_text(bot: Bot, chat_id: int, message_id: int, text: str, parse_mode: str | None) -> None:
    """One part edited in place; the same words again ("message is not modified") are no error."""
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, parse_mode=parse_mode)
    except BadRequest as exc:
        said = _said(exc)
        if "not modified" in said:
            return
        if parse_mode and "parse entities" in said:
            log.warning("Telegram could not parse the edited formatted text; editing it plain")
            await edit_text(bot, chat_id, message_id, visible_text(text), None)
            return
        if "can't be edited" in said:
            raise PermanentFailure(TOO_OLD) from exc
        if "not found" in said:
            raise PermanentFailure(GONE) from exc
        raise telegram_failure(exc) from exc
    except TelegramError as exc:
        raise telegram_failure(exc) from exc


async def delete_message(bot: Bot, chat_id: int, message_id: int) -> None:
    """One message deleted; one already gone (deleted before, or by the customer) is no error."""
    try:
        await bot.delete_message(chat_id, message_id)
    except BadRequest as exc:
        said = _said(exc)
        if "not found" in said:
            return
        if "can't be deleted" in said:
            raise PermanentFailure(TOO_OLD) from exc
        raise telegram_failure(exc) from exc
    except TelegramError as exc:
        raise telegram_failure(exc) from exc


async def edit_parts(
    bot: Bot, chat_id: int, message_ids: Sequence[str], chunks: Sequence[Chunk], parts: Parts, send: SendText
) -> list[str]:
    """Edit each part in place; send what the new text needs beyond them (as replies to its first part, so they
    read as belonging to it); delete what it no longer needs. One API call per step, resumable by ``parts``."""
    if not chunks:
        raise PermanentFailure("the edited reply has no text left to show")
    first = int(message_ids[0]) if message_ids else None
    plan: list[tuple[str, int | None, Chunk | None]] = []
    for index, chunk in enumerate(chunks):
        plan.append(("edit", int(message_ids[index]), chunk) if index < len(message_ids) else ("send", first, chunk))
    plan += [("delete", int(mid), None) for mid in message_ids[len(chunks) :]]
    advanced: list[str] = []
    for index, (step, message_id, chunk) in enumerate(plan):
        if index < parts.done:
            continue
        await parts.slot()
        if step == "delete":
            assert message_id is not None
            await delete_message(bot, chat_id, message_id)
            await parts.advance(None)
            continue
        assert chunk is not None
        if step == "edit":
            assert message_id is not None
            await edit_text(bot, chat_id, message_id, *chunk)
            result = str(message_id)
        else:
            reply = ReplyParameters(message_id, allow_sending_without_reply=True) if message_id else None
            result = await send(chat_id, chunk[0], chunk[1], reply)
        advanced.append(result)
        await parts.advance(result)
    return advanced
