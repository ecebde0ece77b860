"""Who is in a user group (S…), cached a minute: category owners may be groups, and "my categories" on the App
Home must include the categories a person owns through one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.answers import SLACK_FAILURES, describe, slack_call

log = logging.getLogger(__name__)


def is_group(owner: str) -> bool:
    return owner.startswith("S")


class GroupMembers:
    def __init__(
        self, client: AsyncWebClient, *, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group: str) -> frozenset[str]:
        """The group's members; the last answer (or nobody) while Slack cannot say."""
        cached = self._cache.get(group)
        if cached is not None and self.clock() - cached[0] < self.ttl:
            return cached[1]
        try:
            page = await slack_call(self.client.usergroups_users_list(usergroup=group))
        except SLACK_FAILURES as exc:
            log.warning("cannot list the members of user group %s: %s", group, describe(exc))
            return cached[1] if cached else frozenset()
        users = frozenset(str(u) for u in page.get("users") or [])
        self._cache[group] = (self.clock(), users)
        return users
