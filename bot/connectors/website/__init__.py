"""The website channel: a chat widget any team pastes into its site, answered from the same Slack threads."""

from __future__ import annotations

from bot.connectors.base import ChannelPlugin
from bot.connectors.website.settings import KEYS, load

PLUGIN = ChannelPlugin(channel="website", label="Website", settings=load, keys=KEYS)
