"""Settings for running the bot as a service: the log format, the drain on stop, and who may read /metrics."""

from __future__ import annotations

import re

from bot.config.errors import ConfigError

LOG_FORMATS = ("text", "json")
DEFAULT_DRAIN_SECONDS = 20.0
MAX_DRAIN_SECONDS = 3600.0
_TOKEN = re.compile(r"^[\x21-\x7e]{16,256}$")  # printable, no spaces: it travels in an Authorization header
_BIND = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]*)):(?P<port>[0-9]{1,5})$")


def log_format(value: str | None) -> str:
    """LOG_FORMAT: ``text`` (one readable line per record) or ``json`` (one JSON object per line)."""
    chosen = (value or "text").lower()
    if chosen not in LOG_FORMATS:
        raise ConfigError("LOG_FORMAT", f"one of {', '.join(LOG_FORMATS)} (default text)")
    return chosen


def drain_seconds(value: str | None) -> float:
    """DRAIN_SECONDS: how long a stop (SIGTERM) waits for the deliveries under way before it lets go of them."""
    if value is None:
        return DEFAULT_DRAIN_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_DRAIN_SECONDS:
        raise ConfigError("DRAIN_SECONDS", f"a number of seconds from 0 to {MAX_DRAIN_SECONDS:.0f} (default 20)")
    return seconds


def metrics_token(value: str | None) -> str | None:
    """METRICS_TOKEN: when set, /metrics answers only requests with ``Authorization: Bearer <token>``."""
    if value is None:
        return None
    if not _TOKEN.match(value):
        raise ConfigError("METRICS_TOKEN", "16 to 256 printable characters without spaces, or unset")
    return value


def metrics_bind(value: str | None, port: int) -> tuple[str, int] | None:
    """METRICS_BIND: ``host:port`` (``127.0.0.1:9100``, ``[::1]:9100``, ``:9100`` for every address) where /metrics
    is served instead of on PORT, e.g. an address only the monitoring network reaches."""
    if value is None:
        return None
    match = _BIND.match(value)
    number = int(match.group("port")) if match else 0
    if match is None or not 1 <= number <= 65535:
        raise ConfigError("METRICS_BIND", 'host:port for /metrics, e.g. "127.0.0.1:9100" or ":9100"')
    host = match.group("v6") or match.group("host") or "0.0.0.0"
    if number == port:
        raise ConfigError("METRICS_BIND", f"a port other than PORT ({port}), which serves Slack and the channels")
    return host, number
