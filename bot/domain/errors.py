"""How a delivery failed, in words every side understands: wait, retry, or stop and tell the team."""

from __future__ import annotations


class DeliveryError(Exception):
    """A job could not be delivered this time; the subclass says what to do next."""


class RateLimited(DeliveryError):
    """The platform said 429: wait ``retry_after`` seconds; not counted as a failure."""

    def __init__(self, retry_after: float, detail: str = "rate limited") -> None:
        super().__init__(f"{detail} (retry after {retry_after:g}s)")
        self.retry_after = retry_after


class TemporaryFailure(DeliveryError):
    """Outage, timeout, refused connection, 5xx: retry with backoff, in order, for as long as it takes."""


class PermanentFailure(DeliveryError):
    """Retrying cannot help (blocked by the customer, channel gone, token revoked): stop and make it visible."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
