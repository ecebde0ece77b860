"""Deployment settings from the environment: credentials, URLs, the port, pacing rates.

Every variable is checked once, and the first one that is wrong is named with what was expected; nothing here
echoes a secret.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from bot.config.errors import ConfigError
from bot.config.model import Settings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/threadbridge.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_PORT = 3000
DEFAULT_BOT_CONFIG_PATH = "config/bot.yaml"

_TELEGRAM_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


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

    slack_api_url = _http_url("SLACK_API_URL", get("SLACK_API_URL") or DEFAULT_SLACK_API_URL)
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"  # slack_sdk joins with urljoin, which drops a last path segment without "/"

    telegram_bot_token = get("TELEGRAM_BOT_TOKEN")
    if telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN", 'required: the token from @BotFather, "<digits>:<chars>"')
    if not _TELEGRAM_TOKEN.match(telegram_bot_token):
        raise ConfigError("TELEGRAM_BOT_TOKEN", 'a token from @BotFather of the form "<digits>:<chars>"')

    api_url = get("TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL
    telegram_api_url = _http_url("TELEGRAM_API_URL", api_url).rstrip("/")  # PTB appends the token
    file_url = get("TELEGRAM_FILE_URL")
    if file_url is not None:
        telegram_file_url = _http_url("TELEGRAM_FILE_URL", file_url).rstrip("/")
    elif telegram_api_url.endswith("/bot"):
        telegram_file_url = telegram_api_url[: -len("/bot")] + "/file/bot"
    else:
        raise ConfigError("TELEGRAM_FILE_URL", 'required when TELEGRAM_API_URL does not end with "/bot"')

    telegram_webhook_url = get("TELEGRAM_WEBHOOK_URL")
    if telegram_webhook_url is not None:
        telegram_webhook_url = _http_url("TELEGRAM_WEBHOOK_URL", telegram_webhook_url)
    telegram_webhook_secret = get("TELEGRAM_WEBHOOK_SECRET")
    if telegram_webhook_secret is not None and not _WEBHOOK_SECRET.match(telegram_webhook_secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "1 to 256 characters of A-Z, a-z, 0-9, _ and -")
    if telegram_webhook_url is not None and telegram_webhook_secret is None:
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET",
            "required when TELEGRAM_WEBHOOK_URL is set: 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
        )

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

    rates = {name: _rate(name, get(name)) for name in ("SLACK_POSTS_PER_SECOND", "TELEGRAM_MESSAGES_PER_SECOND")}

    return Settings(
        slack_bot_token=slack_bot_token,
        slack_signing_secret=slack_signing_secret,
        slack_app_token=slack_app_token,
        slack_api_url=slack_api_url,
        telegram_bot_token=telegram_bot_token,
        telegram_api_url=telegram_api_url,
        telegram_file_url=telegram_file_url,
        telegram_webhook_url=telegram_webhook_url,
        telegram_webhook_secret=telegram_webhook_secret,
        database_url=database_url,
        port=port,
        bot_config_path=Path(get("BOT_CONFIG") or DEFAULT_BOT_CONFIG_PATH),
        worker_id=get("WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}",
        slack_posts_per_second=rates["SLACK_POSTS_PER_SECOND"],
        telegram_messages_per_second=rates["TELEGRAM_MESSAGES_PER_SECOND"],
    )


def _rate(name: str, value: str | None) -> float:
    """A pacing rate: how many messages per second the bot sends to one Slack channel or one Telegram chat."""
    if value is None:
        return 1.0
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0.01 <= rate <= 100:
        raise ConfigError(name, "a number of messages per second from 0.01 to 100 (default 1)")
    return rate


def _http_url(name: str, value: str) -> str:
    """Check the value is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a bad port or an unbalanced IPv6 bracket
        ok = False
    if not ok:
        raise ConfigError(name, "an absolute https:// or http:// URL")
    return value
