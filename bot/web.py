"""The HTTP face of the bot: health, Slack's requests (HTTP mode) and the routes customer channels serve."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from bot.connectors.base import Handler, Route

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]  # text values are checks ("ok" or why not); numbers facts


def build_web_app(
    *,
    health: HealthCheck,
    slack_events: Handler | None,
    routes: Sequence[Route] = (),
    middlewares: Sequence[Any] = (),
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024, middlewares=list(middlewares))

    async def healthz(_: web.Request) -> web.Response:
        checks = await health()
        ok = all(v == "ok" for v in checks.values() if isinstance(v, str))
        return web.json_response({"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503)

    app.router.add_get("/healthz", healthz)
    if slack_events is not None:  # HTTP mode (bot.handlers.http)
        app.router.add_post("/slack/events", slack_events)
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler)
    return app
