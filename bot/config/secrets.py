"""Secrets never reach a log line or an error report: every form of every secret is replaced by ***."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit, urlunsplit


class HasSecrets(Protocol):
    def secret_values(self) -> tuple[str, ...]:
        """Every secret value this part of the configuration holds."""
        ...


def mask_optional_url(url: str | None) -> str:
    return "None" if url is None else repr(mask_url_password(url))


def mask_url_password(url: str) -> str:
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


def url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact(text: str, *sources: HasSecrets | Iterable[str]) -> str:
    """Replace every secret value in text by ***, so that log records and error reports can be shared."""
    values: list[str] = []
    for source in sources:
        values.extend(source.secret_values() if hasattr(source, "secret_values") else source)  # type: ignore[union-attr]
    for value in _secret_forms(tuple(values)):
        text = text.replace(value, "***")
    return text


@lru_cache(maxsize=16)
def _secret_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Each secret as written, as it appears inside URLs (":" as %3A, say) and inside a JSON string (a JSON log
    line escapes quotes, backslashes and, with ensure_ascii, anything not ASCII), longest first; cached because
    redact runs on every log record."""
    values: set[str] = set()
    for value in secrets:
        if value:
            values.update({value, quote(value, safe=""), quote(value), unquote(value)})
            values.update({json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]})
    return tuple(sorted((v for v in values if v), key=len, reverse=True))
