"""The YAML's saved replies sections: ``saved_replies:`` (a seed for the library, applied once) and ``app_home:`` (how
often changed homes are redrawn). Both optional: a team without them gets an empty library and the default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.errors import ConfigError
from bot.config.fields import check_keys
from bot.domain.saved_replies import Entry, entries_from

_APP_HOME_KEYS = ("refresh_seconds",)


@dataclass(frozen=True)
class AppHomeSettings:
    refresh_seconds: float = 5.0  # the debounce: a home is redrawn at most once per this, whatever changed


def parse_saved_replies(data: Any) -> tuple[Entry, ...]:
    try:
        return tuple(entries_from(data, "saved_replies"))
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")
        raise ConfigError(key, problem) from None


def parse_app_home(data: Any) -> AppHomeSettings:
    if data is None:
        return AppHomeSettings()
    if not isinstance(data, Mapping):
        raise ConfigError("app_home", "a mapping with refresh_seconds")
    check_keys(data, "app_home.", _APP_HOME_KEYS)
    seconds = data.get("refresh_seconds", 5)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0.1 <= seconds <= 3600:
        raise ConfigError("app_home.refresh_seconds", "a number of seconds from 0.1 to 3600")
    return AppHomeSettings(refresh_seconds=float(seconds))
