"""Checks shared by every part of the YAML file: known keys, Slack ids, minutes, labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.config.errors import ConfigError

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # a category or team name
OWNER_IDS = "Slack user or user group ids (U…, W…, S…)"
CHANNEL = "a Slack channel id (C… or G…)"
LABEL_LIMIT = 75  # a Slack option's text is at most 75 characters
MAX_MINUTES = 60 * 24 * 30  # targets and delays: up to 30 days


def check_keys(node: Mapping[Any, Any], prefix: str, allowed: tuple[str, ...]) -> None:
    for key in node:
        if key not in allowed:
            raise ConfigError(f"{prefix}{key}", f"unknown key (expected one of: {', '.join(allowed)})")


def channel_id(value: object, key: str) -> str:
    if not isinstance(value, str) or not CHANNEL_ID.match(value.strip()):
        raise ConfigError(key, CHANNEL)
    return value.strip()


def minutes(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        raise ConfigError(key, f"a whole number of minutes from 1 to {MAX_MINUTES}")
    return value
