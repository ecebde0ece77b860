"""The team's toolkit in Slack, built and started in one place: the saved replies (modals, the shortcut, the
thread's button) and the App Home that lists them beside each person's inquiries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import BotConfig
from bot.handlers import app_home as app_home_handlers
from bot.handlers import saved_replies as saved_reply_handlers
from bot.handlers.app_home import AppHome
from bot.handlers.background import Background
from bot.handlers.buttons import Whisper
from bot.slack.names import SlackNames
from bot.slack.staff import StaffDirectory
from bot.store.database import Database
from bot.usecases.conversations import Conversations
from bot.usecases.home import Home
from bot.usecases.saved_replies import SavedReplies


class Toolkit:
    def __init__(
        self, app: AsyncApp, client: AsyncWebClient, db: Database, config: BotConfig, *, service: Conversations,
        names: SlackNames, whisper: Whisper, background: Background, staff: StaffDirectory, team_url: str,
        clock: Callable[[], datetime],
    ) -> None:  # fmt: skip
        self.config = config
        self.saved_replies = SavedReplies(db, config, clock=clock)
        self.home = AppHome(
            client, Home(db, config, clock=clock), staff, config, team_url, interval=config.app_home.refresh_seconds
        )
        handlers = saved_reply_handlers.SavedReplyHandlers(
            client, self.saved_replies, service, names, whisper, background, self.home.library_changed
        )
        saved_reply_handlers.register(app, handlers)
        app_home_handlers.register(app, self.home)

    async def start(self) -> None:
        """Seed the library from the YAML (what it never added before), then keep homes fresh."""
        await self.saved_replies.seed(self.config.saved_replies)
        await self.home.start()

    async def stop(self) -> None:
        await self.home.stop()
