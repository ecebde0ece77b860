"""The composition root: builds every part from the configuration, runs them together, stops them in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.connectors.base import Connector, Health, Route, Tuning
from bot.delivery.customer import SendToCustomer
from bot.delivery.customer_changes import DeleteForCustomer, EditForCustomer
from bot.delivery.handlers import JobHandler
from bot.delivery.pacing import Pacer, rates_for
from bot.delivery.worker import DeliveryWorker, WorkerSettings
from bot.domain.i18n import TextBook
from bot.domain.surveys import RATE_PREFIX
from bot.handlers import (
    access,
    buttons,
    commands,
    controls,
    customer_forms,
    customer_merge,
    inquiries,
    reactions,
    send_shortcut,
    tags,
    thread_replies,
)  # fmt: skip
from bot.handlers import customers as customer_handlers
from bot.handlers import reports as report_handlers
from bot.handlers import triage as triage_handlers
from bot.handlers.background import Background
from bot.handlers.http import slack_events_handler
from bot.handlers.profiles import Profiles
from bot.handlers.toolkit import Toolkit
from bot.observability.http import Gate, guard, livez_handler, metrics_handler
from bot.observability.metrics import Metrics
from bot.service import oldest_pending_seconds, serve_metrics, state_reader, stop_receiving
from bot.slack.delivery import OpenThread, PostAlert, PostInbound, PostNotice, UpdateHeader
from bot.slack.digest_delivery import PostDigest
from bot.slack.files import SlackFileInfo, SlackFiles
from bot.slack.inbound_edits import UpdateInbound
from bot.slack.names import SlackNames
from bot.slack.report_delivery import ReportPublisher
from bot.slack.routing_delivery import MoveThread, PostEscalation, RetireHeader
from bot.slack.staff import StaffDirectory
from bot.slack.workspace import SlackConnection
from bot.store.checkpoints import Checkpointer
from bot.store.database import Database
from bot.store.engine import create_engine, migrate
from bot.usecases import jobs
from bot.usecases.conversations import Conversations
from bot.usecases.crm import Customers
from bot.usecases.digest import POST_DIGEST, DigestLoop
from bot.usecases.hooks import HookChain
from bot.usecases.intake import Intake
from bot.usecases.picks import PICK_PREFIX
from bot.usecases.receiving import Receiving
from bot.usecases.reports import Reports
from bot.usecases.staff_edits import StaffEdits
from bot.usecases.surveys import SURVEY, Surveys
from bot.usecases.tagging import Tagging
from bot.usecases.timers import TimerLoop
from bot.usecases.triage import Triage
from bot.web import build_web_app

log = logging.getLogger(__name__)


class CannotListen(Exception):
    """The HTTP port cannot be opened (taken by another process, or not ours to use)."""


@dataclass
class Runtime:
    """The running bot, as tests and the CLI see it."""

    config: Config
    db: Database
    service: Conversations
    intake: Intake
    slack: AsyncWebClient
    connectors: Mapping[str, Connector]
    worker: DeliveryWorker
    triage: Triage
    timers: TimerLoop
    port: int = 0
    ready: bool = False
    slack_connection: SlackConnection | None = field(default=None)
    metrics: Metrics = field(default_factory=Metrics)
    gate: Gate = field(default_factory=Gate)
    toolkit: Toolkit | None = None  # saved replies and the App Home
    surveys: Surveys | None = None  # satisfaction after Close
    tagging: Tagging | None = None  # tags on conversations
    digest: DigestLoop | None = None  # the weekly digest (reports.digest); tests with a clock call run_due()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _connectors(config: Config, tuning: Tuning) -> dict[str, Connector]:
    if not config.channels:
        raise ValueError("no customer channel is enabled (bot.connectors.registry.configure)")
    return {name: settings.build(tuning) for name, settings in config.channels.items()}


def _slack_handlers(
    slack: AsyncWebClient, db: Database, config: Config, connectors: Mapping[str, Connector], team_url: str,
    files: SlackFiles,
) -> dict[str, JobHandler]:  # fmt: skip
    args = (slack, db, config.bot, connectors)
    return {
        jobs.OPEN_THREAD: OpenThread(*args, team_url=team_url),
        jobs.POST_INBOUND: PostInbound(*args, team_url=team_url),
        jobs.UPDATE_INBOUND: UpdateInbound(*args, team_url=team_url),
        jobs.UPDATE_HEADER: UpdateHeader(*args, team_url=team_url),
        jobs.POST_NOTICE: PostNotice(*args, team_url=team_url),
        jobs.POST_ALERT: PostAlert(*args, team_url=team_url),
        jobs.MOVE_THREAD: MoveThread(*args, team_url=team_url),
        jobs.RETIRE_HEADER: RetireHeader(*args, team_url=team_url),
        jobs.POST_ESCALATION: PostEscalation(*args, team_url=team_url),
        jobs.SEND_TO_CUSTOMER: SendToCustomer(db, connectors, files.download),
        jobs.EDIT_FOR_CUSTOMER: EditForCustomer(db, connectors),
        jobs.DELETE_FOR_CUSTOMER: DeleteForCustomer(db, connectors),
    }


def settle_heap() -> None:
    """Leave what start-up built (modules, clients, compiled statements: hundreds of thousands of objects that live
    as long as the process) out of the garbage collector's full passes. Each full pass walked all of them and held
    the event loop 20-70 ms (measured in bench relay), which every message in flight waited out."""
    gc.collect()
    gc.freeze()


@contextlib.asynccontextmanager
async def running(
    config: Config,
    *,
    host: str = "0.0.0.0",
    port: int | None = None,
    worker_settings: WorkerSettings | None = None,
    pacer: Pacer | None = None,
    poll_timeout: int = 25,
    api_timeout: float = 15.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    timer_poll_interval: float = 5.0,
) -> AsyncIterator[Runtime]:
    """Run the bot until the block exits; the keyword arguments tune timing (tests, benchmarks)."""
    settings = config.settings
    engine = create_engine(settings.database_url)
    await migrate(engine)
    db = Database(engine)
    checkpoints = Checkpointer(engine)
    metrics = Metrics(state_reader(db, clock))
    gate = Gate(metrics)  # closed when the bot stops: no new work, 503 + Retry-After on every route
    connectors = _connectors(config, Tuning(api_timeout=api_timeout, poll_timeout=poll_timeout))
    texts = TextBook(config.bot.language, config.bot.texts)  # each customer reads their own language
    button_data = {name: c.limits.button_data if c.limits.buttons else 0 for name, c in connectors.items()}
    triage = Triage(db, config.bot, texts, clock=clock, button_data=button_data)  # routing and timing hooks
    surveys = Surveys(config.bot, clock=clock, buttons={n: (c.limits.buttons, c.limits.button_data)
                                                        for n, c in connectors.items()})  # fmt: skip
    tagging = Tagging(db, config.bot, clock=clock)
    hooks = HookChain([triage, surveys, tagging])
    service = Conversations(db, config.bot, clock=clock, hooks=hooks)
    receiving = Receiving(config.bot, texts, clock=clock, hooks=hooks, comments=surveys)
    # what a customer's tap on one of the bot's buttons does
    taps = {PICK_PREFIX: triage.pick_in, RATE_PREFIX: surveys.rate_in}
    intake = Intake(db, receiving, taps, alert_channel=config.bot.inbox_channel, clock=clock, metrics=metrics)
    timers = TimerLoop(
        db, triage, owner=settings.worker_id, clock=clock, poll_interval=timer_poll_interval, metrics=metrics,
        handlers={SURVEY: surveys.fire},
    )  # fmt: skip
    reports = Reports(db, config.bot, clock=clock)
    digest_poll = max(60.0, timer_poll_interval)  # checked at start, then every minute (tests: by hand)
    digest = DigestLoop(db, config.bot, owner=settings.worker_id, clock=clock, poll_interval=digest_poll)
    session = aiohttp.ClientSession()  # shared by the Slack Web API client and Slack file downloads
    slack = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=api_timeout,  # type: ignore[arg-type]
        retry_handlers=[],  # the outbox retries, in order; the client must not retry behind its back
    )
    if pacer is None:
        rates, families = rates_for(settings.slack_posts_per_second, {n: c.limits for n, c in connectors.items()})
        pacer = Pacer(rates, families)
    runner: web.AppRunner | None = None
    metrics_runner: web.AppRunner | None = None
    started: list[Connector] = []
    worker: DeliveryWorker | None = None
    slack_connection: SlackConnection | None = None
    toolkit: Toolkit | None = None
    try:
        slack_connection = SlackConnection(slack, db, settings.slack_app_token, timeout=min(api_timeout, 5.0))
        team_url = await slack_connection.workspace_url()
        files = SlackFiles(session, settings.slack_bot_token, resolve=SlackFileInfo(slack).resolve)
        handlers = _slack_handlers(slack, db, config, connectors, team_url, files)
        publisher = ReportPublisher(slack, reports, config.bot)
        handlers[POST_DIGEST] = PostDigest(slack, db, config.bot, connectors, team_url=team_url, publisher=publisher)
        worker = DeliveryWorker(
            db,
            handlers,
            pacer,
            owner=settings.worker_id,
            settings=worker_settings,
            batchable=jobs.BATCHABLE,
            first=(jobs.OPEN_THREAD,),
            single_process=db.dialect == "sqlite",
            metrics=metrics,
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
        limits = {name: c.limits for name, c in connectors.items()}
        edits = StaffEdits(db, config.bot, limits, clock=clock)  # the customer's copy follows staff edits
        names = SlackNames(slack)
        thread_replies.register(slack_app, service, names, edits)
        buttons.register(slack_app, service, whisper)
        commands.register(slack_app, customers, team_url, background)
        profiles = Profiles(customers, team_url)
        customer_handlers.register(slack_app, customers, profiles, background)
        customer_forms.register(slack_app, customers, profiles, background)
        customer_merge.register(slack_app, customers, background)
        inquiries.register(slack_app, triage, config.bot, team_url)
        triage_handlers.register(slack_app, triage, whisper)
        controls.register(slack_app, service, triage.holds, whisper)
        reactions.register(slack_app, service, staff, customers, config.bot.reactions, whisper)
        send_shortcut.register(slack_app, service, names, whisper)
        toolkit = Toolkit(
            slack_app, slack, db, config.bot, service=service, names=names, whisper=whisper, background=background,
            staff=staff, team_url=team_url, clock=clock,
        )  # fmt: skip
        tags.register(slack_app, tagging, whisper)

        report_handlers.register(slack_app, reports, publisher, background)

        rt = Runtime(
            config=config, db=db, service=service, intake=intake, slack=slack, connectors=connectors, worker=worker,
            triage=triage, timers=timers, slack_connection=slack_connection, metrics=metrics, gate=gate, digest=digest,
            toolkit=toolkit, surveys=surveys, tagging=tagging,
        )  # fmt: skip

        async def health() -> dict[str, str | float]:
            try:
                await asyncio.wait_for(db.ping(), 2)
                database = "ok"
            except Exception:
                database = "unavailable"
            checks: dict[str, str | float] = {"database": database, "slack": slack_connection.health().describe()}
            for name, connector in connectors.items():
                checks[name] = connector.health().describe()
            checks["delivery"] = "draining" if gate.draining else "ok" if rt.ready else Health("starting").describe()
            if database == "ok":
                with contextlib.suppress(Exception):
                    checks["oldest_pending_seconds"] = await asyncio.wait_for(oldest_pending_seconds(db), 2)
            return checks

        routes = [route for connector in connectors.values() for route in connector.routes()]
        operations = [Route("GET", "/livez", livez_handler(db.ping))]
        if settings.metrics_bind is None:
            operations.append(Route("GET", "/metrics", metrics_handler(metrics, settings.metrics_token)))
        signing_secret = settings.slack_signing_secret
        web_app = build_web_app(
            health=health,
            slack_events=None if settings.socket_mode else slack_events_handler(slack_app, signing_secret),
            routes=[*routes, *operations],
            middlewares=[guard(gate, metrics, [route.path for route in routes])],
        )
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        wanted = settings.port if port is None else port
        site = web.TCPSite(runner, host, wanted)
        try:
            await site.start()
        except OSError as exc:
            raise CannotListen(f"PORT: {wanted} cannot be used on {host} ({exc.strerror or exc})") from None
        rt.port = runner.addresses[0][1]
        if settings.metrics_bind is not None:
            try:
                metrics_runner = await serve_metrics(metrics, settings.metrics_token, settings.metrics_bind)
            except OSError as exc:
                host, number = settings.metrics_bind
                raise CannotListen(f"METRICS_BIND: {host}:{number} cannot be used ({exc.strerror or exc})") from None
        for name, connector in connectors.items():
            await connector.start(intake.inbox(name))
            started.append(connector)
        if slack_connection.accepted:
            await worker.start()  # with a token Slack refuses, jobs would fail for good: they wait instead
        await checkpoints.start()
        await timers.start()
        await toolkit.start()
        await digest.start()
        slack_connection.connect_socket_mode(slack_app)
        rt.ready = slack_connection.accepted
        log.info("threadbridge is running on port %d", rt.port)
        try:
            yield rt
        finally:
            rt.ready = False
            await _drain(rt, started, whisper, background)
    finally:
        gate.close()
        if slack_connection is not None:
            await slack_connection.close()
        for connector in started:
            await connector.stop()
        await timers.stop()
        if toolkit is not None:
            await toolkit.stop()
        await digest.stop()
        if worker is not None:
            await worker.stop()
        if runner is not None:
            await runner.cleanup()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await session.close()
        await checkpoints.stop()
        await db.dispose()


async def _drain(rt: Runtime, started: list[Connector], *answering: buttons.Whisper | Background) -> None:
    """A graceful stop: no new work (HTTP 503 + Retry-After, polling and Socket Mode stop, no timer fires), the
    deliveries under way finish within DRAIN_SECONDS, and what did not run goes back to the queue for the next
    process; the connectors and the database are closed after this, by ``running``."""
    grace = rt.config.settings.drain_seconds
    rt.gate.close()
    log.info("stopping: no new work is taken; deliveries under way get %.0fs to finish", grace)
    await stop_receiving(started)
    if rt.slack_connection is not None:
        await rt.slack_connection.close()
    await rt.timers.stop()
    if rt.digest is not None:
        await rt.digest.stop()
    await rt.worker.stop(grace=grace)
    for part in answering:
        await part.drain()
