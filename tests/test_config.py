"""Configuration: every default, every normalisation, every error as the one line the operator sees."""

from __future__ import annotations

import os
import pickle
import re
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import make_url

from bot.config import (
    DEFAULT_DATABASE_URL,
    BotConfig,
    Config,
    ConfigError,
    Settings,
    load_bot_config,
    load_config,
    load_settings,
    normalize_database_url,
    parse_bot_config,
    redact,
)
from bot.domain.i18n import customer_texts

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "bot.example.yaml"
MANIFEST = ROOT / "config" / "slack-manifest.yml"

SLACK_BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_APP_TOKEN = "xapp-1-A0123456789-1234567890123-abcdef0123456789"
TELEGRAM_BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "hook_Secret-0123456789"
DB_PASSWORD = "s3cr3t-Pa55word"

ENV_NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "TELEGRAM_FILE_URL",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "DATABASE_URL",
    "PORT",
    "BOT_CONFIG",
    "WORKER_ID",
    "SLACK_POSTS_PER_SECOND",
    "TELEGRAM_MESSAGES_PER_SECOND",
    "LOG_LEVEL",
)

CHANNEL = "a Slack channel id (C… or G…)"
OWNER = "a Slack user or user group id (U…, W…, S…)"
LABEL = "a non-empty text of at most 75 characters, or one per language (ko, en)"
DB_EXPECTED = "a sqlite:/// or postgres(ql):// URL (also sqlite+aiosqlite:// or postgresql+asyncpg://)"
WEBHOOK_CHARSET = "1 to 256 characters of A-Z, a-z, 0-9, _ and -"
ALL_SECRET_VARS = (
    "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET, "
    "WEBSITE_TOKEN_SECRET, WEBSITE_IDENTITY_SECRET, DATABASE_URL"
)


def base_env(**overrides: str | None) -> dict[str, str]:
    """The three required variables, plus overrides; an override of None removes the variable."""
    env = {
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_BOT_TOKEN,
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def full_settings() -> Settings:
    """Settings with every secret set, to check nothing leaks."""
    return load_settings(
        base_env(
            SLACK_APP_TOKEN=SLACK_APP_TOKEN,
            DATABASE_URL=f"postgres://threadbridge:{DB_PASSWORD}@db.example.com:5432/tb?sslmode=require",
        )
    )


def settings_error(**overrides: str | None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(base_env(**overrides))
    message = str(info.value)
    assert "\n" not in message
    return message


def minimal(**top: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"slack": {"inbox_channel": "C0INBOX"}}
    data.update(top)
    return data


def with_category(**fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"label": "결제/환불", "owners": ["U0BIZ"]}
    spec.update(fields)
    return minimal(categories={"billing": spec})


def bot_error(data: object, *, source: str = "config") -> str:
    with pytest.raises(ConfigError) as info:
        parse_bot_config(data, source=source)
    message = str(info.value)
    assert "\n" not in message
    return message


# ----------------------------------------------------------------------------------------------------------
# ConfigError


def test_config_error_is_one_line_with_key_and_expected() -> None:
    err = ConfigError("PORT", "an integer\n  from 1 to 65535")
    assert err.key == "PORT"
    assert err.expected == "an integer from 1 to 65535"
    assert str(err) == "PORT: an integer from 1 to 65535"


def test_config_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(ConfigError("PORT", "an integer from 1 to 65535")))
    assert str(err) == "PORT: an integer from 1 to 65535"
    assert err.key == "PORT"


# ----------------------------------------------------------------------------------------------------------
# Environment: defaults and normalisation


def test_settings_defaults() -> None:
    s = load_settings(base_env())
    assert s.slack_bot_token == SLACK_BOT_TOKEN
    assert s.slack_signing_secret == SLACK_SIGNING_SECRET
    assert s.slack_app_token is None
    assert s.socket_mode is False
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.log_level == "INFO"
    assert not any(name.startswith("telegram") for name in vars(s))  # a channel's settings are its own
    assert s.database_url == "sqlite+aiosqlite:///./data/threadbridge.db"
    assert s.port == 3000
    assert s.bot_config_path == Path("config/bot.yaml")
    assert s.worker_id == f"{socket.gethostname()}-{os.getpid()}"


def test_settings_are_frozen() -> None:
    s = load_settings(base_env())
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]


def test_settings_every_variable_set() -> None:
    s = load_settings(
        base_env(
            SLACK_APP_TOKEN=SLACK_APP_TOKEN,
            SLACK_API_URL="http://127.0.0.1:8900/api/",
            DATABASE_URL="sqlite:////var/lib/threadbridge/tb.db",
            PORT="8080",
            BOT_CONFIG="/etc/threadbridge/bot.yaml",
            WORKER_ID="web-1",
            LOG_LEVEL="debug",
        )
    )
    assert s.log_level == "DEBUG"
    assert s.slack_app_token == SLACK_APP_TOKEN
    assert s.socket_mode is True
    assert s.slack_api_url == "http://127.0.0.1:8900/api/"
    assert s.database_url == "sqlite+aiosqlite:////var/lib/threadbridge/tb.db"
    assert s.port == 8080
    assert s.bot_config_path == Path("/etc/threadbridge/bot.yaml")
    assert s.worker_id == "web-1"


def test_slack_api_url_gets_a_trailing_slash() -> None:
    assert load_settings(base_env(SLACK_API_URL="http://localhost:9000/api")).slack_api_url == (
        "http://localhost:9000/api/"
    )


def test_values_are_stripped_and_empty_means_unset() -> None:
    s = load_settings(
        base_env(
            SLACK_BOT_TOKEN=f"  {SLACK_BOT_TOKEN}\n",
            SLACK_APP_TOKEN="",
            DATABASE_URL="",
            PORT="",
            BOT_CONFIG="",
            WORKER_ID=" ",
        )
    )
    assert s.slack_bot_token == SLACK_BOT_TOKEN
    assert s.slack_app_token is None
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.port == 3000
    assert s.bot_config_path == Path("config/bot.yaml")
    assert s.worker_id == f"{socket.gethostname()}-{os.getpid()}"


@pytest.mark.parametrize("port", ["1", "3000", "65535", " 8080 "])
def test_port_accepted(port: str) -> None:
    assert load_settings(base_env(PORT=port)).port == int(port)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, "sqlite+aiosqlite:///./data/threadbridge.db"),
        ("", "sqlite+aiosqlite:///./data/threadbridge.db"),
        ("   ", "sqlite+aiosqlite:///./data/threadbridge.db"),
        ("sqlite:///data/tb.db", "sqlite+aiosqlite:///data/tb.db"),
        ("sqlite:///./data/tb.db", "sqlite+aiosqlite:///./data/tb.db"),
        ("sqlite:////var/lib/tb.db", "sqlite+aiosqlite:////var/lib/tb.db"),
        ("sqlite+aiosqlite:///tb.db", "sqlite+aiosqlite:///tb.db"),
        ("sqlite+aiosqlite:////abs/tb.db", "sqlite+aiosqlite:////abs/tb.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgres://u:p@db.example.com:5432/tb", "postgresql+asyncpg://u:p@db.example.com:5432/tb"),
        ("postgresql://u:p@db.example.com/tb", "postgresql+asyncpg://u:p@db.example.com/tb"),
        ("POSTGRES://u:p@db/tb", "postgresql+asyncpg://u:p@db/tb"),
        # Heroku's form
        (
            "postgres://abc:xyz@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1a2?sslmode=require",
            "postgresql+asyncpg://abc:xyz@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1a2?ssl=require",
        ),
        (
            "postgresql://u:p@db/tb?application_name=tb&sslmode=verify-full&connect_timeout=5",
            "postgresql+asyncpg://u:p@db/tb?application_name=tb&ssl=verify-full&connect_timeout=5",
        ),
        ("postgresql+asyncpg://u:p@db/tb", "postgresql+asyncpg://u:p@db/tb"),
        ("postgresql+asyncpg://u:p@db/tb?ssl=require", "postgresql+asyncpg://u:p@db/tb?ssl=require"),
        # an explicit asyncpg `ssl` wins over libpq's `sslmode`
        ("postgresql://u:p@db/tb?ssl=require&sslmode=disable", "postgresql+asyncpg://u:p@db/tb?ssl=require"),
        (" postgres://u:p@db/tb \n", "postgresql+asyncpg://u:p@db/tb"),
    ],
)
def test_normalize_database_url(url: str | None, expected: str) -> None:
    assert normalize_database_url(url) == expected
    assert load_settings(base_env(**({} if url is None else {"DATABASE_URL": url}))).database_url == expected


def test_normalized_urls_pick_the_async_drivers() -> None:
    heroku = make_url(normalize_database_url("postgres://abc:xyz@host:5432/db?sslmode=require"))
    assert heroku.drivername == "postgresql+asyncpg"
    assert dict(heroku.query) == {"ssl": "require"}
    assert heroku.password == "xyz"
    assert make_url(normalize_database_url(None)).drivername == "sqlite+aiosqlite"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@db/tb",
        "postgresql+psycopg2://u:p@db/tb",
        "postgresql+psycopg://u:p@db/tb",
        "sqlite+pysqlite:///tb.db",
        "./data/tb.db",
        "tb.db",
    ],
)
def test_normalize_database_url_refuses_other_urls(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_database_url(url)
    assert str(info.value) == f"DATABASE_URL: {DB_EXPECTED}"
    assert settings_error(DATABASE_URL=url) == f"DATABASE_URL: {DB_EXPECTED}"


def test_database_url_error_does_not_echo_the_password() -> None:
    message = settings_error(DATABASE_URL=f"mysql://u:{DB_PASSWORD}@db/tb")
    assert DB_PASSWORD not in message


# ----------------------------------------------------------------------------------------------------------
# Environment: errors


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("SLACK_BOT_TOKEN", 'SLACK_BOT_TOKEN: required: the Slack bot token, starting with "xoxb-"'),
        (
            "SLACK_SIGNING_SECRET",
            "SLACK_SIGNING_SECRET: required: the Signing Secret from the Slack app settings",
        ),
    ],
)
def test_missing_required_variable(name: str, message: str) -> None:
    assert settings_error(**{name: None}) == message
    assert settings_error(**{name: ""}) == message
    assert settings_error(**{name: "  "}) == message


@pytest.mark.parametrize(
    "token", ["xoxp-1234-5678-abcdef", "xapp-1-A01-abc", "xoxb-", "1234567890-abcdef", "Bearer xoxb-1-2-3"]
)
def test_bad_slack_bot_token(token: str) -> None:
    message = settings_error(SLACK_BOT_TOKEN=token)
    assert message == 'SLACK_BOT_TOKEN: a Slack bot token starting with "xoxb-"'


@pytest.mark.parametrize("token", ["xoxb-1234-5678-abcdef", "xapp-", "1-A01-abc"])
def test_bad_slack_app_token(token: str) -> None:
    message = settings_error(SLACK_APP_TOKEN=token)
    assert message == 'SLACK_APP_TOKEN: an app-level token starting with "xapp-", or unset for HTTP mode'


@pytest.mark.parametrize("port", ["0", "65536", "-1", "abc", "3.5", "80 80", "1e3"])
def test_bad_port(port: str) -> None:
    assert settings_error(PORT=port) == "PORT: an integer from 1 to 65535"


# ----------------------------------------------------------------------------------------------------------
# Secrets never leak


ALL_SECRETS = (
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    SLACK_APP_TOKEN,
    DB_PASSWORD,
)


def test_settings_repr_has_no_secret() -> None:
    s = full_settings()
    text = repr(s)
    for secret in ALL_SECRETS:
        assert secret not in text
    assert "slack_bot_token='***'" in text
    assert "slack_app_token='***'" in text
    assert "postgresql+asyncpg://threadbridge:***@db.example.com:5432/tb?ssl=require" in text
    assert "port=3000" in text
    assert "worker_id=" in text
    assert str(s) == text


def test_settings_repr_unset_optionals_are_none() -> None:
    text = repr(load_settings(base_env()))
    assert "slack_app_token=None" in text
    assert "database_url='sqlite+aiosqlite:///./data/threadbridge.db'" in text


def test_config_repr_has_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("slack:\n  inbox_channel: C0INBOX\n", encoding="utf-8")
    env = base_env(BOT_CONFIG=str(path), SLACK_APP_TOKEN=SLACK_APP_TOKEN)
    text = repr(load_config(env))
    for secret in (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, TELEGRAM_BOT_TOKEN):
        assert secret not in text


def test_redact_replaces_every_secret() -> None:
    s = full_settings()
    text = (
        f"Authorization: Bearer {SLACK_BOT_TOKEN} app={SLACK_APP_TOKEN} sig={SLACK_SIGNING_SECRET} "
        f"dsn=postgresql://threadbridge:{DB_PASSWORD}@db.example.com/tb"
    )
    out = redact(text, s)
    for secret in ALL_SECRETS:
        assert secret not in out
    assert out == (
        "Authorization: Bearer *** app=*** sig=*** dsn=postgresql://threadbridge:***@db.example.com/tb"
    )


def test_redact_percent_encoded_database_password() -> None:
    s = load_settings(base_env(DATABASE_URL="postgresql://u:p%40ss%2Fw0rd@db/tb"))
    assert redact("raw p@ss/w0rd and p%40ss%2Fw0rd", s) == "raw *** and ***"
    assert "p%40ss" not in repr(s)


def test_redact_leaves_text_without_secrets_alone() -> None:
    s = load_settings(base_env())
    assert redact("nothing to see here: 123456789 is the bot id", s) == ("nothing to see here: 123456789 is the bot id")


# ----------------------------------------------------------------------------------------------------------
# YAML: defaults and accepted forms


def test_minimal_bot_config_defaults() -> None:
    cfg = parse_bot_config(minimal())
    assert cfg == BotConfig(
        inbox_channel="C0INBOX",
        language="ko",
        categories=cfg.categories,
        default_category=None,
        greeting=None,
        auto_reply=None,
        staff_channels=("C0INBOX",),
    )
    assert dict(cfg.categories) == {}


def test_full_bot_config() -> None:
    cfg = parse_bot_config(
        {
            "language": "en",
            "default_category": "general",
            "slack": {"inbox_channel": "C0INBOX", "staff_channels": ["C0INBOX", "G0PRIVATE", "C0INBOX"]},
            "texts": {"greeting": "Hello!", "auto_reply": "Got it."},
            "categories": {
                "billing": {
                    "label": "결제/환불",
                    "owners": ["U0BIZ", "S0BILLING", " W0GRID ", "U0BIZ"],
                    "channel": "C0BIZ",
                    "keywords": ["결제", "환불", "refund", "Invoice", "refund", 404],
                },
                "general": {"owners": ["S0SUPPORT"]},
            },
        }
    )
    assert cfg.language == "en"
    assert cfg.default_category == "general"
    assert cfg.staff_channels == ("C0INBOX", "G0PRIVATE")
    assert cfg.greeting == "Hello!"
    assert cfg.auto_reply == "Got it."
    assert list(cfg.categories) == ["billing", "general"]
    billing = cfg.categories["billing"]
    assert billing.key == "billing"
    assert billing.label == "결제/환불"
    assert billing.owners == ("U0BIZ", "S0BILLING", "W0GRID")
    assert billing.channel == "C0BIZ"
    assert billing.keywords == ("결제", "환불", "refund", "Invoice", "404")
    general = cfg.categories["general"]
    assert general.label == "general"
    assert general.channel is None
    assert general.keywords == ()


def test_categories_keep_yaml_order_and_are_read_only() -> None:
    names = ["zeta", "alpha", "mid", "beta"]
    cfg = parse_bot_config(minimal(categories={n: {"owners": ["U0ABC"]} for n in names}))
    assert list(cfg.categories) == names
    with pytest.raises(TypeError):
        cfg.categories["new"] = cfg.categories["zeta"]  # type: ignore[index]


@pytest.mark.parametrize("categories", [None, {}])
def test_categories_may_be_empty(categories: object) -> None:
    assert dict(parse_bot_config(minimal(categories=categories)).categories) == {}


def test_staff_channels_default_to_inbox_plus_category_channels() -> None:
    cfg = parse_bot_config(
        minimal(
            categories={
                "billing": {"owners": ["U0A1"], "channel": "C0BIZ"},
                "bugs": {"owners": ["U0A2"], "channel": "G0BUGS"},
                "refunds": {"owners": ["U0A3"], "channel": "C0BIZ"},
                "ceo": {"owners": ["U0A4"]},
                "inbox": {"owners": ["U0A5"], "channel": "C0INBOX"},
            }
        )
    )
    assert cfg.staff_channels == ("C0INBOX", "C0BIZ", "G0BUGS")


@pytest.mark.parametrize(("value", "expected"), [(False, ""), ("", ""), ("  ", ""), ("Thanks!", "Thanks!")])
def test_auto_reply_forms(value: object, expected: str) -> None:
    assert parse_bot_config(minimal(texts={"auto_reply": value})).auto_reply == expected


@pytest.mark.parametrize("language", ["ko", "en", "EN", " ko ", None])
def test_language_accepted(language: str | None) -> None:
    cfg = parse_bot_config(minimal(language=language))
    assert cfg.language == (language or "ko").strip().lower()


def test_ids_are_stripped() -> None:
    cfg = parse_bot_config({"slack": {"inbox_channel": " C0INBOX "}})
    assert cfg.inbox_channel == "C0INBOX"


def test_a_category_may_be_named_like_a_secret() -> None:
    cfg = parse_bot_config(minimal(categories={"token": {"label": "토큰 판매", "owners": ["U0ABC"]}}))
    assert list(cfg.categories) == ["token"]


def test_bot_config_feeds_customer_texts() -> None:
    cfg = parse_bot_config(minimal(language="en", texts={"auto_reply": False}))
    texts = customer_texts(cfg.language, greeting=cfg.greeting, auto_reply=cfg.auto_reply)
    assert texts.auto_reply == ""
    assert texts.greeting == customer_texts("en").greeting


# ----------------------------------------------------------------------------------------------------------
# YAML: errors


def test_top_level_must_be_a_mapping() -> None:
    assert bot_error(["slack"], source="config/bot.yaml") == (
        "config/bot.yaml: a YAML mapping at the top level (keys: language, default_category, ask_category, slack, "
        "channels, texts, business_hours, categories, crm, replies, resurface, after_close, reactions, saved_replies, "
        "app_home, surveys, tags, reports)"
    )
    assert bot_error("just text").startswith("config: a YAML mapping at the top level")


@pytest.mark.parametrize("data", [None, {}])
def test_empty_document_needs_slack(data: object) -> None:
    assert bot_error(data) == f"slack: a mapping with inbox_channel: {CHANNEL}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            minimal(slak={}),
            "slak: unknown key (expected one of: language, default_category, ask_category, slack, channels, texts, "
            "business_hours, categories, crm, replies, resurface, after_close, reactions, saved_replies, app_home, "
            "surveys, tags, reports)",
        ),
        (
            {"slack": {"inbox_channel": "C0INBOX", "inbox": "C0X"}},
            "slack.inbox: unknown key (expected one of: inbox_channel, staff_channels, staff_groups)",
        ),
        (
            minimal(texts={"greting": "hi"}),
            "texts.greting: unknown key (expected one of: greeting, auto_reply, after_hours, choose_category)",
        ),
        (
            with_category(ownrs=["U0BIZ"]),
            "categories.billing.ownrs: unknown key (expected one of: label, owners, channel, keywords, patterns, "
            "priority, first_response_minutes, escalation, hours)",
        ),
    ],
)
def test_unknown_keys(data: object, message: str) -> None:
    assert bot_error(data) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal(language="jp"), 'language: one of "ko", "en"'),
        (minimal(language=1), 'language: one of "ko", "en"'),
        ({"slack": "C0INBOX"}, f"slack: a mapping with inbox_channel: {CHANNEL}"),
        ({"slack": {}}, f"slack.inbox_channel: {CHANNEL}"),
        ({"slack": {"inbox_channel": None}}, f"slack.inbox_channel: {CHANNEL}"),
        ({"slack": {"inbox_channel": 123}}, f"slack.inbox_channel: {CHANNEL}"),
        ({"slack": {"inbox_channel": "general"}}, f"slack.inbox_channel: {CHANNEL}"),
        ({"slack": {"inbox_channel": "#general"}}, f"slack.inbox_channel: {CHANNEL}"),
        ({"slack": {"inbox_channel": "U0INBOX"}}, f"slack.inbox_channel: {CHANNEL}"),
        ({"slack": {"inbox_channel": "C1"}}, f"slack.inbox_channel: {CHANNEL}"),
        ({"slack": {"inbox_channel": "c0inbox"}}, f"slack.inbox_channel: {CHANNEL}"),
        (
            {"slack": {"inbox_channel": "C0INBOX", "staff_channels": "C0INBOX"}},
            "slack.staff_channels: a non-empty list of Slack channel ids (C… or G…)",
        ),
        (
            {"slack": {"inbox_channel": "C0INBOX", "staff_channels": []}},
            "slack.staff_channels: a non-empty list of Slack channel ids (C… or G…)",
        ),
        (
            {"slack": {"inbox_channel": "C0INBOX", "staff_channels": ["C0INBOX", "S0GROUP"]}},
            f"slack.staff_channels[1]: {CHANNEL}",
        ),
        (minimal(texts="hello"), "texts: a mapping with greeting, auto_reply, after_hours and/or choose_category"),
        (minimal(texts={"greeting": 5}), "texts.greeting: a non-empty text of at most 4096 characters"),
        (minimal(texts={"greeting": ""}), "texts.greeting: a non-empty text of at most 4096 characters"),
        (minimal(texts={"greeting": "  "}), "texts.greeting: a non-empty text of at most 4096 characters"),
        (
            minimal(texts={"greeting": "가" * 4097}),
            "texts.greeting: a non-empty text of at most 4096 characters",
        ),
        (
            minimal(texts={"auto_reply": True}),
            "texts.auto_reply: a text of at most 4096 characters, or false to send none",
        ),
        (
            minimal(texts={"auto_reply": 3}),
            "texts.auto_reply: a text of at most 4096 characters, or false to send none",
        ),
        (
            minimal(texts={"auto_reply": "x" * 4097}),
            "texts.auto_reply: a text of at most 4096 characters, or false to send none",
        ),
        (
            minimal(categories=["billing"]),
            "categories: a mapping of category key to label, owners, channel, keywords",
        ),
        (
            with_category() | {"categories": {"billing": "U0BIZ"}},
            "categories.billing: a mapping with label, owners, channel, keywords",
        ),
        (
            minimal(categories={"bad key": {"owners": ["U0ABC"]}}),
            "categories.bad key: a category key of letters, digits, _ and - (at most 64, e.g. billing)",
        ),
        (
            minimal(categories={"결제": {"owners": ["U0ABC"]}}),
            "categories.결제: a category key of letters, digits, _ and - (at most 64, e.g. billing)",
        ),
        (
            minimal(categories={1: {"owners": ["U0ABC"]}}),
            "categories.1: a category key of letters, digits, _ and - (at most 64, e.g. billing)",
        ),
        (
            minimal(categories={"k" * 65: {"owners": ["U0ABC"]}}),
            f"categories.{'k' * 65}: a category key of letters, digits, _ and - (at most 64, e.g. billing)",
        ),
        (with_category(label=""), f"categories.billing.label: {LABEL}"),
        (with_category(label=["a"]), f"categories.billing.label: {LABEL}"),
        (
            with_category(owners=None),
            "categories.billing.owners: at least one of the Slack user or user group ids (U…, W…, S…)",
        ),
        (
            with_category(owners=[]),
            "categories.billing.owners: at least one of the Slack user or user group ids (U…, W…, S…)",
        ),
        (
            with_category(owners="U0BIZ"),
            "categories.billing.owners: a list of Slack user or user group ids (U…, W…, S…)",
        ),
        (
            with_category(owners={"U0BIZ": 1}),
            "categories.billing.owners: a list of Slack user or user group ids (U…, W…, S…)",
        ),
        (with_category(owners=["U0BIZ", "u0biz"]), f"categories.billing.owners[1]: {OWNER}"),
        (with_category(owners=["C0BIZ"]), f"categories.billing.owners[0]: {OWNER}"),
        (with_category(owners=["@alice"]), f"categories.billing.owners[0]: {OWNER}"),
        (with_category(owners=["U1"]), f"categories.billing.owners[0]: {OWNER}"),
        (with_category(owners=[123]), f"categories.billing.owners[0]: {OWNER}"),
        (with_category(owners=["<@U0BIZ>"]), f"categories.billing.owners[0]: {OWNER}"),
        (with_category(channel="U0BIZ"), f"categories.billing.channel: {CHANNEL}"),
        (with_category(channel="#billing"), f"categories.billing.channel: {CHANNEL}"),
        (with_category(channel=5), f"categories.billing.channel: {CHANNEL}"),
        (with_category(keywords="refund"), "categories.billing.keywords: a list of words or phrases"),
        (
            with_category(keywords=["refund", ""]),
            "categories.billing.keywords[1]: a non-empty word or phrase",
        ),
        (with_category(keywords=[None]), "categories.billing.keywords[0]: a non-empty word or phrase"),
        (with_category(keywords=[True]), "categories.billing.keywords[0]: a non-empty word or phrase"),
    ],
)
def test_wrong_values(data: object, message: str) -> None:
    assert bot_error(data) == message


def test_default_category_must_name_a_category() -> None:
    data = with_category(keywords=["refund"])
    assert bot_error(data | {"default_category": "general"}) == "default_category: one of the categories (billing)"
    assert bot_error(data | {"default_category": ""}) == "default_category: one of the categories (billing)"
    assert bot_error(data | {"default_category": ["billing"]}) == "default_category: one of the categories (billing)"
    assert bot_error(minimal(default_category="general")) == (
        "default_category: a key under categories, but no categories are defined"
    )
    assert parse_bot_config(data | {"default_category": "billing"}).default_category == "billing"
    assert parse_bot_config(data | {"default_category": None}).default_category is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            minimal(token="xyz"),
            f"token: secrets come from the environment ({ALL_SECRET_VARS}), not from the YAML file",
        ),
        (
            {"slack": {"inbox_channel": "C0INBOX", "bot_token": "xyz"}},
            "slack.bot_token: secrets come from the environment (SLACK_BOT_TOKEN or TELEGRAM_BOT_TOKEN), "
            "not from the YAML file",
        ),
        (
            {"slack": {"inbox_channel": "C0INBOX", "signing_secret": "abc"}},
            "slack.signing_secret: secrets come from the environment (SLACK_SIGNING_SECRET), not from the YAML file",
        ),
        (
            {"slack": {"inbox_channel": "C0INBOX", "app-token": "abc"}},
            "slack.app-token: secrets come from the environment (SLACK_APP_TOKEN), not from the YAML file",
        ),
        (
            minimal(telegram={"webhook_secret": "abc"}),
            "telegram.webhook_secret: secrets come from the environment (TELEGRAM_WEBHOOK_SECRET), "
            "not from the YAML file",
        ),
        (
            minimal(database={"password": "abc"}),
            "database.password: secrets come from the environment (DATABASE_URL), not from the YAML file",
        ),
        (
            with_category(api_key="abc"),
            f"categories.billing.api_key: secrets come from the environment ({ALL_SECRET_VARS}), "
            "not from the YAML file",
        ),
        (
            minimal(texts={"greeting": SLACK_BOT_TOKEN}),
            "texts.greeting: looks like a token: secrets come from the environment, not from the YAML file",
        ),
        (
            {"slack": {"inbox_channel": SLACK_APP_TOKEN}},
            "slack.inbox_channel: looks like a token: secrets come from the environment, not from the YAML file",
        ),
        (
            with_category(keywords=["refund", TELEGRAM_BOT_TOKEN]),
            "categories.billing.keywords[1]: looks like a token: secrets come from the environment, "
            "not from the YAML file",
        ),
    ],
)
def test_secrets_in_yaml_are_refused(data: object, message: str) -> None:
    text = bot_error(data)
    assert text == message
    for secret in (SLACK_BOT_TOKEN, SLACK_APP_TOKEN, TELEGRAM_BOT_TOKEN):
        assert secret not in text


# ----------------------------------------------------------------------------------------------------------
# YAML files


def test_load_bot_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_bot_config(path)
    assert str(info.value) == f"BOT_CONFIG: a readable YAML file at {path}"


def test_load_bot_config_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_bot_config(tmp_path)
    assert str(info.value) == f"BOT_CONFIG: a readable YAML file at {tmp_path}"


def test_load_bot_config_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("slack:\n  inbox_channel: [C0INBOX\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_bot_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"BOT_CONFIG: valid YAML in {path} (")
    assert "line 3" in message


def test_load_bot_config_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(
        "slack:\n  inbox_channel: C0INBOX\ncategories:\n  billing:\n    owners: [U0A1]\n"
        "  billing:\n    owners: [U0A2]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_bot_config(path)
    assert str(info.value) == f'BOT_CONFIG: duplicate key "billing" at line 6 in {path}'


def test_load_bot_config_yaml_booleans_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("slack:\n  inbox_channel: C0INBOX\ntexts:\n  auto_reply: false\ncategories:\n", encoding="utf-8")
    cfg = load_bot_config(path)
    assert cfg.auto_reply == ""
    assert dict(cfg.categories) == {}
    path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_bot_config(path)
    assert str(info.value) == f"slack: a mapping with inbox_channel: {CHANNEL}"


def test_load_bot_config_top_level_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_bot_config(path)
    assert str(info.value).startswith(f"{path}: a YAML mapping at the top level")


def test_example_yaml_loads() -> None:
    cfg = load_bot_config(EXAMPLE)
    assert cfg.language == "ko"
    assert cfg.inbox_channel == "C0INBOX01"
    assert set(cfg.categories) >= {"billing", "bugs", "partnership"}
    assert cfg.default_category in cfg.categories
    assert cfg.greeting and cfg.auto_reply
    for category in cfg.categories.values():
        assert category.owners
    assert parse_bot_config(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))) == cfg


def test_the_readme_documents_every_environment_variable() -> None:
    table = {m.group(1) for m in re.finditer(r"^\| `([A-Z_]+)` \|", (ROOT / "README.md").read_text(), re.MULTILINE)}
    assert set(ENV_NAMES) <= table


def test_example_yaml_documents_every_environment_variable() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in ENV_NAMES:
        assert name in text, name
    assert "/slack/events" in text
    assert "sqlite+aiosqlite:///./data/threadbridge.db" in text


def test_slack_manifest_is_complete() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["display_information"]["name"]
    assert manifest["features"]["bot_user"]["display_name"]
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/history", "/inquiries", "/customer", "/report"}
    for command in commands.values():
        assert command["url"] == "https://YOUR-HOST/slack/events"
        assert command["description"] and command["usage_hint"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "channels:history",
        "groups:history",
        "files:read",
        "files:write",
        "users:read",
        "commands",
        "usergroups:read",
        "channels:read",
        "groups:read",
        "reactions:read",
        "chat:write.customize",
    }
    shortcuts = manifest["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"], s["name"]) for s in shortcuts] == [
        ("message", "send_to_customer", "Send to customer"),
        ("message", "saved_reply", "Saved reply"),
    ]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == "https://YOUR-HOST/slack/events"
    events = {"message.channels", "message.groups", "reaction_added", "app_home_opened"}
    assert set(settings["event_subscriptions"]["bot_events"]) == events
    assert settings["interactivity"] == {"is_enabled": True, "request_url": "https://YOUR-HOST/slack/events"}
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_the_socket_mode_comment_counts_the_url_lines_it_says_to_delete() -> None:
    """Following the comment word for word turns the manifest into a Socket Mode one without a public URL."""
    text = MANIFEST.read_text(encoding="utf-8")
    said = re.search(r"delete the (\w+) `url` / `request_url` lines", text)
    assert said is not None
    numbers = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    url_lines = [line for line in text.splitlines() if re.match(r"\s*(url|request_url):", line)]
    assert numbers.index(said.group(1)) + 1 == len(url_lines)
    followed = "\n".join(line for line in text.splitlines() if line not in url_lines)
    followed = followed.replace("socket_mode_enabled: false", "socket_mode_enabled: true")
    socket_mode = yaml.safe_load(followed)
    assert "YOUR-HOST" not in str(socket_mode) and socket_mode["settings"]["socket_mode_enabled"] is True


# ----------------------------------------------------------------------------------------------------------
# load_config and .env


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Unset every variable the bot reads, and have pytest restore them (load_dotenv writes to os.environ)."""
    for name in ENV_NAMES:
        monkeypatch.setenv(name, "placeholder")  # records the original value, so it is restored afterwards
        monkeypatch.delenv(name)
    return monkeypatch


def write_bot_yaml(directory: Path) -> Path:
    path = directory / "bot.yaml"
    path.write_text("language: en\nslack:\n  inbox_channel: C0INBOX\n", encoding="utf-8")
    return path


def test_load_config_from_mapping(tmp_path: Path) -> None:
    path = write_bot_yaml(tmp_path)
    config = load_config(base_env(BOT_CONFIG=str(path)))
    assert isinstance(config, Config)
    assert config.settings.bot_config_path == path
    assert config.bot.language == "en"
    assert config.bot.inbox_channel == "C0INBOX"


def test_load_config_missing_yaml(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(base_env(BOT_CONFIG=str(path)))
    assert str(info.value) == f"BOT_CONFIG: a readable YAML file at {path}"


def test_load_config_reads_dotenv_without_overriding(tmp_path: Path, clean_environ: pytest.MonkeyPatch) -> None:
    write_bot_yaml(tmp_path)
    (tmp_path / ".env").write_text(
        "\n".join(
            [
                "# local development",
                f"SLACK_BOT_TOKEN={SLACK_BOT_TOKEN}",
                f"SLACK_SIGNING_SECRET='{SLACK_SIGNING_SECRET}'",
                f'TELEGRAM_BOT_TOKEN="{TELEGRAM_BOT_TOKEN}"',
                "BOT_CONFIG=bot.yaml",
                "PORT=5000",
                "WORKER_ID=from-dotenv",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    clean_environ.chdir(tmp_path)
    clean_environ.setenv("PORT", "4000")  # already set: .env must not override it
    config = load_config()
    assert config.settings.slack_bot_token == SLACK_BOT_TOKEN
    assert config.settings.slack_signing_secret == SLACK_SIGNING_SECRET
    assert config.settings.port == 4000
    assert config.settings.worker_id == "from-dotenv"
    assert config.settings.bot_config_path == Path("bot.yaml")
    assert config.bot.language == "en"


def test_load_config_without_dotenv_uses_environ(tmp_path: Path, clean_environ: pytest.MonkeyPatch) -> None:
    path = write_bot_yaml(tmp_path)
    clean_environ.chdir(tmp_path)
    for name, value in base_env(BOT_CONFIG=str(path), PORT="8123").items():
        clean_environ.setenv(name, value)
    config = load_config()
    assert config.settings.port == 8123
    assert config.bot.inbox_channel == "C0INBOX"


def test_load_config_without_anything_names_the_first_missing_variable(
    tmp_path: Path, clean_environ: pytest.MonkeyPatch
) -> None:
    clean_environ.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert info.value.key == "SLACK_BOT_TOKEN"


def test_pacing_rates_default_to_one_per_second_and_are_checked() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert load_settings(base).slack_posts_per_second == 1.0
    assert load_settings({**base, "SLACK_POSTS_PER_SECOND": "2.5"}).slack_posts_per_second == 2.5
    for bad in ("0", "fast", "1000"):
        with pytest.raises(ConfigError) as err:
            load_settings({**base, "SLACK_POSTS_PER_SECOND": bad})
        assert str(err.value) == "SLACK_POSTS_PER_SECOND: a number of messages per second from 0.01 to 100 (default 1)"


@pytest.mark.parametrize("level", ["verbose", "info!", "10"])
def test_a_log_level_python_does_not_know_is_refused_with_one_line(level: str) -> None:
    assert settings_error(LOG_LEVEL=level) == "LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR, CRITICAL (default INFO)"


@pytest.mark.parametrize("url", ["slack.com/api/", "ftp://example.com/bot", "https://", "https:///path", "http://[::1"])
def test_bad_slack_api_url(url: str) -> None:
    assert settings_error(SLACK_API_URL=url) == "SLACK_API_URL: an absolute https:// or http:// URL"
