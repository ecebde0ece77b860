"""Configuration: environment variables and a YAML file become frozen dataclasses.

Everything is checked once at start-up so that a mistake stops the bot with one line naming the key and what was
expected, instead of surfacing later as a confusing failure in Slack or a customer channel. Secrets come only from
the environment (or `.env`); the YAML file holds routing and wording, which is safe to commit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bot.config.document import load_bot_config, parse_bot_config
from bot.config.environment import (
    DEFAULT_BOT_CONFIG_PATH,
    DEFAULT_DATABASE_URL,
    DEFAULT_PORT,
    DEFAULT_SLACK_API_URL,
    load_settings,
    normalize_database_url,
)
from bot.config.errors import ConfigError
from bot.config.model import DEFAULT_STAGES, BotConfig, Config, Settings
from bot.config.secrets import redact
from bot.domain.i18n import LANGUAGES
from bot.domain.models import BusinessHours, Category, Escalation

__all__ = [
    "DEFAULT_BOT_CONFIG_PATH",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_PORT",
    "DEFAULT_SLACK_API_URL",
    "DEFAULT_STAGES",
    "LANGUAGES",
    "BotConfig",
    "BusinessHours",
    "Category",
    "Config",
    "ConfigError",
    "Escalation",
    "Settings",
    "load_bot_config",
    "load_config",
    "load_settings",
    "normalize_database_url",
    "parse_bot_config",
    "read_environment",
    "redact",
]


def read_environment() -> Mapping[str, str]:
    """The process environment, after `.env` in the current directory (which never overrides what is set)."""
    dotenv_path = Path.cwd() / ".env"
    if dotenv_path.is_file():
        from dotenv import load_dotenv

        load_dotenv(dotenv_path, override=False)
    return os.environ


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Settings from the environment (``read_environment`` when None) and the YAML file; the customer channels are
    added by bot.deployment, which knows them."""
    settings = load_settings(read_environment() if env is None else env)
    return Config(settings=settings, bot=load_bot_config(settings.bot_config_path))
