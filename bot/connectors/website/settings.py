"""The website channel's settings: its YAML section (``channels: {website: {...}}``) and two secrets from the
environment, ``WEBSITE_TOKEN_SECRET`` (signs visitors' sessions and file links) and ``WEBSITE_IDENTITY_SECRET``
(the secret the team's site signs its logged-in users with)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.config.errors import ConfigError
from bot.config.secrets import redact
from bot.connectors.base import Connector, Tuning
from bot.connectors.website.texts import LANGUAGES, default_greeting, default_title

KEYS = (
    "allowed_origins", "language", "title", "greeting", "colour", "position", "after_hours", "require_identity",
    "page_events", "max_text_length", "max_file_mb", "messages_per_minute", "ip_messages_per_minute",
    "connections_per_ip", "session_days", "resync_seconds", "behind_proxy",
)  # fmt: skip
AFTER_HOURS = ("ask_email", "notice", "off")
MIN_SECRET = 32
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SECTION = "channels.website"


@dataclass(frozen=True, repr=False)
class WebsiteSettings:
    token_secret: str
    allowed_origins: tuple[str, ...]
    identity_secret: str | None = None
    language: str = "auto"  # ko, en, or auto: the visitor's browser decides
    title: Mapping[str, str] = field(default_factory=lambda: {lang: default_title(lang) for lang in LANGUAGES})
    greeting: Mapping[str, str] = field(default_factory=lambda: {lang: default_greeting(lang) for lang in LANGUAGES})
    colour: str = "#2f5bea"
    position: str = "right"
    after_hours: str = "ask_email"  # ask_email: say so and offer to take an email address; notice; off
    require_identity: bool = False
    page_events: bool = True
    max_text_length: int = 4000  # characters of one message, either way
    max_file_bytes: int = 10 * 1024 * 1024  # one file, either way
    messages_per_minute: int = 20  # per visitor (messages and uploads)
    ip_messages_per_minute: int = 120  # per IP address, all visitors behind it together
    connections_per_ip: int = 20  # open widget connections from one IP address
    session_days: int = 90  # an anonymous visitor's session lasts this long after it began
    resync_seconds: float = 30.0  # an idle connection reads the archive again (replies delivered by another process)
    behind_proxy: bool = False  # take the visitor's address from X-Forwarded-For (the last hop)
    channel: str = "website"

    def secret_values(self) -> tuple[str, ...]:
        return tuple(v for v in (self.token_secret, self.identity_secret or "") if v)

    def describe(self) -> str:
        identity = "identity required" if self.require_identity else (
            "identity verified when given" if self.identity_secret else "anonymous visitors only"
        )  # fmt: skip
        origins = ", ".join(self.allowed_origins)
        return redact(f"Website widget at /widget.js for {origins} ({identity})", self)

    def build(self, tuning: Tuning) -> Connector:
        from bot.connectors.website.connector import WebsiteConnector

        return WebsiteConnector(self, tuning)

    def __repr__(self) -> str:
        return f"WebsiteSettings(allowed_origins={self.allowed_origins!r}, token_secret='***', identity_secret=" + (
            "None)" if self.identity_secret is None else "'***')"
        )


def load(section: Mapping[str, Any], env: Mapping[str, str]) -> WebsiteSettings:
    """Read and check the channel's settings, naming the first variable or key that is wrong."""
    token_secret = (env.get("WEBSITE_TOKEN_SECRET") or "").strip()
    if len(token_secret) < MIN_SECRET:
        raise ConfigError(
            "WEBSITE_TOKEN_SECRET",
            f"required for the website channel: at least {MIN_SECRET} random characters "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')",
        )
    identity_secret = (env.get("WEBSITE_IDENTITY_SECRET") or "").strip() or None
    if identity_secret is not None and len(identity_secret) < 16:
        raise ConfigError("WEBSITE_IDENTITY_SECRET", "at least 16 characters: the secret your site's server signs "
                          "user ids with")  # fmt: skip
    require_identity = _flag(section, "require_identity", False)
    if require_identity and identity_secret is None:
        raise ConfigError("WEBSITE_IDENTITY_SECRET", f"required when {_SECTION}.require_identity is true")
    language = _choice(section, "language", ("auto", *LANGUAGES), "auto")
    after_hours = _choice(section, "after_hours", AFTER_HOURS, "ask_email")
    position = _choice(section, "position", ("right", "left"), "right")
    colour = section.get("colour", "#2f5bea")
    if not isinstance(colour, str) or not _COLOUR.match(colour.strip()):
        raise ConfigError(f"{_SECTION}.colour", 'a colour as "#RRGGBB", e.g. "#2f5bea"')
    return WebsiteSettings(
        token_secret=token_secret,
        identity_secret=identity_secret,
        allowed_origins=_origins(section.get("allowed_origins")),
        language=language,
        title=_texts(section, "title", default_title, 60),
        greeting=_texts(section, "greeting", default_greeting, 600),
        colour=colour.strip().lower(),
        position=position,
        after_hours=after_hours,
        require_identity=require_identity,
        page_events=_flag(section, "page_events", True),
        max_text_length=_number(section, "max_text_length", 4000, 1, 20_000),
        max_file_bytes=int(_number(section, "max_file_mb", 10, 0.01, 50, whole=False) * 1024 * 1024),
        messages_per_minute=_number(section, "messages_per_minute", 20, 1, 10_000),
        ip_messages_per_minute=_number(section, "ip_messages_per_minute", 120, 1, 100_000),
        connections_per_ip=_number(section, "connections_per_ip", 20, 1, 100_000),
        session_days=_number(section, "session_days", 90, 1, 3650),
        resync_seconds=float(_number(section, "resync_seconds", 30, 1, 3600, whole=False)),
        behind_proxy=_flag(section, "behind_proxy", False),
    )


def origin_of(value: str) -> str | None:
    """A page's origin as a browser sends it ("https://shop.example.com"), or None for anything else."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _origins(value: object) -> tuple[str, ...]:
    key = f"{_SECTION}.allowed_origins"
    expected = 'a list of the origins of the pages that embed the widget, e.g. ["https://shop.example.com"]'
    if not isinstance(value, list) or not value:
        raise ConfigError(key, expected)
    found: list[str] = []
    for item in value:
        origin = origin_of(item) if isinstance(item, str) else None
        if origin is None:
            raise ConfigError(key, f"{expected}; {item!r} is not an origin (scheme://host[:port], no path)")
        found.append(origin)
    return tuple(dict.fromkeys(found))


def _texts(section: Mapping[str, Any], key: str, default: Any, limit: int) -> Mapping[str, str]:
    """One text for every language, or one per language ({ko: ..., en: ...}); the built-in one for the rest."""
    value = section.get(key)
    texts = {lang: default(lang) for lang in LANGUAGES}
    if value is None:
        return texts
    given = {lang: value for lang in LANGUAGES} if isinstance(value, str) else value
    if not isinstance(given, Mapping) or any(k not in LANGUAGES for k in given):
        raise ConfigError(f"{_SECTION}.{key}", f"a text, or one per language ({', '.join(LANGUAGES)})")
    for lang, text in given.items():
        if not isinstance(text, str) or not text.strip() or len(text) > limit:
            raise ConfigError(f"{_SECTION}.{key}.{lang}" if not isinstance(value, str) else f"{_SECTION}.{key}",
                              f"a text of 1 to {limit} characters")  # fmt: skip
        texts[lang] = text.strip()
    return texts


def _flag(section: Mapping[str, Any], key: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{_SECTION}.{key}", "true or false")
    return value


def _choice(section: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = section.get(key, default)
    if value not in choices:
        raise ConfigError(f"{_SECTION}.{key}", f"one of: {', '.join(choices)}")
    return str(value)


def _number(
    section: Mapping[str, Any], key: str, default: float, low: float, high: float, *, whole: bool = True
) -> Any:
    value = section.get(key, default)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{_SECTION}.{key}", f"{kind} from {low:g} to {high:g}")
    return value
