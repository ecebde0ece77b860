"""Configuration: environment variables and a YAML file become frozen dataclasses.

Everything is checked once at start-up so that a mistake stops the bot with one line naming the key and
what was expected, instead of surfacing later as a confusing failure in Slack or Telegram. Secrets come only
from the environment (or `.env`); the YAML file holds routing and wording, which is safe to commit.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.i18n import LANGUAGES

__all__ = [
    "DEFAULT_BOT_CONFIG_PATH",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_PORT",
    "DEFAULT_SLACK_API_URL",
    "DEFAULT_STAGES",
    "DEFAULT_TELEGRAM_API_URL",
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
    "redact",
]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/threadbridge.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_PORT = 3000
DEFAULT_BOT_CONFIG_PATH = "config/bot.yaml"
TELEGRAM_TEXT_LIMIT = 4096  # a customer-facing text longer than this cannot be sent as one Telegram message

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_CATEGORY_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_TELEGRAM_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Values that look like live credentials, refused anywhere in the YAML file.
_SECRET_VALUE = re.compile(r"^(xox[abpers]-|xapp-)|^[0-9]{6,}:[A-Za-z0-9_-]{30,}$")
_SECRET_KEY_NAMES = frozenset({"token", "secret", "password", "passwd", "apikey", "api_key", "private_key"})
_SECRET_KEY_SUFFIXES = ("_token", "_secret", "_password", "_api_key")
# Where a secret-looking YAML key should have gone instead.
_SECRET_ENV_HINTS = {
    "bot_token": "SLACK_BOT_TOKEN or TELEGRAM_BOT_TOKEN",
    "signing_secret": "SLACK_SIGNING_SECRET",
    "app_token": "SLACK_APP_TOKEN",
    "webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
    "password": "DATABASE_URL",
}
_SECRET_ENV_ALL = (
    "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET, DATABASE_URL"
)

_OWNER_IDS = "Slack user or user group ids (U…, W…, S…)"
_CHANNEL = "a Slack channel id (C… or G…)"

_TOP_KEYS = ("language", "default_category", "ask_category", "slack", "texts", "business_hours", "categories", "crm")
_SLACK_KEYS = ("inbox_channel", "staff_channels", "staff_groups")
_CRM_KEYS = ("stages",)
DEFAULT_STAGES = ("new lead", "contacting", "contacted", "qualified", "closed")
MAX_STAGES = 50  # a stage is an option of a Slack select menu (100 at most); a pipeline is a handful
_TEXT_KEYS = ("greeting", "auto_reply", "after_hours", "choose_category")
_CATEGORY_KEYS = (
    "label", "owners", "channel", "keywords", "patterns", "priority", "first_response_minutes", "escalation", "hours",
)  # fmt: skip
_ESCALATION_KEYS = ("after_minutes", "to")
_HOURS_KEYS = ("timezone", "weekly", "holidays", "auto_reply")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
MAX_CATEGORIES = 100  # a Slack static_select holds at most 100 options, a Telegram inline keyboard 100 buttons
LABEL_LIMIT = 75  # a Slack option's text is at most 75 characters
MAX_MINUTES = 60 * 24 * 30  # targets and delays: up to 30 days


class ConfigError(Exception):
    """One line naming the key or variable and what was expected, fixable without reading a traceback."""

    def __init__(self, key: str, expected: str) -> None:
        self.key = key
        self.expected = " ".join(expected.split())  # always one line, whatever a YAML error message contained
        super().__init__(key, self.expected)  # both args, so that the error survives pickling

    def __str__(self) -> str:
        return f"{self.key}: {self.expected}"


@dataclass(frozen=True)
class Escalation:
    """The second escalation: ``after_minutes`` (business minutes) past the target, posted to ``to``."""

    after_minutes: int
    to: str  # a channel (C…/G…) gets a post linking the thread; a person (U…/W…) a direct message


@dataclass(frozen=True)
class BusinessHours:
    """When one team works: weekly hours in its own time zone, minus holidays.

    ``weekly`` holds seven entries, Monday first, each a sorted tuple of (start, end) minutes after local midnight.
    """

    name: str
    timezone: str
    weekly: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()
    auto_reply: str | None = None  # the after-hours reply for this team; None: texts.after_hours


@dataclass(frozen=True)
class Category:
    """A kind of inquiry: who owns it, its optional channel, and which words route a message to it."""

    key: str
    label: str  # what staff read in Slack
    owners: tuple[str, ...]
    channel: str | None
    keywords: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)  # what customers read, per language
    patterns: tuple[re.Pattern[str], ...] = ()
    priority: int = 0  # higher wins when several categories match, and is listed first
    first_response_minutes: int | None = None  # business minutes until the first escalation; None: no timer
    escalation: Escalation | None = None
    hours: str | None = None  # a key of business_hours; None: the "default" hours, if any

    def label_in(self, language: str) -> str:
        """The label a customer reads, in the bot's language."""
        return self.labels.get(language) or self.label


@dataclass(frozen=True)
class BotConfig:
    """The routing and wording from the YAML file: safe to commit, holds no secret."""

    inbox_channel: str
    language: str
    categories: Mapping[str, Category]
    default_category: str | None
    greeting: str | None
    auto_reply: str | None
    staff_channels: tuple[str, ...]
    ask_category: bool = False  # offer the categories as buttons to a customer opening a conversation
    business_hours: Mapping[str, BusinessHours] = field(default_factory=lambda: MappingProxyType({}))
    after_hours_reply: str | None = None  # texts.after_hours; None: the built-in text for `language`
    choose_category: str | None = None  # texts.choose_category; None: the built-in text
    staff_groups: tuple[str, ...] = ()  # slack.staff_groups: user groups whose members count as staff too
    crm_stages: tuple[str, ...] = DEFAULT_STAGES  # crm.stages: the sales pipeline a customer moves along

    def hours_for(self, category: str | None) -> BusinessHours | None:
        """The business hours that apply to a category (or to an uncategorised inquiry); None: always open."""
        conf = self.categories.get(category) if category else None
        name = conf.hours if conf is not None and conf.hours else "default"
        return self.business_hours.get(name)


@dataclass(frozen=True, repr=False)
class Settings:
    """Credentials and deployment knobs from the environment; its repr is safe to log."""

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None
    slack_api_url: str
    telegram_bot_token: str
    telegram_api_url: str
    telegram_file_url: str
    telegram_webhook_url: str | None
    telegram_webhook_secret: str | None
    database_url: str
    port: int
    bot_config_path: Path
    worker_id: str
    slack_posts_per_second: float = 1.0  # SLACK_POSTS_PER_SECOND: pace per Slack channel
    telegram_messages_per_second: float = 1.0  # TELEGRAM_MESSAGES_PER_SECOND: pace per customer chat

    @property
    def socket_mode(self) -> bool:
        """Slack Socket Mode when an app token is set, otherwise HTTP mode at POST /slack/events."""
        return self.slack_app_token is not None

    @property
    def telegram_webhook(self) -> bool:
        """Telegram webhook mode when a webhook url is set, otherwise long polling."""
        return self.telegram_webhook_url is not None

    def __repr__(self) -> str:
        def secret(value: str | None) -> str:
            return "None" if value is None else "'***'"

        parts = [
            f"slack_bot_token={secret(self.slack_bot_token)}",
            f"slack_signing_secret={secret(self.slack_signing_secret)}",
            f"slack_app_token={secret(self.slack_app_token)}",
            f"slack_api_url={_mask_url_password(self.slack_api_url)!r}",
            f"telegram_bot_token={secret(self.telegram_bot_token)}",
            f"telegram_api_url={_mask_url_password(self.telegram_api_url)!r}",
            f"telegram_file_url={_mask_url_password(self.telegram_file_url)!r}",
            f"telegram_webhook_url={_mask_optional_url(self.telegram_webhook_url)}",
            f"telegram_webhook_secret={secret(self.telegram_webhook_secret)}",
            f"database_url={_mask_url_password(self.database_url)!r}",
            f"port={self.port!r}",
            f"bot_config_path={self.bot_config_path!r}",
            f"worker_id={self.worker_id!r}",
            f"slack_posts_per_second={self.slack_posts_per_second!r}",
            f"telegram_messages_per_second={self.telegram_messages_per_second!r}",
        ]
        # A secret can hide inside another value (a webhook url carrying the bot token, say): redact the lot.
        return redact(f"Settings({', '.join(parts)})", self)


@dataclass(frozen=True)
class Config:
    """Everything the bot needs to start."""

    settings: Settings
    bot: BotConfig


# ------------------------------------------------------------------------------------------------------------
# Environment


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


def _mask_optional_url(url: str | None) -> str:
    return "None" if url is None else repr(_mask_url_password(url))


def _mask_url_password(url: str) -> str:
    """The URL with any password in it replaced by ***, for repr."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


def _secrets(settings: Settings) -> Iterator[str]:
    yield settings.slack_bot_token
    yield settings.slack_signing_secret
    if settings.slack_app_token:
        yield settings.slack_app_token
    yield settings.telegram_bot_token
    # The part after the colon is the secret; it may show up on its own, e.g. split by a log formatter.
    yield settings.telegram_bot_token.partition(":")[2]
    if settings.telegram_webhook_secret:
        yield settings.telegram_webhook_secret
    try:
        password = urlsplit(settings.database_url).password
    except ValueError:
        password = None
    if password:
        yield password


def redact(text: str, settings: Settings) -> str:
    """Replace every secret value in text by ***, so that log records and error reports can be shared."""
    for value in _secret_forms(settings):
        text = text.replace(value, "***")
    return text


@lru_cache(maxsize=8)
def _secret_forms(settings: Settings) -> tuple[str, ...]:
    """Each secret as written and as it appears inside URLs (":" as %3A, say), longest first; cached per
    settings because redact runs on every log record."""
    values: set[str] = set()
    for value in _secrets(settings):
        if value:
            values.update({value, quote(value, safe=""), quote(value), unquote(value)})
    return tuple(sorted((v for v in values if v), key=len, reverse=True))


# ------------------------------------------------------------------------------------------------------------
# YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader refusing duplicate keys: PyYAML would silently keep the last of two categories."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise ConfigError("BOT_CONFIG", f'duplicate key "{key}" at line {key_node.start_mark.line + 1}')
        if isinstance(key, str | int | float | bool):
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def load_bot_config(path: Path) -> BotConfig:
    """Read and check the YAML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError("BOT_CONFIG", f"a readable YAML file at {path}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError("BOT_CONFIG", f"valid YAML in {path} ({exc.problem}{where})") from None
    except yaml.YAMLError as exc:
        raise ConfigError("BOT_CONFIG", f"valid YAML in {path} ({exc})") from None
    except ConfigError as exc:
        raise ConfigError(exc.key, f"{exc.expected} in {path}") from None
    return parse_bot_config(data, source=str(path))


def parse_bot_config(data: object, *, source: str = "config") -> BotConfig:
    """Check already-parsed YAML; `source` names the whole document in an error about its top level."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(source, f"a YAML mapping at the top level (keys: {', '.join(_TOP_KEYS)})")
    _refuse_secrets(data, "")
    _check_keys(data, "", _TOP_KEYS)

    language = data.get("language")
    if language is None:
        language = "ko"
    if not isinstance(language, str) or language.strip().lower() not in LANGUAGES:
        raise ConfigError("language", "one of " + ", ".join(f'"{lang}"' for lang in LANGUAGES))
    language = language.strip().lower()

    slack = data.get("slack")
    if not isinstance(slack, Mapping):
        raise ConfigError("slack", f"a mapping with inbox_channel: {_CHANNEL}")
    _check_keys(slack, "slack.", _SLACK_KEYS)
    inbox_channel = _channel(slack.get("inbox_channel"), "slack.inbox_channel")

    greeting, auto_reply, after_hours, choose_category = _texts(data.get("texts"))
    business_hours = _business_hours(data.get("business_hours"))
    categories = _categories(data.get("categories"), language, business_hours)

    ask_category = data.get("ask_category", False)
    if ask_category is None:
        ask_category = False
    if not isinstance(ask_category, bool):
        raise ConfigError("ask_category", "true or false")

    default_category = data.get("default_category")
    if default_category is not None:
        if not categories:
            raise ConfigError("default_category", "a key under categories, but no categories are defined")
        if not isinstance(default_category, str) or default_category not in categories:
            raise ConfigError("default_category", f"one of the categories ({', '.join(categories)})")

    staff_raw = slack.get("staff_channels")
    if staff_raw is None:
        staff = [inbox_channel, *(c.channel for c in categories.values() if c.channel is not None)]
    else:
        if not isinstance(staff_raw, list) or not staff_raw:
            raise ConfigError("slack.staff_channels", "a non-empty list of Slack channel ids (C… or G…)")
        staff = [_channel(v, f"slack.staff_channels[{i}]") for i, v in enumerate(staff_raw)]
    staff_groups = _staff_groups(slack.get("staff_groups"))
    crm_stages = _crm(data.get("crm"))

    return BotConfig(
        inbox_channel=inbox_channel,
        language=language,
        categories=MappingProxyType(categories),
        default_category=default_category,
        greeting=greeting,
        auto_reply=auto_reply,
        staff_channels=tuple(dict.fromkeys(staff)),
        ask_category=ask_category,
        business_hours=MappingProxyType(business_hours),
        after_hours_reply=after_hours,
        choose_category=choose_category,
        staff_groups=staff_groups,
        crm_stages=crm_stages,
    )


def _is_secret_key(name: str) -> bool:
    name = name.strip().lower().replace("-", "_")
    return name in _SECRET_KEY_NAMES or name.endswith(_SECRET_KEY_SUFFIXES)


def _refuse_secrets(node: object, path: str, *, names_are_data: bool = False) -> None:
    """Refuse secret-looking keys and values anywhere, before anything else: this file ends up in git."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            where = f"{path}{key}"
            if not names_are_data and isinstance(key, str) and _is_secret_key(key):
                hint = _SECRET_ENV_HINTS.get(key.strip().lower().replace("-", "_"), _SECRET_ENV_ALL)
                raise ConfigError(where, f"secrets come from the environment ({hint}), not from the YAML file")
            # Category and team names are data, not schema: a category may well be called "token".
            _refuse_secrets(value, f"{where}.", names_are_data=(where in ("categories", "business_hours")))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_secrets(value, f"{path.removesuffix('.')}[{i}].")
    elif isinstance(node, str) and _SECRET_VALUE.search(node.strip()):
        raise ConfigError(
            path.removesuffix("."),
            "looks like a token: secrets come from the environment, not from the YAML file",
        )


def _check_keys(node: Mapping[Any, Any], prefix: str, allowed: tuple[str, ...]) -> None:
    for key in node:
        if key not in allowed:
            raise ConfigError(f"{prefix}{key}", f"unknown key (expected one of: {', '.join(allowed)})")


def _channel(value: object, key: str) -> str:
    if not isinstance(value, str) or not _CHANNEL_ID.match(value.strip()):
        raise ConfigError(key, _CHANNEL)
    return value.strip()


def _texts(node: object) -> tuple[str | None, str | None, str | None, str | None]:
    """The optional wording overrides; `auto_reply: false` (or "") turns the acknowledgement off."""
    if node is None:
        return None, None, None, None
    if not isinstance(node, Mapping):
        raise ConfigError("texts", "a mapping with greeting, auto_reply, after_hours and/or choose_category")
    _check_keys(node, "texts.", _TEXT_KEYS)
    limit = f"at most {TELEGRAM_TEXT_LIMIT} characters"

    greeting = node.get("greeting")
    if greeting is not None and (
        not isinstance(greeting, str) or not greeting.strip() or len(greeting) > TELEGRAM_TEXT_LIMIT
    ):
        raise ConfigError("texts.greeting", f"a non-empty text of {limit}")

    auto_reply = node.get("auto_reply")
    if auto_reply is False:
        auto_reply = ""
    elif auto_reply is not None:
        if not isinstance(auto_reply, str) or len(auto_reply) > TELEGRAM_TEXT_LIMIT:
            raise ConfigError("texts.auto_reply", f"a text of {limit}, or false to send none")
        if not auto_reply.strip():
            auto_reply = ""
    others = [_optional_text(node.get(name), f"texts.{name}") for name in ("after_hours", "choose_category")]
    return greeting, auto_reply, others[0], others[1]


def _optional_text(value: object, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > TELEGRAM_TEXT_LIMIT:
        raise ConfigError(key, f"a non-empty text of at most {TELEGRAM_TEXT_LIMIT} characters")
    return value


def _categories(node: object, language: str, hours: Mapping[str, BusinessHours]) -> dict[str, Category]:
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ConfigError("categories", "a mapping of category key to label, owners, channel, keywords")
    if len(node) > MAX_CATEGORIES:
        raise ConfigError("categories", f"at most {MAX_CATEGORIES} categories (Slack's select menu shows no more)")
    result: dict[str, Category] = {}
    for key, spec in node.items():
        if not isinstance(key, str) or not _CATEGORY_KEY.match(key):
            raise ConfigError(
                f"categories.{key}", "a category key of letters, digits, _ and - (at most 64, e.g. billing)"
            )
        result[key] = _category(key, spec, language, hours)
    return result


def _labels(value: object, path: str, language: str) -> tuple[str, dict[str, str]]:
    """The staff label and the customer labels: one text for both languages, or one per language."""
    expected = f"a non-empty text of at most {LABEL_LIMIT} characters, or one per language ({', '.join(LANGUAGES)})"
    if isinstance(value, str):
        if not value.strip() or len(value.strip()) > LABEL_LIMIT:
            raise ConfigError(f"{path}.label", expected)
        return value.strip(), dict.fromkeys(LANGUAGES, value.strip())
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"{path}.label", expected)
    labels: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise ConfigError(f"{path}.label.{lang}", f"unknown language (expected one of: {', '.join(LANGUAGES)})")
        if not isinstance(text, str) or not text.strip() or len(text.strip()) > LABEL_LIMIT:
            raise ConfigError(f"{path}.label.{lang}", f"a non-empty text of at most {LABEL_LIMIT} characters")
        labels[lang] = text.strip()
    primary = labels.get(language) or next(iter(labels.values()))
    others = [t for t in dict.fromkeys(labels.values()) if t != primary]
    staff = f"{primary} ({' / '.join(others)})" if others else primary
    for lang in LANGUAGES:
        labels.setdefault(lang, primary)
    return staff, labels


def _minutes(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        raise ConfigError(key, f"a whole number of minutes from 1 to {MAX_MINUTES}")
    return value


def _category(key: str, spec: object, language: str, hours: Mapping[str, BusinessHours]) -> Category:
    path = f"categories.{key}"
    if not isinstance(spec, Mapping):
        raise ConfigError(path, "a mapping with label, owners, channel, keywords")
    _check_keys(spec, f"{path}.", _CATEGORY_KEYS)

    label, labels = _labels(spec.get("label", key), path, language)

    owners_raw = spec.get("owners")
    if owners_raw is None or owners_raw == []:
        raise ConfigError(f"{path}.owners", f"at least one of the {_OWNER_IDS}")
    if not isinstance(owners_raw, list):
        raise ConfigError(f"{path}.owners", f"a list of {_OWNER_IDS}")
    owners: list[str] = []
    for i, owner in enumerate(owners_raw):
        owner = owner.strip() if isinstance(owner, str) else owner
        if not isinstance(owner, str) or not (_USER_ID.match(owner) or _GROUP_ID.match(owner)):
            raise ConfigError(f"{path}.owners[{i}]", "a Slack user or user group id (U…, W…, S…)")
        owners.append(owner)

    keywords_raw = spec.get("keywords")
    keywords: list[str] = []
    if keywords_raw is not None:
        if not isinstance(keywords_raw, list):
            raise ConfigError(f"{path}.keywords", "a list of words or phrases")
        for i, word in enumerate(keywords_raw):
            # YAML reads `404` as a number; a keyword is still meant.
            if isinstance(word, int | float) and not isinstance(word, bool):
                word = str(word)
            if not isinstance(word, str) or not word.strip():
                raise ConfigError(f"{path}.keywords[{i}]", "a non-empty word or phrase")
            keywords.append(word.strip())

    patterns: list[re.Pattern[str]] = []
    patterns_raw = spec.get("patterns")
    if patterns_raw is not None:
        if not isinstance(patterns_raw, list):
            raise ConfigError(f"{path}.patterns", "a list of regular expressions")
        for i, raw in enumerate(patterns_raw):
            if not isinstance(raw, str) or not raw.strip():
                raise ConfigError(f"{path}.patterns[{i}]", "a non-empty regular expression")
            try:
                patterns.append(re.compile(raw, re.IGNORECASE))
            except re.error as exc:
                raise ConfigError(f"{path}.patterns[{i}]", f"a valid regular expression ({exc})") from None

    priority = spec.get("priority", 0)
    if priority is None:
        priority = 0
    if isinstance(priority, bool) or not isinstance(priority, int) or not -1000 <= priority <= 1000:
        raise ConfigError(f"{path}.priority", "a whole number from -1000 to 1000 (higher wins; default 0)")

    target = spec.get("first_response_minutes")
    if target is not None:
        target = _minutes(target, f"{path}.first_response_minutes")

    escalation = None
    escalation_raw = spec.get("escalation")
    if escalation_raw is not None:
        if target is None:
            raise ConfigError(f"{path}.escalation", "needs first_response_minutes, the target it escalates after")
        if not isinstance(escalation_raw, Mapping):
            raise ConfigError(f"{path}.escalation", "a mapping with after_minutes and to")
        _check_keys(escalation_raw, f"{path}.escalation.", _ESCALATION_KEYS)
        to = escalation_raw.get("to")
        to = to.strip() if isinstance(to, str) else to
        if not isinstance(to, str) or not (_CHANNEL_ID.match(to) or _USER_ID.match(to)):
            raise ConfigError(f"{path}.escalation.to", "a Slack channel or user id (C…, G…, U…, W…)")
        escalation = Escalation(
            after_minutes=_minutes(escalation_raw.get("after_minutes"), f"{path}.escalation.after_minutes"), to=to
        )

    hours_name = spec.get("hours")
    if hours_name is not None and (not isinstance(hours_name, str) or hours_name not in hours):
        expected = (
            f"one of the business_hours ({', '.join(hours)})"
            if hours
            else "a name under business_hours, but no business hours are defined"
        )
        raise ConfigError(f"{path}.hours", expected)

    return Category(
        key=key,
        label=label,
        owners=tuple(dict.fromkeys(owners)),
        channel=None if spec.get("channel") is None else _channel(spec["channel"], f"{path}.channel"),
        keywords=tuple(dict.fromkeys(keywords)),
        labels=MappingProxyType(labels),
        patterns=tuple(patterns),
        priority=priority,
        first_response_minutes=target,
        escalation=escalation,
        hours=hours_name,
    )


def _business_hours(node: object) -> dict[str, BusinessHours]:
    """Named weekly schedules; the one called "default" applies to categories that name none."""
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ConfigError("business_hours", "a mapping of team name to timezone, weekly and holidays")
    result: dict[str, BusinessHours] = {}
    for name, spec in node.items():
        if not isinstance(name, str) or not _CATEGORY_KEY.match(name):
            raise ConfigError(f"business_hours.{name}", "a name of letters, digits, _ and - (e.g. default, dev)")
        result[name] = _schedule(name, spec)
    return result


def _schedule(name: str, spec: object) -> BusinessHours:
    path = f"business_hours.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(path, "a mapping with timezone, weekly and holidays")
    _check_keys(spec, f"{path}.", _HOURS_KEYS)

    zone = spec.get("timezone")
    if not isinstance(zone, str) or not zone.strip():
        raise ConfigError(f"{path}.timezone", "an IANA time zone such as Asia/Seoul")
    zone = zone.strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{path}.timezone", f'an IANA time zone such as Asia/Seoul, not "{zone}"') from None

    weekly_raw = spec.get("weekly")
    if not isinstance(weekly_raw, Mapping) or not weekly_raw:
        raise ConfigError(f"{path}.weekly", 'a mapping of days to hours, e.g. {mon-fri: "09:00-18:00"}')
    days: list[list[tuple[int, int]]] = [[] for _ in _DAYS]
    for day_key, ranges_raw in weekly_raw.items():
        where = f"{path}.weekly.{day_key}"
        for day in _day_span(day_key, where):
            days[day].extend(_ranges(ranges_raw, where))
    weekly: list[tuple[tuple[int, int], ...]] = []
    for day, ranges in enumerate(days):
        ranges.sort()
        for (s1, e1), (s2, e2) in itertools.pairwise(ranges):
            if s2 < e1:
                both = f"{_hhmm(s1)}-{_hhmm(e1)} and {_hhmm(s2)}-{_hhmm(e2)}"
                raise ConfigError(f"{path}.weekly", f"hours that do not overlap, but {_DAYS[day]} has {both}")
        merged: list[tuple[int, int]] = []
        for start, end in ranges:
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        weekly.append(tuple(merged))
    if not any(weekly):
        raise ConfigError(f"{path}.weekly", "hours on at least one day")

    holidays: set[date] = set()
    holidays_raw = spec.get("holidays")
    if holidays_raw is not None:
        if not isinstance(holidays_raw, list):
            raise ConfigError(f"{path}.holidays", "a list of dates (YYYY-MM-DD)")
        for i, value in enumerate(holidays_raw):
            holidays.add(_date(value, f"{path}.holidays[{i}]"))

    auto_reply = _optional_text(spec.get("auto_reply"), f"{path}.auto_reply")
    return BusinessHours(
        name=name, timezone=zone, weekly=tuple(weekly), holidays=frozenset(holidays), auto_reply=auto_reply
    )


def _day_span(key: object, where: str) -> list[int]:
    """ "mon" or "mon-fri" as weekday numbers (Monday is 0)."""
    expected = "a day (mon, tue, wed, thu, fri, sat, sun) or a span of days such as mon-fri"
    if not isinstance(key, str):
        raise ConfigError(where, expected)
    first, sep, last = key.strip().lower().partition("-")
    if first not in _DAYS or (sep and last not in _DAYS):
        raise ConfigError(where, expected)
    start, end = _DAYS.index(first), _DAYS.index(last) if sep else _DAYS.index(first)
    if end < start:
        raise ConfigError(where, f"{expected}, Monday to Sunday in order")
    return list(range(start, end + 1))


def _ranges(value: object, where: str) -> list[tuple[int, int]]:
    """ "09:00-18:00", a list of such ranges, or "closed"/[] for none; minutes after local midnight."""
    expected = 'a time range "HH:MM-HH:MM" (24-hour clock), a list of them, or "closed"'
    if value is None or value == [] or (isinstance(value, str) and value.strip().lower() == "closed"):
        return []
    items = value if isinstance(value, list) else [value]
    ranges: list[tuple[int, int]] = []
    for item in items:
        if not isinstance(item, str) or (match := _TIME_RANGE.match(item)) is None:
            raise ConfigError(where, expected)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start >= 24 * 60 or end > 24 * 60:
            raise ConfigError(where, expected)
        if end <= start:
            night = "split a night: 22:00-24:00 and 00:00-06:00"
            raise ConfigError(where, f"a range ending after it starts, not {item.strip()} ({night})")
        ranges.append((start, end))
    return ranges


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _date(value: object, key: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(key, "a date YYYY-MM-DD")


def _staff_groups(node: object) -> tuple[str, ...]:
    """User groups (S…) whose members may search and see customers, besides the staff channels' members."""
    if node is None:
        return ()
    if not isinstance(node, list):
        raise ConfigError("slack.staff_groups", "a list of Slack user group ids (S…)")
    groups = []
    for i, value in enumerate(node):
        if not isinstance(value, str) or not _GROUP_ID.match(value.strip()):
            raise ConfigError(f"slack.staff_groups[{i}]", "a Slack user group id (S…)")
        groups.append(value.strip())
    return tuple(dict.fromkeys(groups))


def _crm(node: object) -> tuple[str, ...]:
    """The pipeline stages, in order; the first is where every customer starts."""
    if node is None:
        return DEFAULT_STAGES
    if not isinstance(node, Mapping):
        raise ConfigError("crm", "a mapping with stages: a list of pipeline stages")
    _check_keys(node, "crm.", _CRM_KEYS)
    raw = node.get("stages")
    if raw is None:
        return DEFAULT_STAGES
    if not isinstance(raw, list) or not raw or len(raw) > MAX_STAGES:
        raise ConfigError("crm.stages", f"a list of 1 to {MAX_STAGES} stage names, in pipeline order")
    stages: list[str] = []
    for i, value in enumerate(raw):
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > LABEL_LIMIT:
            raise ConfigError(f"crm.stages[{i}]", f"a non-empty text of at most {LABEL_LIMIT} characters")
        if value.strip().casefold() in (s.casefold() for s in stages):
            raise ConfigError(f"crm.stages[{i}]", f'a stage named once only ("{value.strip()}" repeats)')
        stages.append(value.strip())
    return tuple(stages)


# ------------------------------------------------------------------------------------------------------------
# Both


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Settings from the environment (after `.env`, which never overrides what is set) and the YAML file."""
    if env is None:
        dotenv_path = Path.cwd() / ".env"
        if dotenv_path.is_file():
            from dotenv import load_dotenv

            load_dotenv(dotenv_path, override=False)
        env = os.environ
    settings = load_settings(env)
    return Config(settings=settings, bot=load_bot_config(settings.bot_config_path))
