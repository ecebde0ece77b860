"""The ``categories`` section: what kinds of inquiry there are, who owns them and which words route to them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from bot.config.errors import ConfigError
from bot.config.fields import (
    CHANNEL_ID,
    GROUP_ID,
    KEY,
    LABEL_LIMIT,
    OWNER_IDS,
    USER_ID,
    channel_id,
    check_keys,
    minutes,
)
from bot.domain.i18n import LANGUAGES
from bot.domain.models import BusinessHours, Category, Escalation

MAX_CATEGORIES = 100  # a Slack static_select holds at most 100 options, a Telegram inline keyboard 100 buttons
_CATEGORY_KEYS = (
    "label", "owners", "channel", "keywords", "patterns", "priority", "first_response_minutes", "escalation", "hours",
)  # fmt: skip
_ESCALATION_KEYS = ("after_minutes", "to")


def parse_categories(node: object, language: str, hours: Mapping[str, BusinessHours]) -> dict[str, Category]:
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ConfigError("categories", "a mapping of category key to label, owners, channel, keywords")
    if len(node) > MAX_CATEGORIES:
        raise ConfigError("categories", f"at most {MAX_CATEGORIES} categories (Slack's select menu shows no more)")
    result: dict[str, Category] = {}
    for key, spec in node.items():
        if not isinstance(key, str) or not KEY.match(key):
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




def _category(key: str, spec: object, language: str, hours: Mapping[str, BusinessHours]) -> Category:
    path = f"categories.{key}"
    if not isinstance(spec, Mapping):
        raise ConfigError(path, "a mapping with label, owners, channel, keywords")
    check_keys(spec, f"{path}.", _CATEGORY_KEYS)

    label, labels = _labels(spec.get("label", key), path, language)

    owners_raw = spec.get("owners")
    if owners_raw is None or owners_raw == []:
        raise ConfigError(f"{path}.owners", f"at least one of the {OWNER_IDS}")
    if not isinstance(owners_raw, list):
        raise ConfigError(f"{path}.owners", f"a list of {OWNER_IDS}")
    owners: list[str] = []
    for i, owner in enumerate(owners_raw):
        owner = owner.strip() if isinstance(owner, str) else owner
        if not isinstance(owner, str) or not (USER_ID.match(owner) or GROUP_ID.match(owner)):
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
        target = minutes(target, f"{path}.first_response_minutes")

    escalation = None
    escalation_raw = spec.get("escalation")
    if escalation_raw is not None:
        if target is None:
            raise ConfigError(f"{path}.escalation", "needs first_response_minutes, the target it escalates after")
        if not isinstance(escalation_raw, Mapping):
            raise ConfigError(f"{path}.escalation", "a mapping with after_minutes and to")
        check_keys(escalation_raw, f"{path}.escalation.", _ESCALATION_KEYS)
        to = escalation_raw.get("to")
        to = to.strip() if isinstance(to, str) else to
        if not isinstance(to, str) or not (CHANNEL_ID.match(to) or USER_ID.match(to)):
            raise ConfigError(f"{path}.escalation.to", "a Slack channel or user id (C…, G…, U…, W…)")
        escalation = Escalation(
            after_minutes=minutes(escalation_raw.get("after_minutes"), f"{path}.escalation.after_minutes"), to=to
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
        channel=None if spec.get("channel") is None else channel_id(spec["channel"], f"{path}.channel"),
        keywords=tuple(dict.fromkeys(keywords)),
        labels=MappingProxyType(labels),
        patterns=tuple(patterns),
        priority=priority,
        first_response_minutes=target,
        escalation=escalation,
        hours=hours_name,
    )

