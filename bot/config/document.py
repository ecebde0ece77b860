"""The YAML file: read safely, refused when it holds a secret, checked section by section."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot.config.behaviour import parse_after_close, parse_reactions, parse_replies, parse_resurface
from bot.config.categories import parse_categories
from bot.config.errors import ConfigError
from bot.config.fields import CHANNEL, GROUP_ID, LABEL_LIMIT, channel_id, check_keys
from bot.config.model import DEFAULT_STAGES, BotConfig
from bot.config.reports import parse_reports
from bot.config.saved_replies import parse_app_home, parse_saved_replies
from bot.config.schedule import parse_business_hours
from bot.config.texts import parse_texts
from bot.config.toolkit import parse_surveys, parse_tags
from bot.domain.i18n import LANGUAGES

_TOP_KEYS = (
    "language", "default_category", "ask_category", "slack", "channels", "texts", "business_hours", "categories", "crm",
    "replies", "resurface", "after_close", "reactions", "saved_replies", "app_home", "surveys", "tags", "reports",
)  # fmt: skip
_SLACK_KEYS = ("inbox_channel", "staff_channels", "staff_groups")
_CRM_KEYS = ("stages",)
MAX_STAGES = 50  # a stage is an option of a Slack select menu (100 at most); a pipeline is a handful
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
    "token_secret": "WEBSITE_TOKEN_SECRET",
    "identity_secret": "WEBSITE_IDENTITY_SECRET",
    "password": "DATABASE_URL",
}
_SECRET_ENV_ALL = (
    "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET, "
    "WEBSITE_TOKEN_SECRET, WEBSITE_IDENTITY_SECRET, DATABASE_URL"
)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader refusing duplicate keys (PyYAML would silently keep the last of two categories) and reading
    dates as text: PyYAML turns an impossible date such as 2026-02-30 into an exception that names no key, while
    the key's own check can say exactly which holiday is wrong."""


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
    check_keys(data, "", _TOP_KEYS)

    language = data.get("language")
    if language is None:
        language = "ko"
    if not isinstance(language, str) or language.strip().lower() not in LANGUAGES:
        raise ConfigError("language", "one of " + ", ".join(f'"{lang}"' for lang in LANGUAGES))
    language = language.strip().lower()

    slack = data.get("slack")
    if not isinstance(slack, Mapping):
        raise ConfigError("slack", f"a mapping with inbox_channel: {CHANNEL}")
    check_keys(slack, "slack.", _SLACK_KEYS)
    inbox_channel = channel_id(slack.get("inbox_channel"), "slack.inbox_channel")

    texts = parse_texts(data.get("texts"))

    def text(name: str) -> str | None:  # the override in the default language, as the file said before
        return texts[name].get(language) if name in texts else None

    business_hours = parse_business_hours(data.get("business_hours"))
    categories = parse_categories(data.get("categories"), language, business_hours)

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
        staff = [channel_id(v, f"slack.staff_channels[{i}]") for i, v in enumerate(staff_raw)]
    staff_groups = _staff_groups(slack.get("staff_groups"))
    crm_stages = _crm(data.get("crm"))
    channels = _channels(data.get("channels"))

    return BotConfig(
        inbox_channel=inbox_channel,
        language=language,
        categories=MappingProxyType(categories),
        default_category=default_category,
        greeting=text("greeting"),
        auto_reply=text("auto_reply"),
        staff_channels=tuple(dict.fromkeys(staff)),
        ask_category=ask_category,
        business_hours=MappingProxyType(business_hours),
        after_hours_reply=text("after_hours"),
        choose_category=text("choose_category"),
        staff_groups=staff_groups,
        crm_stages=crm_stages,
        channels=channels,
        texts=texts,
        replies=parse_replies(data.get("replies")),
        resurface=parse_resurface(data.get("resurface")),
        after_close=parse_after_close(data.get("after_close")),
        reactions=parse_reactions(data.get("reactions")),
        saved_replies=parse_saved_replies(data.get("saved_replies")),
        app_home=parse_app_home(data.get("app_home")),
        surveys=parse_surveys(data.get("surveys")),
        tags=parse_tags(data.get("tags")),
        reports=parse_reports(data.get("reports")),
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
            _refuse_secrets(value, f"{where}.", names_are_data=(where in ("categories", "business_hours", "channels")))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_secrets(value, f"{path.removesuffix('.')}[{i}].")
    elif isinstance(node, str) and _SECRET_VALUE.search(node.strip()):
        raise ConfigError(
            path.removesuffix("."),
            "looks like a token: secrets come from the environment, not from the YAML file",
        )


def _staff_groups(node: object) -> tuple[str, ...]:
    """User groups (S…) whose members may search and see customers, besides the staff channels' members."""
    if node is None:
        return ()
    if not isinstance(node, list):
        raise ConfigError("slack.staff_groups", "a list of Slack user group ids (S…)")
    groups = []
    for i, value in enumerate(node):
        if not isinstance(value, str) or not GROUP_ID.match(value.strip()):
            raise ConfigError(f"slack.staff_groups[{i}]", "a Slack user group id (S…)")
        groups.append(value.strip())
    return tuple(dict.fromkeys(groups))


def _crm(node: object) -> tuple[str, ...]:
    """The pipeline stages, in order; the first is where every customer starts."""
    if node is None:
        return DEFAULT_STAGES
    if not isinstance(node, Mapping):
        raise ConfigError("crm", "a mapping with stages: a list of pipeline stages")
    check_keys(node, "crm.", _CRM_KEYS)
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



def _channels(node: object) -> Mapping[str, Any] | None:
    """The customer channels to enable, each with its own section (checked by bot.connectors.registry):
    ``{telegram: {}, website: {...}}``, or a list of names for the defaults; None when the file names none."""
    if node is None:
        return None
    if isinstance(node, list):
        if not all(isinstance(name, str) and name.strip() for name in node):
            raise ConfigError("channels", "a list of channel names (e.g. [telegram]) or a mapping of name to settings")
        return MappingProxyType({name.strip(): {} for name in node})
    if not isinstance(node, Mapping):
        raise ConfigError("channels", "a mapping of channel name to its settings, e.g. {telegram: {}}")
    return MappingProxyType({str(name): section for name, section in node.items()})
