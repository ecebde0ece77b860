"""The ``texts`` section: the operator's own wording for what the bot says to customers.

Each text is one string for every language (what the bot did before it spoke each customer's language, so an
existing file keeps meaning what it meant), or one per language (``{ko: ..., en: ...}``): a language left out keeps
the built-in text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.config.errors import ConfigError
from bot.config.fields import check_keys
from bot.domain.i18n import LANGUAGES

TEXT_LIMIT = 4096  # characters of one of the bot's own texts; each channel splits what it cannot send whole
_TEXT_KEYS = ("greeting", "auto_reply", "after_hours", "choose_category")

Overrides = Mapping[str, Mapping[str, str]]  # a text's name -> {language: text}


def parse_texts(node: object) -> Overrides:
    """The optional wording overrides, per text and language; `auto_reply: false` (or "") turns the
    acknowledgement off."""
    if node is None:
        return MappingProxyType({})
    if not isinstance(node, Mapping):
        raise ConfigError("texts", "a mapping with greeting, auto_reply, after_hours and/or choose_category")
    check_keys(node, "texts.", _TEXT_KEYS)
    found: dict[str, Mapping[str, str]] = {}
    for name in _TEXT_KEYS:
        value = node.get(name)
        if value is not None:
            found[name] = MappingProxyType(localized(value, f"texts.{name}", may_be_off=name == "auto_reply"))
    return MappingProxyType(found)


def localized(value: object, key: str, *, may_be_off: bool = False) -> dict[str, str]:
    """One text for every language, or ``{ko: ..., en: ...}``; ``may_be_off``: false or "" means send nothing."""
    if isinstance(value, Mapping):
        if not value:
            raise ConfigError(key, f"a text, or one per language ({', '.join(LANGUAGES)})")
        texts = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                raise ConfigError(f"{key}.{lang}", f"unknown language (expected one of: {', '.join(LANGUAGES)})")
            texts[str(lang)] = _one(text, f"{key}.{lang}", may_be_off)
        return texts
    return dict.fromkeys(LANGUAGES, _one(value, key, may_be_off))


def _one(value: object, key: str, may_be_off: bool) -> str:
    if may_be_off:
        if value is False:
            return ""
        if not isinstance(value, str) or len(value) > TEXT_LIMIT:
            raise ConfigError(key, f"a text of at most {TEXT_LIMIT} characters, or false to send none")
        return value if value.strip() else ""
    if not isinstance(value, str) or not value.strip() or len(value) > TEXT_LIMIT:
        raise ConfigError(key, f"a non-empty text of at most {TEXT_LIMIT} characters")
    return value


def optional_text(value: object, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > TEXT_LIMIT:
        raise ConfigError(key, f"a non-empty text of at most {TEXT_LIMIT} characters")
    return value
