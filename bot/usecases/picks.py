"""Category buttons: the data a button carries back, within what the customer's channel lets a button carry.

The data names the conversation and the category: ``cat:<conversation>:<key>``, or a short hash of the key when
the key would not fit the channel's button data (Telegram: 64 bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from bot.domain.ids import parse_id

# How the category was decided, shown on the thread's first message
SOURCE_CUSTOMER = "customer"
SOURCE_RULES = "rules"
SOURCE_DEFAULT = "default"
SOURCE_STAFF = "staff"
SOURCE_NONE = "none"

PICK_PREFIX = "cat:"


def pick_data(conversation_id: int, key: str, limit: int) -> str | None:
    """A category button's data within ``limit`` bytes: the key itself when it fits, else a short hash of it;
    None when not even that fits (the channel cannot offer this button)."""
    data = f"{PICK_PREFIX}{conversation_id}:{key}"
    if len(data.encode()) <= limit:
        return data
    hashed = f"{PICK_PREFIX}{conversation_id}:#{_key_hash(key)}"
    return hashed if len(hashed.encode()) <= limit else None


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse_pick(data: str, categories: Collection[str]) -> tuple[int, str | None] | None:
    """(conversation id, category key) from a button's data; the key is None when no longer configured."""
    if not data.startswith(PICK_PREFIX):
        return None
    conversation, sep, token = data[len(PICK_PREFIX) :].partition(":")
    conversation_id = parse_id(conversation)
    if not sep or conversation_id is None:
        return None
    if token.startswith("#"):
        return conversation_id, next((k for k in categories if _key_hash(k) == token[1:]), None)
    return conversation_id, token if token in categories else None
