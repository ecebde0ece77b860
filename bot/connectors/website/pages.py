"""The widget's own files, served by the bot: ``/widget.js`` (the snippet's script, which runs in the team's page
and only places the frame), and the frame the chat runs in, isolated from the page's styles and scripts.

The frame's document carries its settings as JSON data (never run), and a Content-Security-Policy that runs only
the bot's own script, loads only the bot's own styles, connects only to the bot, and lets only the team's allowed
origins embed it (``frame-ancestors``).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from html import escape
from importlib import resources

from aiohttp import web

from bot.connectors.website.settings import WebsiteSettings, origin_of
from bot.connectors.website.texts import WIDGET_TEXTS

STATIC = ("widget.js", "frame.js", "frame.css")
_TYPES = {"js": "application/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


@cache
def asset(name: str) -> bytes:
    return resources.files("bot.connectors.website").joinpath("static", name).read_bytes()


@cache
def version() -> str:
    """Changes whenever the widget's files do: the frame asks for its script and styles under it."""
    return hashlib.sha256(b"".join(asset(n) for n in STATIC)).hexdigest()[:12]


def _static(name: str, *, cache_seconds: int) -> web.Response:
    headers = {"Cache-Control": f"public, max-age={cache_seconds}", "X-Content-Type-Options": "nosniff"}
    return web.Response(body=asset(name), content_type=_TYPES[name.rsplit(".", 1)[1]].split(";")[0],
                        charset="utf-8", headers=headers)  # fmt: skip


async def widget_js(_: web.Request) -> web.Response:
    return _static("widget.js", cache_seconds=300)  # short: a new version reaches every site within minutes


async def frame_js(_: web.Request) -> web.Response:
    return _static("frame.js", cache_seconds=86400)  # asked for under its version


async def frame_css(_: web.Request) -> web.Response:
    return _static("frame.css", cache_seconds=86400)


def _config(settings: WebsiteSettings, origin: str) -> str:
    config = {
        "origin": origin,
        "language": settings.language,
        "title": dict(settings.title),
        "greeting": dict(settings.greeting),
        "colour": settings.colour,
        "position": settings.position,
        "afterHours": settings.after_hours,
        "pageEvents": settings.page_events,
        "maxText": settings.max_text_length,
        "maxFile": settings.max_file_bytes,
        "texts": WIDGET_TEXTS,
    }
    # JSON inside a <script type="application/json">: "<" escaped, so no text can end the element early.
    return json.dumps(config, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


async def frame(settings: WebsiteSettings, request: web.Request) -> web.Response:
    """``/website/frame?origin=<the page's origin>``: the chat, for an allowed origin only."""
    origin = origin_of(request.query.get("origin", ""))
    if origin is None or origin not in settings.allowed_origins:
        return web.Response(status=403, text="The chat is not enabled for this site.", content_type="text/plain")
    host = request.host
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self' ws://{host} wss://{host}; frame-ancestors {origin}; base-uri 'none'; form-action 'none'"
    )
    language = settings.language if settings.language != "auto" else "en"
    v = version()
    page = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(settings.title[language])}</title>"
        f'<link rel="stylesheet" href="/website/frame.css?v={v}">'
        f'<script type="application/json" id="tb-config">{_config(settings, origin)}</script>'
        f'<script src="/website/frame.js?v={v}" defer></script></head><body></body></html>'
    )
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)
