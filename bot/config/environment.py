"""Deployment settings from the environment: credentials, URLs, the port, pacing rates.

Every variable is checked once, and the first one that is wrong is named with what was expected; nothing here
echoes a secret.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from bot.config.errors import ConfigError
from bot.config.model import Settings
from bot.config.operations import drain_seconds, log_format, metrics_bind, metrics_token

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/threadbridge.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_BOT_CONFIG_PATH = "config/bot.yaml"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def normalize_database_url(url: str | None) -> str:
    """An SQLAlchemy async URL: the bot runs on asyncio, and hosts hand out plain sqlite:// or postgres://."""
    if url is None or not url.strip():
        return DEFAULT_DATABASE_URL
    url = url.strip()
    expected = "a sqlite:/// or postgres(ql):// URL (also sqlite+aiosqlite:// or postgresql+asyncpg://)"
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError("DATABASE_URL", expected)
    scheme = scheme.lower()
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{_sslmode_to_ssl(rest)}"
    raise ConfigError("DATABASE_URL", expected)


def _sslmode_to_ssl(rest: str) -> str:
    """libpq's `sslmode` (Heroku adds `sslmode=require`) is spelled `ssl` by asyncpg; other params pass on."""
    head, sep, query = rest.partition("?")
    if not sep:
        return rest
    query, hash_sep, fragment = query.partition("#")
    params = [p for p in query.split("&") if p]
    has_ssl = any(p.split("=", 1)[0] == "ssl" for p in params)
    out: list[str] = []
    for param in params:
        name, eq, value = param.partition("=")
        if name == "sslmode":
            if has_ssl:
                continue  # an explicit asyncpg `ssl` wins
            param = f"ssl{eq}{value}"
            has_ssl = True
        out.append(param)
    query = "&".join(out)
    return f"{head}{'?' + query if query else ''}{hash_sep}{fragment}"


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and check every variable, naming the first one that is wrong; never echoes a secret."""

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    slack_bot_token = get("SLACK_BOT_TOKEN")
    if slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN", 'required: the Slack bot token, starting with "xoxb-"')
    if not slack_bot_token.startswith("xoxb-") or len(slack_bot_token) <= len("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN", 'a Slack bot token starting with "xoxb-"')

    slack_signing_secret = get("SLACK_SIGNING_SECRET")
    if slack_signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET", "required: the Signing Secret from the Slack app settings")

    slack_app_token = get("SLACK_APP_TOKEN")
    if slack_app_token is not None and (
        not slack_app_token.startswith("xapp-") or len(slack_app_token) <= len("xapp-")
    ):
        raise ConfigError("SLACK_APP_TOKEN", 'an app-level token starting with "xapp-", or unset for HTTP mode')

    slack_api_url = http_url("SLACK_API_URL", get("SLACK_API_URL") or DEFAULT_SLACK_API_URL)
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"  # slack_sdk joins with urljoin, which drops a last path segment without "/"

    database_url = normalize_database_url(get("DATABASE_URL"))

    port_text = get("PORT")
    if port_text is None:
        port = DEFAULT_PORT
    else:
        try:
            port = int(port_text)
        except ValueError:
            port = 0
        if not 1 <= port <= 65535:
            raise ConfigError("PORT", "an integer from 1 to 65535")

    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"one of {', '.join(LOG_LEVELS)} (default INFO)")

    return Settings(
        slack_bot_token=slack_bot_token,
        slack_signing_secret=slack_signing_secret,
        slack_app_token=slack_app_token,
        slack_api_url=slack_api_url,
        database_url=database_url,
        port=port,
        bot_config_path=Path(get("BOT_CONFIG") or DEFAULT_BOT_CONFIG_PATH),
        worker_id=get("WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}",
        slack_posts_per_second=rate_setting("SLACK_POSTS_PER_SECOND", get("SLACK_POSTS_PER_SECOND")),
        log_level=log_level,
        log_format=log_format(get("LOG_FORMAT")),
        drain_seconds=drain_seconds(get("DRAIN_SECONDS")),
        metrics_token=metrics_token(get("METRICS_TOKEN")),
        metrics_bind=metrics_bind(get("METRICS_BIND"), port),
    )


def rate_setting(name: str, value: str | None) -> float:
    """A pacing rate: how many messages per second the bot sends to one Slack channel or one customer chat."""
    if value is None:
        return 1.0
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0.01 <= rate <= 100:
        raise ConfigError(name, "a number of messages per second from 0.01 to 100 (default 1)")
    return rate


def http_url(name: str, value: str) -> str:
    """Check the value is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a bad port or an unbalanced IPv6 bracket
        ok = False
    if not ok:
        raise ConfigError(name, "an absolute https:// or http:// URL")
    return value
