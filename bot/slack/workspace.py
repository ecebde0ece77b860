"""The bot's standing with Slack: is the token accepted, what is the workspace's URL, is Socket Mode connected.

Start-up never waits for Slack: customers keep writing during a Slack outage (their messages wait in the queue),
so the workspace URL is remembered from the last start and Socket Mode connects in the background. A token Slack
refuses is different: it will not start working by itself, so it is said once, loudly, and nothing is sent (jobs
wait rather than fail for good).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.connectors.base import Health
from bot.slack.answers import SLACK_FAILURES, describe, refusal, slack_call
from bot.store.database import Database

log = logging.getLogger(__name__)

WORKSPACE_URL_KEY = "slack.workspace_url"
FALLBACK_WORKSPACE_URL = "https://slack.com/"  # slack.com/archives/... links redirect into the signed-in workspace
class _OneLine(logging.Filter):
    """The Socket Mode client logs every failed connection attempt with a traceback at ERROR; it is retried, and an
    unreachable Slack is an outage, not a bug: one WARNING line each."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            error = record.exc_info[1]
            record.msg, record.args = f"{record.getMessage()} ({type(error).__name__}: {error})", None
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


socket_log = logging.getLogger("bot.slack.socket_mode")
socket_log.addFilter(_OneLine())

_REFUSED = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_permission"}


class SlackConnection:
    def __init__(self, client: AsyncWebClient, db: Database, app_token: str | None, *, timeout: float = 5.0) -> None:
        self.client = client
        self.db = db
        self.app_token = app_token
        self.timeout = timeout
        self.accepted = True
        self._health = Health("starting", "asking Slack who we are")
        self._socket_task: asyncio.Task[None] | None = None
        self._socket: Any = None

    def health(self) -> Health:
        return self._health

    async def workspace_url(self) -> str:
        """The workspace URL for thread links, asked of Slack once and remembered, so a start during a Slack
        outage still works and links stay right."""
        try:
            auth = await asyncio.wait_for(slack_call(self.client.auth_test()), self.timeout)
            url = str(auth["url"])
        except SlackApiError as exc:
            error = refusal(exc).error
            if error in _REFUSED:
                reason = f"Slack refused SLACK_BOT_TOKEN ({error})"
                log.error("%s: copy the Bot User OAuth Token (xoxb-...) again from the app's OAuth page; "
                          "nothing is posted to Slack until then", reason)  # fmt: skip
                self.accepted = False
                self._health = Health("failed", reason)
                return await self._remembered()
            return await self._unreachable(exc)
        except (*SLACK_FAILURES, KeyError) as exc:
            return await self._unreachable(exc)
        async with self.db.transaction() as tx:
            await tx.archive.put_setting(WORKSPACE_URL_KEY, url)
        self._health = Health("ok") if not self.app_token else Health("starting", "connecting to Slack (Socket Mode)")
        return url

    async def _unreachable(self, exc: BaseException) -> str:
        """Slack is down or slow: the queue waits it out (HTTP mode needs nothing else of Slack to take requests)."""
        remembered = await self._remembered()
        log.warning("Slack auth.test failed at start (%s); using %s", describe(exc), remembered)
        self._health = Health("ok") if not self.app_token else Health("starting", "connecting to Slack (Socket Mode)")
        return remembered

    async def _remembered(self) -> str:
        async with self.db.reading() as tx:
            return await tx.archive.get_setting(WORKSPACE_URL_KEY) or FALLBACK_WORKSPACE_URL

    def connect_socket_mode(self, app: Any) -> None:
        """Socket Mode connects in the background, again and again until it is connected: an unreachable Slack
        must neither hold up the start nor keep the bot from stopping."""
        if self.app_token is None or not self.accepted:
            return
        self._socket_task = asyncio.create_task(self._connect_socket(app), name="slack-socket-mode")

    async def _connect_socket(self, app: Any) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        failures = 0
        while True:
            self._health = Health("starting", "connecting to Slack (Socket Mode)")
            self._socket = AsyncSocketModeHandler(app, self.app_token, logger=socket_log)
            try:
                await self._socket.connect_async()
                self._health = Health("ok")
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                log.warning("could not connect to Slack over Socket Mode (%s); trying again in %.1fs", exc, delay)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._socket.close_async(), 2)
                self._socket = None
                await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._socket_task is not None:
            self._socket_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._socket_task
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._socket.close_async(), 3)
