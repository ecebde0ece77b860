"""A team's website, as a browser test needs one: its own origin (a local aiohttp server), a strict
Content-Security-Policy (scripts only from itself and the bot, no inline code, no eval), and a page that embeds the
widget with the one-line snippet. Its ``/config.js`` plays the team's server, which signs a logged-in user."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from aiohttp import web


class HostPage:
    def __init__(self) -> None:
        self.bot_url = ""
        self.user: dict[str, str] | None = None  # what the page passes for its logged-in user, hash included
        self.settings: dict[str, Any] = {}  # window.threadbridge, from /config.js
        self.data: dict[str, str] = {}  # data-* attributes of the snippet
        self.violations: list[dict[str, Any]] = []  # CSP reports the browser sent
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def policy(self) -> str:
        bot = self.bot_url
        return (
            f"default-src 'self'; script-src 'self' {bot}; frame-src {bot}; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; report-uri /csp"
        )

    async def _page(self, request: web.Request) -> web.Response:
        path = request.match_info.get("path", "")
        attributes = "".join(f" data-{k}='{escape(v, quote=True)}'" for k, v in self.data.items())
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Acme · {path or 'home'}</title><link rel='stylesheet' href='/site.css'>"
            "<script src='/config.js'></script>"
            f"<script src='{self.bot_url}/widget.js'{attributes} async></script></head>"
            f"<body><header>Acme shop</header><main><h1>{path or 'Welcome'}</h1>"
            "<p>Plans, prices and everything else you might ask us about.</p></main></body></html>"
        )
        return web.Response(text=body, content_type="text/html", headers={"Content-Security-Policy": self.policy()})

    async def _config(self, _: web.Request) -> web.Response:
        config = {**self.settings, **({"user": self.user} if self.user else {})}
        return web.Response(text=f"window.threadbridge = {json.dumps(config)};", content_type="application/javascript")

    async def _css(self, _: web.Request) -> web.Response:
        # A hostile stylesheet: nothing of it may reach the chat inside its frame.
        css = ("body{font-family:Georgia,serif;background:#fdfaf3;margin:0;padding:24px;color:#333}"
               "header{font-weight:700;font-size:20px}* {color: #c00 !important} button{display:none !important}")
        return web.Response(text=css, content_type="text/css")

    async def _report(self, request: web.Request) -> web.Response:
        self.violations.append(json.loads(await request.text() or "{}"))
        return web.Response(status=204)

    async def __aenter__(self) -> HostPage:
        app = web.Application()
        app.router.add_get("/config.js", self._config)
        app.router.add_get("/site.css", self._css)
        app.router.add_post("/csp", self._report)
        app.router.add_get("/{path:.*}", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
