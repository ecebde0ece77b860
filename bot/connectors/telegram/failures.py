"""python-telegram-bot's errors sorted into what the delivery worker does next: wait, retry, or give up."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.domain.errors import DeliveryError, PermanentFailure, RateLimited, TemporaryFailure


def telegram_failure(exc: BaseException) -> DeliveryError:
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that the int form will become a timedelta; we take both
            warnings.simplefilter("ignore")
            value = exc.retry_after
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        return RateLimited(seconds, "Telegram flood control")
    if isinstance(exc, Forbidden):
        text = str(exc.message).lower()
        if "blocked" in text:
            return PermanentFailure("the customer blocked the bot on Telegram")
        if "deactivated" in text:
            return PermanentFailure("the customer's Telegram account was deleted")
        return PermanentFailure(f"Telegram refused: {exc.message}")
    if isinstance(exc, InvalidToken):
        return PermanentFailure("the Telegram bot token is invalid or was revoked")
    if isinstance(exc, BadRequest):
        if "chat not found" in str(exc.message).lower():
            return PermanentFailure("the customer's Telegram chat no longer exists")
        return PermanentFailure(f"Telegram rejected the message: {exc.message}")
    if isinstance(exc, TimedOut | NetworkError):
        return TemporaryFailure(f"Telegram unreachable: {exc}")
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")
