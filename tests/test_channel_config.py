"""The channel registry and the Telegram channel's settings: every default, every error as one line, no secret."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.config import ConfigError, load_settings, parse_bot_config, redact
from bot.connectors import registry
from bot.connectors.telegram.settings import TelegramSettings, load
from bot.deployment import load_deployment

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1234567890-0987654321-AbCdEfGhIjKl", "SLACK_SIGNING_SECRET": "8f742231b10e"}
TELEGRAM_BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "hook_Secret-0123456789"
WEBHOOK_CHARSET = "1 to 256 characters of A-Z, a-z, 0-9, _ and -"
HOOK = "https://bot.example.com/telegram/webhook"


def env(**overrides: str | None) -> dict[str, str]:
    values = {"TELEGRAM_BOT_TOKEN": TELEGRAM_BOT_TOKEN}
    for name, value in overrides.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    return values


def telegram(section: dict[str, Any] | None = None, **overrides: str | None) -> TelegramSettings:
    return load(section or {}, env(**overrides))


def telegram_error(section: dict[str, Any] | None = None, **overrides: str | None) -> str:
    with pytest.raises(ConfigError) as info:
        load(section or {}, env(**overrides))
    message = str(info.value)
    assert "\n" not in message
    return message


# --- the registry ------------------------------------------------------------------------------------------------


def test_a_deployment_naming_no_channels_keeps_telegram_when_its_token_is_set(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    enabled = registry.configure(None, env())
    assert list(enabled) == ["telegram"] and isinstance(enabled["telegram"], TelegramSettings)
    assert "add `channels: {telegram: {}}`" in caplog.text  # one line saying how to say so


def test_without_channels_or_a_telegram_token_the_old_one_line_error_names_the_token() -> None:
    with pytest.raises(ConfigError) as info:
        registry.configure(None, {})
    assert info.value.key == "TELEGRAM_BOT_TOKEN" and "channels:" in str(info.value)


def test_a_deployment_without_telegram_needs_no_telegram_token() -> None:
    """A channel the YAML does not name is never configured, so its variables are never required."""
    bot = parse_bot_config({"slack": {"inbox_channel": "C0INBOX"}, "channels": {"telegram": {}}})
    with pytest.raises(ConfigError) as info:
        registry.configure(bot.channels, {})
    assert info.value.key == "TELEGRAM_BOT_TOKEN"
    settings = load_settings(SLACK)  # the environment itself asks for no channel's token
    assert settings.slack_bot_token.startswith("xoxb-")


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({"telegrm": {}}, "channels.telegrm: a customer channel this bot speaks (one of: telegram, website)"),
        ({}, "channels: at least one customer channel (one of: telegram, website)"),
        ({"telegram": "yes"}, "channels.telegram: a mapping of the channel's settings (or {} for the defaults)"),
        (
            {"telegram": {"token": "x"}},
            "channels.telegram.token: secrets come from the environment (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, "
            "SLACK_APP_TOKEN, TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET, WEBSITE_TOKEN_SECRET, "
            "WEBSITE_IDENTITY_SECRET, DATABASE_URL), not from the YAML file",
        ),
        (
            {"telegram": {"webhook": HOOK}},
            "channels.telegram.webhook: unknown key (expected one of: api_url, file_url, webhook_url, "
            "messages_per_second)",
        ),
    ],
)
def test_bad_channel_sections_are_refused_with_one_line(channels: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        bot = parse_bot_config({"slack": {"inbox_channel": "C0INBOX"}, "channels": channels})
        registry.configure(bot.channels, env())
    assert str(info.value) == message


def test_channels_may_be_listed_by_name() -> None:
    bot = parse_bot_config({"slack": {"inbox_channel": "C0INBOX"}, "channels": ["telegram"]})
    assert list(registry.configure(bot.channels, env())) == ["telegram"]


def test_labels_come_from_the_channel_packages() -> None:
    assert registry.label("telegram") == "Telegram"
    assert registry.label("kakao") == "Kakao"  # a channel no longer in the registry keeps a readable name


# --- the Telegram channel's settings ------------------------------------------------------------------------------


def test_telegram_defaults() -> None:
    s = telegram()
    assert s.bot_token == TELEGRAM_BOT_TOKEN
    assert s.api_url == "https://api.telegram.org/bot"
    assert s.file_url == "https://api.telegram.org/file/bot"
    assert s.webhook_url is None and s.webhook_secret is None and s.webhook_mode is False
    assert s.messages_per_second == 1.0


def test_telegram_every_variable_set() -> None:
    s = telegram(
        TELEGRAM_API_URL="http://127.0.0.1:8081/bot",
        TELEGRAM_FILE_URL="http://127.0.0.1:8081/files/bot",
        TELEGRAM_WEBHOOK_URL=HOOK,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TELEGRAM_MESSAGES_PER_SECOND="3",
    )
    assert (s.api_url, s.file_url) == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/files/bot")
    assert (s.webhook_url, s.webhook_secret, s.webhook_mode) == (HOOK, WEBHOOK_SECRET, True)
    assert s.messages_per_second == 3.0


def test_the_yaml_section_holds_what_is_not_secret_and_the_environment_wins() -> None:
    section = {"webhook_url": HOOK, "messages_per_second": 2, "api_url": "http://127.0.0.1:9/bot"}
    s = telegram(section, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    assert (s.webhook_url, s.messages_per_second, s.api_url) == (HOOK, 2.0, "http://127.0.0.1:9/bot")
    faster = telegram(section, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET, TELEGRAM_MESSAGES_PER_SECOND="5")
    assert faster.messages_per_second == 5
    assert telegram_error({"messages_per_second": 0}) == (
        "channels.telegram.messages_per_second: a number of messages per second from 0.01 to 100 (default 1)"
    )


def test_telegram_api_url_loses_trailing_slash_and_derives_file_url() -> None:
    s = telegram(TELEGRAM_API_URL="http://localhost:8081/bot/")
    assert (s.api_url, s.file_url) == ("http://localhost:8081/bot", "http://localhost:8081/file/bot")


def test_telegram_file_url_required_when_api_url_has_no_bot_suffix() -> None:
    assert telegram_error(TELEGRAM_API_URL="http://localhost:8081/telegram") == (
        'TELEGRAM_FILE_URL: required when TELEGRAM_API_URL does not end with "/bot"'
    )
    s = telegram(TELEGRAM_API_URL="http://localhost:8081/telegram", TELEGRAM_FILE_URL="http://localhost:8081/f/")
    assert s.file_url == "http://localhost:8081/f"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_telegram_token(value: str | None) -> None:
    assert telegram_error(TELEGRAM_BOT_TOKEN=value) == (
        "TELEGRAM_BOT_TOKEN: required for the Telegram channel: the token from @BotFather"
    )


@pytest.mark.parametrize(
    "token", ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "123456789", "123456789:", ":AAHdq", "abc:AAHdq", "123:AA Hd"]
)
def test_bad_telegram_bot_token(token: str) -> None:
    message = telegram_error(TELEGRAM_BOT_TOKEN=token)
    assert message == 'TELEGRAM_BOT_TOKEN: a token from @BotFather of the form "<digits>:<chars>"'
    assert token not in message


@pytest.mark.parametrize("name", ["TELEGRAM_API_URL", "TELEGRAM_FILE_URL", "TELEGRAM_WEBHOOK_URL"])
@pytest.mark.parametrize("url", ["slack.com/api/", "ftp://example.com/bot", "https://", "https:///path", "http://[::1"])
def test_bad_urls(name: str, url: str) -> None:
    extra = {"TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET} if name == "TELEGRAM_WEBHOOK_URL" else {}
    assert telegram_error(**{name: url}, **extra) == f"{name}: an absolute https:// or http:// URL"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://bot.example.com/telegram/webhook", "an https:// URL (Telegram calls webhooks over https only)"),
        ("https://bot.example.com/telegram", "the bot's public URL ending in /telegram/webhook"),
        ("https://bot.example.com/telegram/webhook/extra", "the bot's public URL ending in /telegram/webhook"),
        ("https://bot.example.com/telegram/webhook?x=1", "the bot's public URL ending in /telegram/webhook"),
    ],
)
def test_a_webhook_url_telegram_could_not_call_is_refused(url: str, expected: str) -> None:
    message = telegram_error(TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    assert message.startswith(f"TELEGRAM_WEBHOOK_URL: {expected}")
    assert telegram(TELEGRAM_WEBHOOK_URL=HOOK + "/", TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET).webhook_mode


def test_webhook_url_without_secret() -> None:
    assert telegram_error(TELEGRAM_WEBHOOK_URL=HOOK) == (
        f"TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set: {WEBHOOK_CHARSET}"
    )


@pytest.mark.parametrize("secret", ["has space", "a" * 257, "héllo", "a/b", "a+b=", "secret!"])
def test_bad_webhook_secret_charset(secret: str) -> None:
    message = telegram_error(TELEGRAM_WEBHOOK_URL=HOOK, TELEGRAM_WEBHOOK_SECRET=secret)
    assert message == f"TELEGRAM_WEBHOOK_SECRET: {WEBHOOK_CHARSET}"
    assert secret not in message


@pytest.mark.parametrize("secret", ["a", "a" * 256, "abc_DEF-123"])
def test_good_webhook_secret(secret: str) -> None:
    assert telegram(TELEGRAM_WEBHOOK_URL=HOOK, TELEGRAM_WEBHOOK_SECRET=secret).webhook_secret == secret


def test_telegram_settings_never_show_a_secret() -> None:
    s = telegram(TELEGRAM_WEBHOOK_URL=HOOK, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    for text in (repr(s), str(s), s.describe()):
        for secret in (TELEGRAM_BOT_TOKEN, TELEGRAM_BOT_TOKEN.partition(":")[2], WEBHOOK_SECRET):
            assert secret not in text
    assert "bot_token='***'" in repr(s) and "webhook_secret='***'" in repr(s)
    leaked = f"POST https://api.telegram.org/bot{TELEGRAM_BOT_TOKEN}/getMe secret={WEBHOOK_SECRET}"
    assert redact(leaked, s) == "POST https://api.telegram.org/bot***/getMe secret=***"
    encoded = TELEGRAM_BOT_TOKEN.replace(":", "%3A")
    assert redact(f"token={encoded} part={TELEGRAM_BOT_TOKEN.partition(':')[2]}", s) == "token=*** part=***"


def test_a_whole_deployment_redacts_every_channel_s_secrets(tmp_path: Any) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("slack: {inbox_channel: C0INBOX}\nchannels: {telegram: {}}\n", encoding="utf-8")
    config = load_deployment({**SLACK, **env(), "BOT_CONFIG": str(path)})
    out = redact(f"{SLACK['SLACK_BOT_TOKEN']} {TELEGRAM_BOT_TOKEN}", config)
    assert out == "*** ***"
