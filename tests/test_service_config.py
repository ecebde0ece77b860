"""The settings of running as a service: LOG_FORMAT, DRAIN_SECONDS, METRICS_TOKEN and METRICS_BIND, each checked
with one line that names the variable, and none of them needed by a deployment that predates them."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "TELEGRAM_BOT_TOKEN": "1:a"}
TOKEN = "metrics-token-0123456789abcdef"


def error(**env: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings({**BASE, **env})
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_keep_an_existing_deployment_as_it_was() -> None:
    settings = load_settings(BASE)
    assert settings.log_format == "text" and settings.drain_seconds == 20.0
    assert settings.metrics_token is None and settings.metrics_bind is None


def test_every_setting_read() -> None:
    settings = load_settings(
        {**BASE, "LOG_FORMAT": "JSON", "DRAIN_SECONDS": "7.5", "METRICS_TOKEN": TOKEN, "METRICS_BIND": ":9100"}
    )
    assert settings.log_format == "json" and settings.drain_seconds == 7.5
    assert settings.metrics_token == TOKEN and settings.metrics_bind == ("0.0.0.0", 9100)
    assert load_settings({**BASE, "METRICS_BIND": "[::1]:9100"}).metrics_bind == ("::1", 9100)
    assert load_settings({**BASE, "DRAIN_SECONDS": "0"}).drain_seconds == 0


def test_the_metrics_token_is_a_secret() -> None:
    settings = load_settings({**BASE, "METRICS_TOKEN": TOKEN})
    assert TOKEN in settings.secret_values() and TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: one of text, json (default text)"),
        ({"DRAIN_SECONDS": "soon"}, "DRAIN_SECONDS: a number of seconds from 0 to 3600 (default 20)"),
        ({"DRAIN_SECONDS": "-1"}, "DRAIN_SECONDS: a number of seconds from 0 to 3600 (default 20)"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN: 16 to 256 printable characters without spaces, or unset"),
        ({"METRICS_TOKEN": "has a space in it 0123"}, "METRICS_TOKEN: 16 to 256 printable characters"),
        ({"METRICS_BIND": "9100"}, 'METRICS_BIND: host:port for /metrics, e.g. "127.0.0.1:9100" or ":9100"'),
        ({"METRICS_BIND": "localhost:70000"}, "METRICS_BIND: host:port for /metrics"),
        ({"METRICS_BIND": ":3000"}, "METRICS_BIND: a port other than PORT (3000)"),
        ({"METRICS_BIND": "127.0.0.1:8080", "PORT": "8080"}, "METRICS_BIND: a port other than PORT (8080)"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable(env: dict[str, str], expected: str) -> None:
    assert error(**env).startswith(expected)


def test_a_wrong_token_is_never_echoed() -> None:
    assert "p@ss word" not in error(METRICS_TOKEN="p@ss word with spaces")
