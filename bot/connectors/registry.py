"""The customer channels this bot can speak: one line each. A deployment enables the ones it names in the YAML.

Each name is a package under ``bot/connectors/`` exporting ``PLUGIN`` (a ``bot.connectors.base.ChannelPlugin``):
its label and how to read its settings. The package is imported only when asked for, so an unused channel costs
nothing at start.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import Any

from bot.config.errors import ConfigError
from bot.connectors.base import ChannelPlugin, ChannelSettings

log = logging.getLogger(__name__)

CHANNELS: dict[str, str] = {
    "telegram": "bot.connectors.telegram",
    "website": "bot.connectors.website",
}


def plugin(name: str) -> ChannelPlugin:
    module = importlib.import_module(CHANNELS[name])
    found: ChannelPlugin = module.PLUGIN
    return found


def label(name: str) -> str:
    """What staff call the channel; a channel no longer in the registry keeps a readable name."""
    return plugin(name).label if name in CHANNELS else name.capitalize()


def configure(sections: Mapping[str, Any] | None, env: Mapping[str, str]) -> dict[str, ChannelSettings]:
    """Every enabled channel's validated settings, from the YAML ``channels`` section and the environment.

    ``sections`` is None when the YAML names no channels: then Telegram is enabled if ``TELEGRAM_BOT_TOKEN`` is
    set, as before channels could be named, and one line says how to say so explicitly.
    """
    if sections is None:
        if not (env.get("TELEGRAM_BOT_TOKEN") or "").strip():
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN",
                'required: the token from @BotFather, "<digits>:<chars>" '
                "(or name the customer channels under `channels:` in the YAML file)",
            )
        log.info("the YAML file names no channels: Telegram is on because TELEGRAM_BOT_TOKEN is set "
                 "(add `channels: {telegram: {}}` to say so)")  # fmt: skip
        sections = {"telegram": {}}
    if not sections:
        raise ConfigError("channels", f"at least one customer channel (one of: {', '.join(CHANNELS)})")
    enabled: dict[str, ChannelSettings] = {}
    for name, section in sections.items():
        if name not in CHANNELS:
            raise ConfigError(f"channels.{name}", f"a customer channel this bot speaks (one of: {', '.join(CHANNELS)})")
        if section is None:
            section = {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"channels.{name}", "a mapping of the channel's settings (or {} for the defaults)")
        channel = plugin(name)
        for key in section:
            if key not in channel.keys:
                allowed = ", ".join(channel.keys) or "none"
                raise ConfigError(f"channels.{name}.{key}", f"unknown key (expected one of: {allowed})")
        enabled[name] = channel.settings(section, env)
    return enabled
