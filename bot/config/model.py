"""What the configuration becomes: frozen settings from the environment and routing from the YAML file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from bot.config.behaviour import AfterClose, Reactions, Replies, Resurface
from bot.config.reports import Reports
from bot.config.saved_replies import AppHomeSettings
from bot.config.secrets import mask_url_password, redact, url_password
from bot.config.toolkit import SurveySettings, TagSettings
from bot.domain.models import BusinessHours, Category
from bot.domain.saved_replies import Entry

DEFAULT_STAGES = ("new lead", "contacting", "contacted", "qualified", "closed")


@dataclass(frozen=True)
class BotConfig:
    """The routing and wording from the YAML file: safe to commit, holds no secret."""

    inbox_channel: str
    language: str  # the customers' language when theirs is not known or not spoken (bot.domain.i18n.pick_language)
    categories: Mapping[str, Category]
    default_category: str | None
    greeting: str | None
    auto_reply: str | None
    staff_channels: tuple[str, ...]
    ask_category: bool = False  # offer the categories as buttons to a customer opening a conversation
    business_hours: Mapping[str, BusinessHours] = field(default_factory=lambda: MappingProxyType({}))
    after_hours_reply: str | None = None  # texts.after_hours; None: the built-in text for `language`
    choose_category: str | None = None  # texts.choose_category; None: the built-in text
    staff_groups: tuple[str, ...] = ()  # slack.staff_groups: user groups whose members count as staff too
    crm_stages: tuple[str, ...] = DEFAULT_STAGES  # crm.stages: the sales pipeline a customer moves along
    channels: Mapping[str, Any] | None = None  # channels: each enabled customer channel's section; None: not named
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))  # name -> lang -> text
    replies: Replies = field(default_factory=Replies)
    resurface: Resurface = field(default_factory=Resurface)
    after_close: AfterClose = field(default_factory=AfterClose)
    reactions: Reactions = field(default_factory=Reactions)
    saved_replies: tuple[Entry, ...] = ()  # saved_replies: the library's seed, each entry added once (by title)
    app_home: AppHomeSettings = field(default_factory=AppHomeSettings)
    surveys: SurveySettings = field(default_factory=SurveySettings)  # satisfaction after Close (bot.config.toolkit)
    tags: TagSettings = field(default_factory=TagSettings)  # what conversations are about (bot.config.toolkit)
    reports: Reports = field(default_factory=Reports)  # reports: time zone, chart font, weekly digest

    def hours_for(self, category: str | None) -> BusinessHours | None:
        """The business hours that apply to a category (or to an uncategorised inquiry); None: always open."""
        conf = self.categories.get(category) if category else None
        name = conf.hours if conf is not None and conf.hours else "default"
        return self.business_hours.get(name)


@dataclass(frozen=True, repr=False)
class Settings:
    """Credentials and deployment knobs from the environment; its repr is safe to log."""

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None
    slack_api_url: str
    database_url: str
    port: int
    bot_config_path: Path
    worker_id: str
    slack_posts_per_second: float = 1.0  # SLACK_POSTS_PER_SECOND: pace per Slack channel
    log_level: str = "INFO"  # LOG_LEVEL
    log_format: str = "text"  # LOG_FORMAT: text or json (one object a line)
    drain_seconds: float = 20.0  # DRAIN_SECONDS: how long a stop waits for deliveries under way
    metrics_token: str | None = None  # METRICS_TOKEN: /metrics wants "Authorization: Bearer <token>"
    metrics_bind: tuple[str, int] | None = None  # METRICS_BIND: serve /metrics there, not on PORT

    @property
    def socket_mode(self) -> bool:
        """Slack Socket Mode when an app token is set, otherwise HTTP mode at POST /slack/events."""
        return self.slack_app_token is not None

    def secret_values(self) -> tuple[str, ...]:
        values = [self.slack_bot_token, self.slack_signing_secret, self.slack_app_token or ""]
        values.append(url_password(self.database_url) or "")
        values.append(self.metrics_token or "")
        return tuple(v for v in values if v)

    def __repr__(self) -> str:
        def secret(value: str | None) -> str:
            return "None" if value is None else "'***'"

        parts = [
            f"slack_bot_token={secret(self.slack_bot_token)}",
            f"slack_signing_secret={secret(self.slack_signing_secret)}",
            f"slack_app_token={secret(self.slack_app_token)}",
            f"slack_api_url={mask_url_password(self.slack_api_url)!r}",
            f"database_url={mask_url_password(self.database_url)!r}",
            f"port={self.port!r}",
            f"bot_config_path={self.bot_config_path!r}",
            f"worker_id={self.worker_id!r}",
            f"slack_posts_per_second={self.slack_posts_per_second!r}",
            f"log_level={self.log_level!r}",
            f"log_format={self.log_format!r}",
            f"drain_seconds={self.drain_seconds!r}",
            f"metrics_token={secret(self.metrics_token)}",
            f"metrics_bind={self.metrics_bind!r}",
        ]
        # A secret can hide inside another value (a webhook url carrying the bot token, say): redact the lot.
        return redact(f"Settings({', '.join(parts)})", self)


class ChannelSettings(Protocol):
    """A customer channel's validated settings (see bot.connectors.base.ChannelSettings)."""

    channel: str

    def secret_values(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Config:
    """Everything the bot needs to start: the environment's settings, the YAML file, and the enabled channels."""

    settings: Settings
    bot: BotConfig
    channels: Mapping[str, Any] = field(default_factory=dict)  # name -> bot.connectors.base.ChannelSettings

    def secret_values(self) -> tuple[str, ...]:
        values = list(self.settings.secret_values())
        for channel in self.channels.values():
            values.extend(channel.secret_values())
        return tuple(values)

