"""The ``texts`` section: the operator's own wording for what the bot says to customers."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config.errors import ConfigError
from bot.config.fields import check_keys

TEXT_LIMIT = 4096  # characters of one of the bot's own texts; each channel splits what it cannot send whole
_TEXT_KEYS = ("greeting", "auto_reply", "after_hours", "choose_category")


def parse_texts(node: object) -> tuple[str | None, str | None, str | None, str | None]:
    """The optional wording overrides; `auto_reply: false` (or "") turns the acknowledgement off."""
    if node is None:
        return None, None, None, None
    if not isinstance(node, Mapping):
        raise ConfigError("texts", "a mapping with greeting, auto_reply, after_hours and/or choose_category")
    check_keys(node, "texts.", _TEXT_KEYS)
    limit = f"at most {TEXT_LIMIT} characters"

    greeting = node.get("greeting")
    if greeting is not None and (
        not isinstance(greeting, str) or not greeting.strip() or len(greeting) > TEXT_LIMIT
    ):
        raise ConfigError("texts.greeting", f"a non-empty text of {limit}")

    auto_reply = node.get("auto_reply")
    if auto_reply is False:
        auto_reply = ""
    elif auto_reply is not None:
        if not isinstance(auto_reply, str) or len(auto_reply) > TEXT_LIMIT:
            raise ConfigError("texts.auto_reply", f"a text of {limit}, or false to send none")
        if not auto_reply.strip():
            auto_reply = ""
    others = [optional_text(node.get(name), f"texts.{name}") for name in ("after_hours", "choose_category")]
    return greeting, auto_reply, others[0], others[1]


def optional_text(value: object, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > TEXT_LIMIT:
        raise ConfigError(key, f"a non-empty text of at most {TEXT_LIMIT} characters")
    return value

