"""Read-only questions to the Bot API for ``check-config --online``: is the token valid, and is the webhook set
where one is configured (and nowhere when the bot polls)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.connectors.base import CheckResult
from bot.connectors.telegram.settings import TelegramSettings


async def telegram_checks(bot: Bot, settings: TelegramSettings) -> list[CheckResult]:
    """getMe, then getWebhookInfo; nothing is set, deleted or sent."""
    try:
        me = await bot.get_me()
    except InvalidToken:
        return [CheckResult("Telegram token", False, "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): copy "
                            "the token @BotFather gives for the bot (/mybots → API Token)")]  # fmt: skip
    except TelegramError as exc:
        return [CheckResult("Telegram token", False, f"Telegram did not answer getMe ({exc}): check TELEGRAM_API_URL "
                            "and the network")]  # fmt: skip
    results = [CheckResult("Telegram token", True, f"valid, the bot is @{me.username}")]
    try:
        info = await bot.get_webhook_info()
    except TelegramError as exc:
        return [*results, CheckResult("Telegram webhook", False, f"Telegram did not answer getWebhookInfo ({exc})")]
    return [*results, _webhook(settings, info.url or "", info.last_error_message, info.last_error_date)]


def _webhook(settings: TelegramSettings, url: str, last_error: str | None, when: datetime | None) -> CheckResult:
    name = "Telegram webhook"
    if settings.webhook_url is None:
        if url:
            return CheckResult(name, False, f"a webhook is set ({url}) but TELEGRAM_WEBHOOK_URL is not: starting in "
                               "polling mode removes it; set TELEGRAM_WEBHOOK_URL to that URL to keep it")  # fmt: skip
        return CheckResult(name, True, "none set: the bot long-polls getUpdates")
    if not url:
        return CheckResult(name, False, f"not set: the bot sets it to {settings.webhook_url} when it starts; "
                           "start it, then check again")  # fmt: skip
    if url != settings.webhook_url:
        return CheckResult(name, False, f"set to {url}, not TELEGRAM_WEBHOOK_URL ({settings.webhook_url}): is another "
                           "deployment using this bot token? The bot sets its own when it starts")  # fmt: skip
    if last_error:
        at = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "recently"
        return CheckResult(name, False, f"set to {url}, but Telegram's last delivery failed ({at}): {last_error}; "
                           "check that the URL reaches the bot's /telegram/webhook")  # fmt: skip
    return CheckResult(name, True, f"set to {url}")
