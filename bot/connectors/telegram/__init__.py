"""The Telegram channel: customers write to the team's bot (long polling or a webhook)."""

from __future__ import annotations

from bot.connectors.base import ChannelPlugin
from bot.connectors.telegram.settings import KEYS, load

PLUGIN = ChannelPlugin(channel="telegram", label="Telegram", settings=load, keys=KEYS)
