"""The HTTP side of running as a service: a stop that turns new work away, request timing, /metrics and /livez.

Every route goes through ``guard``: while the bot drains it answers 503 with Retry-After (Slack, Telegram and load
balancers all try again later, elsewhere or after the restart), except the health and metrics routes, which keep
telling the truth; and it times how long each request from Slack or a channel took to be answered.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import parse_qs

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4  # the classic text format every Prometheus reads

from bot.observability.metrics import Metrics

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
OPERATIONS_PATHS = frozenset({"/healthz", "/livez", "/metrics"})
RETRY_AFTER_SECONDS = 5


class Gate:
    """Open while the bot takes new work; closed (draining) from the moment it was asked to stop."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.draining = False
        self.metrics = metrics

    def close(self) -> None:
        self.draining = True
        if self.metrics is not None:
            self.metrics.draining(True)


def slack_route(body: bytes, content_type: str) -> str | None:
    """Which kind of Slack request a body is: an event, a command or an interaction (buttons, menus, forms)."""
    try:
        if content_type == "application/json":
            kind = json.loads(body).get("type")
            return "slack_event" if kind in ("event_callback", "url_verification") else None
        form = parse_qs(body.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return None
    if "command" in form:
        return "slack_command"
    if "payload" in form:
        return "slack_interaction"
    return None


def guard(gate: Gate, metrics: Metrics, channel_paths: Collection[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware: 503 + Retry-After while draining; the answer's latency for Slack and channel routes."""
    timed = set(channel_paths)

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        arrived = time.perf_counter()
        if gate.draining and request.path not in OPERATIONS_PATHS:
            return web.json_response(
                {"ok": False, "error": "stopping: try again shortly"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        response = await handler(request)
        route: str | None = None
        if request.path == SLACK_PATH:
            route = slack_route(await request.read(), request.content_type)
        elif request.path in timed:
            route = request.path
        if route is not None:
            metrics.acknowledged(route, time.perf_counter() - arrived)
        return response

    return middleware


def metrics_handler(metrics: Metrics, token: str | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        if token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return web.Response(status=401, text="a bearer token is required\n",
                                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'})  # fmt: skip
        body = await metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    return handler


def livez_handler(ping: Callable[[], Awaitable[None]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Alive while the event loop answers and the database does; Slack and the channels do not matter here."""

    async def handler(_: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(ping(), 2)
        except Exception as exc:
            log.warning("liveness: the database does not answer (%s)", exc or type(exc).__name__)
            return web.json_response({"status": "unavailable", "database": "unavailable"}, status=503)
        return web.json_response({"status": "alive", "database": "ok"})

    return handler


def metrics_app(metrics: Metrics, token: str | None) -> web.Application:
    """/metrics alone, for METRICS_BIND: an address of its own that only the monitoring network reaches."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics, token))
    return app
