"""Display names of Slack users, for the archive and for mentions a customer reads (``<@U1>`` -> ``@Alice``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.answers import SLACK_FAILURES, describe, slack_call

log = logging.getLogger(__name__)


class SlackNames:
    """Caches ``users.info`` for an hour (a renamed staff member is read anew); a slow or failing lookup falls back
    to the id rather than delay an acknowledgement, and the id is never shown to a customer as a name."""

    def __init__(
        self, client: AsyncWebClient, *, timeout: float = 1.5, ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.client = client
        self.timeout = timeout
        self.ttl = ttl
        self.clock = clock
        self._names: dict[str, tuple[str, float]] = {}

    async def name(self, user_id: str) -> str:
        """The user's display name, or their id when Slack does not tell it in time."""
        cached = self._names.get(user_id)
        if cached is not None and self.clock() - cached[1] < self.ttl:
            return cached[0]
        try:
            response = await asyncio.wait_for(slack_call(self.client.users_info(user=user_id)), self.timeout)
        except SLACK_FAILURES as exc:
            log.warning("could not look up Slack user %s: %s", user_id, describe(exc))
            return cached[0] if cached is not None else user_id
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
        self._names[user_id] = (str(name or user_id), self.clock())
        return self._names[user_id][0]

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        ids = sorted(set(user_ids))
        resolved = await asyncio.gather(*(self.name(u) for u in ids))
        return dict(zip(ids, resolved, strict=True))

    def shown(self, user_id: str) -> str:
        """The name a customer may read for this user: empty (no name shown) when Slack never told it."""
        cached = self._names.get(user_id)
        return cached[0] if cached is not None else ""
