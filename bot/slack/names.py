"""Display names of Slack users, for the archive and for mentions a customer reads (``<@U1>`` -> ``@Alice``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.answers import SLACK_FAILURES, describe, slack_call

log = logging.getLogger(__name__)


class SlackNames:
    """Caches ``users.info``; a slow or failing lookup falls back to the id rather than delay an acknowledgement."""

    def __init__(self, client: AsyncWebClient, *, timeout: float = 1.5) -> None:
        self.client = client
        self.timeout = timeout
        self._names: dict[str, str] = {}

    async def name(self, user_id: str) -> str:
        cached = self._names.get(user_id)
        if cached is not None:
            return cached
        try:
            response = await asyncio.wait_for(slack_call(self.client.users_info(user=user_id)), self.timeout)
        except SLACK_FAILURES as exc:
            log.warning("could not look up Slack user %s: %s", user_id, describe(exc))
            return user_id
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
        self._names[user_id] = str(name or user_id)
        return self._names[user_id]

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        ids = sorted(set(user_ids))
        resolved = await asyncio.gather(*(self.name(u) for u in ids))
        return dict(zip(ids, resolved, strict=True))
