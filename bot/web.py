"""The HTTP face of the bot: health, Slack's requests (HTTP mode) and Telegram's webhook."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, str]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_web_app(
    *,
    health: HealthCheck,
    slack_events: Handler | None,
    telegram_webhook: tuple[str, Handler] | None = None,
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)

    async def healthz(_: web.Request) -> web.Response:
        checks = await health()
        ok = all(v == "ok" for v in checks.values())
        return web.json_response({"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503)

    app.router.add_get("/healthz", healthz)
    if slack_events is not None:  # HTTP mode (bot.handlers.http)
        app.router.add_post("/slack/events", slack_events)
    if telegram_webhook is not None:
        path, handler = telegram_webhook
        app.router.add_post(path, handler)
    return app
