"""The composition root: builds every part from the configuration, runs them together, stops them in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.connectors.telegram.connector import WEBHOOK_PATH, TelegramConnector
from bot.delivery.customer import SendToCustomer, SlackFiles
from bot.delivery.pacing import Pacer, rates_for
from bot.delivery.worker import DeliveryWorker, JobHandler, WorkerSettings
from bot.domain.i18n import customer_texts
from bot.handlers import access, buttons, commands, inquiries, thread_replies
from bot.handlers import customers as customer_handlers
from bot.handlers import triage as triage_handlers
from bot.handlers.background import Background
from bot.handlers.http import slack_events_handler
from bot.slack.answers import SLACK_FAILURES, describe, slack_call
from bot.slack.delivery import OpenThread, PostInbound, PostNotice, UpdateHeader
from bot.slack.names import SlackNames
from bot.slack.routing_delivery import MoveThread, PostEscalation, RetireHeader
from bot.slack.staff import StaffDirectory
from bot.store.database import Database
from bot.store.engine import create_engine, migrate
from bot.usecases.conversations import (
    OPEN_THREAD,
    POST_INBOUND,
    POST_NOTICE,
    SEND_TO_CUSTOMER,
    UPDATE_HEADER,
    Conversations,
)
from bot.usecases.crm import Customers
from bot.usecases.timers import TimerLoop
from bot.usecases.triage import MOVE_THREAD, POST_ESCALATION, RETIRE_HEADER, Triage
from bot.web import build_web_app

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The running bot, as tests and the CLI see it."""

    config: Config
    db: Database
    service: Conversations
    slack: AsyncWebClient
    telegram: TelegramConnector
    worker: DeliveryWorker
    port: int
    ready: bool = False
    triage: Triage | None = None
    timers: TimerLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


WORKSPACE_URL_KEY = "slack.workspace_url"
FALLBACK_WORKSPACE_URL = "https://slack.com/"  # slack.com/archives/... links redirect into the signed-in workspace


async def _workspace_url(slack: AsyncWebClient, db: Database) -> str:
    """The workspace URL for thread links, asked of Slack once and remembered, so a start during a Slack outage
    still works (customers keep writing; their messages wait in the queue) and links stay right."""
    try:
        auth = await slack_call(slack.auth_test())
        url = str(auth["url"])
    except SLACK_FAILURES as exc:
        async with db.transaction() as tx:
            remembered = await tx.archive.get_setting(WORKSPACE_URL_KEY)
        failure = describe(exc)
        log.warning("Slack auth.test failed at start (%s); using %s", failure, remembered or FALLBACK_WORKSPACE_URL)
        return remembered or FALLBACK_WORKSPACE_URL
    async with db.transaction() as tx:
        await tx.archive.put_setting(WORKSPACE_URL_KEY, url)
    return url


@contextlib.asynccontextmanager
async def running(
    config: Config,
    *,
    host: str = "0.0.0.0",
    port: int | None = None,
    worker_settings: WorkerSettings | None = None,
    pacer: Pacer | None = None,
    telegram_poll_timeout: int = 25,
    api_timeout: float = 15.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    timer_poll_interval: float = 5.0,
) -> AsyncIterator[Runtime]:
    """Run the bot until the block exits; the keyword arguments tune timing (tests, benchmarks)."""
    settings = config.settings
    engine = create_engine(settings.database_url)
    await migrate(engine)
    db = Database(engine)
    texts = customer_texts(
        config.bot.language,
        greeting=config.bot.greeting,
        auto_reply=config.bot.auto_reply,
        after_hours=config.bot.after_hours_reply,
        choose_category=config.bot.choose_category,
    )
    triage = Triage(db, config.bot, texts, clock=clock)  # routing and timing, hooked into the use cases
    service = Conversations(db, config.bot, texts, clock=clock, hooks=triage)
    timers = TimerLoop(db, triage, owner=settings.worker_id, clock=clock, poll_interval=timer_poll_interval)
    session = aiohttp.ClientSession()  # shared by the Slack Web API client and Slack file downloads
    slack = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=api_timeout,  # type: ignore[arg-type]
        retry_handlers=[],  # the outbox retries, in order; the client must not retry behind its back
    )
    telegram = TelegramConnector(
        settings, service, poll_timeout=telegram_poll_timeout, api_timeout=api_timeout, picks=triage
    )
    runner: web.AppRunner | None = None
    socket_handler = None
    worker: DeliveryWorker | None = None
    try:
        team_url = await _workspace_url(slack, db)
        connectors = {telegram.channel: telegram}
        slack_args = (slack, db, config.bot, connectors)
        handlers: dict[str, JobHandler] = {
            OPEN_THREAD: OpenThread(*slack_args, team_url=team_url),
            POST_INBOUND: PostInbound(*slack_args, team_url=team_url),
            UPDATE_HEADER: UpdateHeader(*slack_args, team_url=team_url),
            POST_NOTICE: PostNotice(*slack_args, team_url=team_url),
            SEND_TO_CUSTOMER: SendToCustomer(db, connectors, SlackFiles(session, settings.slack_bot_token)),
            MOVE_THREAD: MoveThread(*slack_args, team_url=team_url),
            RETIRE_HEADER: RetireHeader(*slack_args, team_url=team_url),
            POST_ESCALATION: PostEscalation(*slack_args, team_url=team_url),
        }
        worker = DeliveryWorker(
            db,
            handlers,
            pacer or Pacer(rates_for(settings.slack_posts_per_second, settings.telegram_messages_per_second)),
            owner=settings.worker_id,
            settings=worker_settings,
            batchable=[POST_INBOUND],
            single_process=db.dialect == "sqlite",
        )
        slack_app = AsyncApp(
            client=slack,
            signing_secret=settings.slack_signing_secret,
            process_before_response=True,  # store a staff reply before Slack is told it arrived
        )
        whisper = buttons.Whisper(slack)
        background = Background()  # pages and refreshes sent to response_urls after a click is answered
        customers = Customers(db, config.bot, clock=clock)
        staff = StaffDirectory(slack, config.bot.staff_channels, config.bot.staff_groups)
        access.register(slack_app, staff, customers, background)  # commands, buttons and forms: staff only
        thread_replies.register(slack_app, service, SlackNames(slack))
        buttons.register(slack_app, service, whisper)
        commands.register(slack_app, customers, team_url, background)
        customer_handlers.register(slack_app, customers, team_url, background)
        inquiries.register(slack_app, triage, config.bot, team_url)
        triage_handlers.register(slack_app, triage, whisper)

        rt = Runtime(config=config, db=db, service=service, slack=slack, telegram=telegram, worker=worker, port=0)
        rt.triage, rt.timers = triage, timers

        async def health() -> dict[str, str]:
            try:
                await asyncio.wait_for(db.ping(), 2)
                database = "ok"
            except Exception:
                database = "unavailable"
            return {
                "database": database,
                "telegram": "ok" if telegram.healthy else "starting",
                "delivery": "ok" if rt.ready else "starting",
            }

        web_app = build_web_app(
            health=health,
            slack_events=None
            if settings.slack_app_token
            else slack_events_handler(slack_app, settings.slack_signing_secret),
            telegram_webhook=(WEBHOOK_PATH, telegram.webhook) if telegram.webhook_mode else None,
        )
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, settings.port if port is None else port)
        await site.start()
        rt.port = runner.addresses[0][1]
        await telegram.start()
        await worker.start()
        await timers.start()
        if settings.slack_app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            socket_handler = AsyncSocketModeHandler(slack_app, settings.slack_app_token)
            await socket_handler.connect_async()
        rt.ready = True
        log.info("threadbridge is running on port %d", rt.port)
        try:
            yield rt
        finally:
            rt.ready = False
            await whisper.drain()
            await background.drain()
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()
        await telegram.stop()
        await timers.stop()
        if worker is not None:
            await worker.stop()
        if runner is not None:
            await runner.cleanup()
        await session.close()
        await db.dispose()
