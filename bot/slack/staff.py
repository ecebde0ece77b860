"""Who counts as staff: members of the staff channels and of the configured user groups, as Slack says.

Asked of Slack (``conversations.members``, ``usergroups.users.list``) and cached briefly: membership changes rarely,
and a slash command must be answered within three seconds. A person not in the cache triggers one early refresh
(someone just joined), at most every ``miss_refresh`` seconds. When Slack cannot be reached the last answer is kept;
with no answer at all nobody is let in. Requests that waited for an attempt take its outcome, and when Slack answered
but let the bot read none of the staff channels (it was left out of them) the attempt is not repeated for
``retry_after_failure`` seconds: such a bot must not ask Slack about every channel again for each command (a burst
of commands would reach Slack's rate limit and wait in line). After an outage the next request asks again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from enum import Enum

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.answers import SLACK_FAILURES, describe, refusal, slack_call

log = logging.getLogger(__name__)


class Access(Enum):
    STAFF = "staff"
    REFUSED = "refused"
    UNKNOWN = "unknown"  # Slack could not be asked and nothing is cached


class _Unreadable(Exception):
    """Slack answered, but for none of the staff channels and groups (the bot is in none of them)."""


class StaffDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        channels: Sequence[str],
        groups: Sequence[str] = (),
        *,
        ttl: float = 60.0,
        miss_refresh: float = 10.0,
        retry_after_failure: float = 2.0,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.channels = tuple(channels)
        self.groups = tuple(groups)
        self.ttl = ttl
        self.miss_refresh = miss_refresh
        self.retry_after_failure = retry_after_failure
        self.timeout = timeout
        self.clock = clock
        self._members: frozenset[str] | None = None
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")  # when the last attempt to ask Slack ended, whatever its outcome
        self._quiet_until = float("-inf")  # no attempt before this (the bot was left out of its staff channels)
        self._lock = asyncio.Lock()

    async def check(self, user_id: str) -> Access:
        """Whether ``user_id`` is staff right now (as of at most ``ttl`` seconds ago)."""
        now = self.clock()
        age = now - self._fetched_at
        stale = self._members is None or age > self.ttl or (user_id not in self._members and age > self.miss_refresh)
        if stale and now >= self._quiet_until:
            await self._refresh(asked_at=now)
        if self._members is None:
            return Access.UNKNOWN
        return Access.STAFF if user_id in self._members else Access.REFUSED

    async def _refresh(self, *, asked_at: float) -> None:
        async with self._lock:
            started = self.clock()
            if self._attempted_at >= asked_at or (self._members is not None and started - self._fetched_at < 1.0):
                return  # another request asked Slack while this one waited for the lock: its outcome stands
            try:
                members = await asyncio.wait_for(self._fetch(), self.timeout)
            except (*SLACK_FAILURES, _Unreadable) as exc:
                log.warning("could not read the staff channels' members from Slack: %s", describe(exc))
                self._attempted_at = self.clock()
                if isinstance(exc, _Unreadable):
                    self._quiet_until = self._attempted_at + self.retry_after_failure
                if self._members is not None:
                    self._fetched_at = started - self.ttl + self.miss_refresh  # keep the old answer a little longer
                return
            self._members = frozenset(members)
            self._fetched_at = started
            self._attempted_at = self.clock()

    async def _fetch(self) -> set[str]:
        members: set[str] = set()
        answered = 0
        for channel in self.channels:
            cursor = None
            try:
                while True:
                    page = await slack_call(
                        self.client.conversations_members(channel=channel, cursor=cursor, limit=200)
                    )
                    members.update(page.get("members") or [])
                    cursor = (page.get("response_metadata") or {}).get("next_cursor")
                    if not cursor:
                        break
                answered += 1
            except SlackApiError as exc:
                if refusal(exc).temporary:  # an outage says nothing about who is staff: keep the last answer
                    raise
                log.warning("cannot list the members of %s: %s", channel, refusal(exc).error)
        for group in self.groups:
            try:
                page = await slack_call(self.client.usergroups_users_list(usergroup=group))
                members.update(page.get("users") or [])
                answered += 1
            except SlackApiError as exc:
                if refusal(exc).temporary:
                    raise
                log.warning("cannot list the members of user group %s: %s", group, refusal(exc).error)
        if not answered and (self.channels or self.groups):
            raise _Unreadable("no staff channel or user group could be read")
        return members
