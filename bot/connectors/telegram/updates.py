"""Raw Bot API updates into the inbox's items, one at a time, so one update nobody can read spoils nothing else.

Each update is parsed on its own from its JSON: an update python-telegram-bot cannot parse (an older or local Bot
API server leaving out a field it expects) becomes an ``Unreadable`` item, kept whole, instead of failing the whole
``getUpdates`` answer.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Bot, Update

from bot.connectors.base import ButtonTap, Item, Received, Unreadable
from bot.connectors.telegram.inbound import to_inbound

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def update_id(raw: Any) -> int | None:
    value = raw.get("update_id") if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def item_of(raw: dict[str, Any], bot: Bot) -> tuple[Item | None, Update | None]:
    """The item to store for one raw update (None: nothing a customer said, e.g. a group chat), and the parsed
    update when there is one (a button tap is answered from it after storing)."""
    text = json.dumps(raw, ensure_ascii=False)
    try:
        update = Update.de_json(raw, bot)
        if update is None:
            raise ValueError("an empty update")
        return _item(update, text), update
    except Exception as exc:  # whatever the library trips over, the update is kept, not lost or retried for ever
        return _unreadable(raw, text, exc), None


def _item(update: Update, text: str) -> Item | None:
    query = update.callback_query
    if query is not None:
        message = query.message
        chat = message.chat if message is not None else None
        if not query.data or chat is None or chat.type != "private":
            return None
        user = str(query.from_user.id)
        return ButtonTap(address=str(chat.id), user_id=user, data=query.data, key=query.id, raw=text)
    inbound = to_inbound(update)
    if inbound is None:
        return None
    greeting = inbound.text.split(maxsplit=1)[:1] == ["/start"] and not inbound.attachments and not inbound.edited
    return Received(inbound, greeting=greeting, raw=text)


def _unreadable(raw: dict[str, Any], text: str, exc: BaseException) -> Unreadable:
    """What can still be said of an update the library could not parse: its chat and sender, if present."""
    body = next((raw[k] for k in ("message", "edited_message", "callback_query") if isinstance(raw.get(k), dict)), {})
    chat = body.get("chat") or (body.get("message") or {}).get("chat") or {}
    sender = body.get("from") or {}
    name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if sender.get(k)) or None
    if sender.get("username"):
        name = f"{name or ''} (@{sender['username']})".strip()
    address = chat.get("id")
    return Unreadable(
        key=f"telegram:update:{update_id(raw)}",
        raw=text,
        error=f"{type(exc).__name__}: {exc}",
        address=str(address) if address is not None else None,
        who=name,
    )
