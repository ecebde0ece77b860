"""The Telegram channel's settings: the token and webhook secret from the environment, the rest from the
environment or the channel's YAML section (``channels: {telegram: {...}}``; the environment wins)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.config.environment import http_url, rate_setting
from bot.config.errors import ConfigError
from bot.config.secrets import mask_optional_url, mask_url_password, redact
from bot.connectors.base import Connector, Tuning

DEFAULT_API_URL = "https://api.telegram.org/bot"
WEBHOOK_PATH = "/telegram/webhook"
KEYS = ("api_url", "file_url", "webhook_url", "messages_per_second")

_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, repr=False)
class TelegramSettings:
    bot_token: str
    api_url: str = DEFAULT_API_URL
    file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    messages_per_second: float = 1.0  # pace per customer chat
    channel: str = "telegram"

    @property
    def webhook_mode(self) -> bool:
        """Webhook mode when a webhook URL is set, otherwise long polling."""
        return self.webhook_url is not None

    def secret_values(self) -> tuple[str, ...]:
        # The part after the colon is the secret; it may show up on its own, e.g. split by a log formatter.
        values = (self.bot_token, self.bot_token.partition(":")[2], self.webhook_secret or "")
        return tuple(v for v in values if v)

    def describe(self) -> str:
        mode = f"webhook at {self.webhook_url}" if self.webhook_url else "long polling"
        return redact(f"Telegram ({mode})", self)

    def build(self, tuning: Tuning) -> Connector:
        from bot.connectors.telegram.connector import TelegramConnector  # PTB is imported only when used

        return TelegramConnector(self, tuning)

    def __repr__(self) -> str:
        parts = (
            "bot_token='***'",
            f"api_url={mask_url_password(self.api_url)!r}",
            f"file_url={mask_url_password(self.file_url)!r}",
            f"webhook_url={mask_optional_url(self.webhook_url)}",
            f"webhook_secret={'None' if self.webhook_secret is None else repr('***')}",
            f"messages_per_second={self.messages_per_second!r}",
        )
        return redact(f"TelegramSettings({', '.join(parts)})", self)


def load(section: Mapping[str, Any], env: Mapping[str, str]) -> TelegramSettings:
    """Read and check the channel's settings, naming the first variable or key that is wrong."""

    def get(name: str, key: str | None = None) -> tuple[str | None, str]:
        """The value and where it came from (the variable, else the YAML key)."""
        value = (env.get(name) or "").strip()
        if value:
            return value, name
        raw = section.get(key) if key else None
        if raw is None:
            return None, name
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise ConfigError(f"channels.telegram.{key}", "a text value")
        return str(raw).strip() or None, f"channels.telegram.{key}"

    token, _ = get("TELEGRAM_BOT_TOKEN")
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN", 'required for the Telegram channel: the token from @BotFather')
    if not _TOKEN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN", 'a token from @BotFather of the form "<digits>:<chars>"')

    api, api_key = get("TELEGRAM_API_URL", "api_url")
    api_url = http_url(api_key, api or DEFAULT_API_URL).rstrip("/")  # PTB appends the token
    file, file_key = get("TELEGRAM_FILE_URL", "file_url")
    if file is not None:
        file_url = http_url(file_key, file).rstrip("/")
    elif api_url.endswith("/bot"):
        file_url = api_url[: -len("/bot")] + "/file/bot"
    else:
        raise ConfigError("TELEGRAM_FILE_URL", 'required when TELEGRAM_API_URL does not end with "/bot"')

    webhook_url, webhook_key = get("TELEGRAM_WEBHOOK_URL", "webhook_url")
    if webhook_url is not None:
        webhook_url = _webhook_url(webhook_key, webhook_url)
    secret, _ = get("TELEGRAM_WEBHOOK_SECRET")
    if secret is not None and not _WEBHOOK_SECRET.match(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "1 to 256 characters of A-Z, a-z, 0-9, _ and -")
    if webhook_url is not None and secret is None:
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET",
            "required when TELEGRAM_WEBHOOK_URL is set: 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
        )
    rate, rate_key = get("TELEGRAM_MESSAGES_PER_SECOND", "messages_per_second")
    return TelegramSettings(
        bot_token=token,
        api_url=api_url,
        file_url=file_url,
        webhook_url=webhook_url,
        webhook_secret=secret,
        messages_per_second=rate_setting(rate_key, rate),
    )


def _webhook_url(key: str, value: str) -> str:
    """Telegram calls webhooks over https only, and the bot answers at one path."""
    http_url(key, value)
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ConfigError(key, f"an https:// URL (Telegram calls webhooks over https only), ending in {WEBHOOK_PATH}")
    if parts.path.rstrip("/") != WEBHOOK_PATH or parts.query or parts.fragment:
        raise ConfigError(key, f"the bot's public URL ending in {WEBHOOK_PATH}, e.g. https://bot.example.com{WEBHOOK_PATH}")
    return value
