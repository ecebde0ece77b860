"""The team's toolkit settings in the YAML file: satisfaction surveys after Close (``surveys``) and the tags staff
put on conversations, with keyword rules that tag by themselves (``tags``). Both sections are optional; without
them no survey is sent and no tag menu is shown, as before."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config.errors import ConfigError
from bot.config.fields import check_keys

MAX_DELAY_MINUTES = 60 * 24 * 7
MAX_DAYS = 365
MAX_TAGS = 100  # the options of one Slack multi-select menu
MAX_KEYWORDS = 200
TAG = re.compile(r"^[^\s:,<>&][^,<>&]{0,62}$")  # one word or a few, no characters /history or mrkdwn would read
_SURVEY_KEYS = (
    "enabled", "delay_minutes", "sample_percent", "cooldown_days", "answer_within_days", "comment_minutes",
    "low_rating",
)  # fmt: skip


@dataclass(frozen=True)
class SurveySettings:
    """After Close, ``delay_minutes`` later, ``sample_percent`` of conversations are asked for a 1–5 rating,
    unless their customer was asked within ``cooldown_days``. A rating more than ``answer_within_days`` after the
    question is politely refused; the customer's next message within ``comment_minutes`` of a rating is its comment
    (0: no comment asked for). A rating of ``low_rating`` or less mentions the holder and the category's owners."""

    enabled: bool = False
    delay_minutes: int = 60
    sample_percent: int = 100
    cooldown_days: int = 30
    answer_within_days: int = 7
    comment_minutes: int = 60
    low_rating: int = 2


@dataclass(frozen=True)
class TagRule:
    """Tag a conversation ``tag`` when a customer message holds any of ``keywords`` (case aside, a Korean word
    anywhere in the text); recorded as set by ``rule:<name>``."""

    name: str
    tag: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class TagSettings:
    """The tags staff choose from on a thread's first message, and the rules that set them by themselves."""

    names: tuple[str, ...] = ()
    rules: tuple[TagRule, ...] = ()


def _whole(node: Mapping[str, object], key: str, default: int, low: int, high: int) -> int:
    value = node.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"surveys.{key}", f"a whole number from {low} to {high}")
    return value


def parse_surveys(node: object) -> SurveySettings:
    if node is None:
        return SurveySettings()
    if not isinstance(node, Mapping):
        raise ConfigError("surveys", "a mapping with enabled, delay_minutes, sample_percent, cooldown_days, ...")
    check_keys(node, "surveys.", _SURVEY_KEYS)
    enabled = node.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("surveys.enabled", "true or false")
    return SurveySettings(
        enabled=enabled,
        delay_minutes=_whole(node, "delay_minutes", 60, 0, MAX_DELAY_MINUTES),
        sample_percent=_whole(node, "sample_percent", 100, 0, 100),
        cooldown_days=_whole(node, "cooldown_days", 30, 0, MAX_DAYS),
        answer_within_days=_whole(node, "answer_within_days", 7, 1, MAX_DAYS),
        comment_minutes=_whole(node, "comment_minutes", 60, 0, 60 * 24 * 7),
        low_rating=_whole(node, "low_rating", 2, 0, 4),
    )


def _tag(value: object, key: str) -> str:
    if not isinstance(value, str) or not TAG.match(value.strip()):
        raise ConfigError(key, "a tag of 1 to 63 characters, without commas, colons at the start or < > &")
    return value.strip()


def parse_tags(node: object) -> TagSettings:
    if node is None:
        return TagSettings()
    if not isinstance(node, Mapping):
        raise ConfigError("tags", "a mapping with list (the tags) and/or rules")
    check_keys(node, "tags.", ("list", "rules"))
    raw = node.get("list") or []
    if not isinstance(raw, list) or len(raw) > MAX_TAGS:
        raise ConfigError("tags.list", f"a list of at most {MAX_TAGS} tags")
    names = tuple(dict.fromkeys(_tag(v, f"tags.list[{i}]") for i, v in enumerate(raw)))
    rules_raw = node.get("rules") or []
    if not isinstance(rules_raw, list):
        raise ConfigError("tags.rules", "a list of {tag, keywords} rules")
    rules: list[TagRule] = []
    for i, rule in enumerate(rules_raw):
        where = f"tags.rules[{i}]"
        if not isinstance(rule, Mapping):
            raise ConfigError(where, "a mapping with tag, keywords and optionally name")
        check_keys(rule, f"{where}.", ("tag", "keywords", "name"))
        tag = _tag(rule.get("tag"), f"{where}.tag")
        if tag not in names:
            raise ConfigError(f"{where}.tag", f"one of tags.list ({', '.join(names) or 'none listed'})")
        words = rule.get("keywords")
        if not isinstance(words, list) or not words or len(words) > MAX_KEYWORDS:
            raise ConfigError(f"{where}.keywords", f"a list of 1 to {MAX_KEYWORDS} words")
        keywords = []
        for j, word in enumerate(words):
            if not isinstance(word, str) or not word.strip() or len(word.strip()) > 100:
                raise ConfigError(f"{where}.keywords[{j}]", "a non-empty word of at most 100 characters")
            keywords.append(word.strip())
        name = rule.get("name", tag)
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 40:
            raise ConfigError(f"{where}.name", "a short name of at most 40 characters")
        rules.append(TagRule(name=name.strip(), tag=tag, keywords=tuple(dict.fromkeys(keywords))))
    return TagSettings(names=names, rules=tuple(rules))
