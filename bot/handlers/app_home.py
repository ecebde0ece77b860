"""The App Home tab: published (views.publish) when a person opens it, and redrawn when something changes for
them: a conversation they hold, act on or own the category of is opened, claimed, closed, moved..., or the saved
replies change. Changes are read from the archived events every ``interval`` seconds, so a burst of them (and
changes made by another process) costs each person one publish per interval: the debounce."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import BotConfig
from bot.domain.tasks import cancelled
from bot.handlers.home_view import PAGE_ACTION, home_view, outsider_view
from bot.slack.answers import SLACK_FAILURES, describe, slack_call
from bot.slack.group_members import GroupMembers, is_group
from bot.slack.staff import Access, StaffDirectory
from bot.usecases.home import Home

log = logging.getLogger(__name__)

LISTS = ("mine", "attention", "library")


class AppHome:
    def __init__(
        self, client: AsyncWebClient, home: Home, staff: StaffDirectory, config: BotConfig, team_url: str, *,
        interval: float,
    ) -> None:  # fmt: skip
        self.client = client
        self.home = home
        self.staff = staff
        self.config = config
        self.team_url = team_url
        self.interval = interval
        self.known: set[str] = set()  # staff who opened their home since this process started
        self.pages: dict[str, dict[str, int]] = {}
        self.groups = GroupMembers(client)
        self._dirty: set[str] = set()
        self._cursor: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def publish(self, user: str) -> bool:
        pages = self.pages.setdefault(user, {})
        data = await self.home.read(user, pages, await self.owned(user))
        pages.update(mine=data.mine.page, attention=data.attention.page, library=data.library.page)
        view = home_view(data, self.config, self.team_url, pages)
        try:
            await slack_call(self.client.views_publish(user_id=user, view=view))
        except SLACK_FAILURES as exc:
            log.warning("could not publish the App Home of %s: %s", user, describe(exc))
            return False
        return True

    async def owned(self, user: str) -> tuple[str, ...]:
        """The categories ``user`` owns, named as an owner or through a user group that is one."""
        owned = []
        for key, category in self.config.categories.items():
            if user in category.owners:
                owned.append(key)
                continue
            for owner in category.owners:
                if is_group(owner) and user in await self.groups.members(owner):
                    owned.append(key)
                    break
        return tuple(owned)

    async def opened(self, user: str) -> None:
        if await self.staff.check(user) != Access.STAFF:
            try:
                await slack_call(self.client.views_publish(user_id=user, view=outsider_view()))
            except SLACK_FAILURES as exc:
                log.warning("could not publish the App Home of %s: %s", user, describe(exc))
            return
        self.known.add(user)
        await self.publish(user)

    async def turn_page(self, user: str, value: str) -> None:
        name, _, raw = value.partition(":")
        if name in LISTS and raw.isdigit():
            self.pages.setdefault(user, {})[name] = int(raw)
            self.known.add(user)  # only staff can click (bot.handlers.access)
            await self.publish(user)

    def library_changed(self) -> None:
        """Everyone's home lists the library: all of them are redrawn at the next round."""
        self._dirty |= self.known

    async def refresh(self) -> int:
        """One round: redraw the home of every person concerned by what changed since the last round; returns how
        many homes were published."""
        if self._cursor is None:
            self._cursor = await self.home.cursor()
        people, self._cursor = await self.home.concerned_since(self._cursor)
        for group in [p for p in people if is_group(p)]:  # a category's owners given as a user group
            people |= await self.groups.members(group)
        due = sorted((self._dirty | people) & self.known)
        self._dirty.clear()
        published = 0
        for user in due:
            published += await self.publish(user)
        return published

    async def start(self) -> None:
        self._cursor = await self.home.cursor()  # what happened before the start is in every fresh publish
        self._task = asyncio.create_task(self._run(), name="app-home-refresh")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing App Homes failed; trying again in %.0fs", self.interval)

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None


def register(app: AsyncApp, app_home: AppHome) -> None:
    @app.event("app_home_opened")
    async def on_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            await app_home.opened(str(event["user"]))

    @app.action(re.compile(f"^{PAGE_ACTION}:"))
    async def on_page(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        await app_home.turn_page(body["user"]["id"], str(action.get("value") or ""))
