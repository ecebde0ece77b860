"""A deployment's whole configuration: the environment, the YAML file, and every customer channel it enables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.config import Config, load_config, read_environment
from bot.connectors import registry


def load_deployment(env: Mapping[str, str] | None = None) -> Config:
    """Everything ``python -m bot`` needs, checked; raises ConfigError naming the first thing that is wrong."""
    env = read_environment() if env is None else env
    config = load_config(env)
    return replace(config, channels=registry.configure(config.bot.channels, env))
