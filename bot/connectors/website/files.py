"""Files through the widget: a visitor uploads one (its size checked while it streams in, never read past the
limit), the archive keeps it, Slack gets it through ``fetch``; every file a visitor sees comes by a signed link
that runs out, served so that a browser can never run it as a page of the bot's own origin."""

from __future__ import annotations

import logging
import re
import secrets
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from aiohttp import web

from bot.connectors.website.entries import IMAGE_TYPES, file_json
from bot.connectors.website.socket import client_ip, own_origin

if TYPE_CHECKING:
    from bot.connectors.website.connector import WebsiteConnector

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MIME = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f"\\/]')


def _refuse(status: int, code: str, **facts: object) -> web.Response:
    return web.json_response({"error": code, **facts}, status=status)


async def upload(connector: WebsiteConnector, request: web.Request) -> web.Response:
    """``POST /website/upload?name=<file name>`` with the session token as ``Authorization: Bearer``."""
    settings = connector.settings
    if connector.inbox is None:
        return _refuse(503, "unavailable", retry_after=3)
    if not own_origin(request, settings.behind_proxy):
        return _refuse(403, "origin_refused")
    session = connector.signer.read(request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
    if session.address is None:
        return _refuse(401, session.problem or "invalid")
    limit = settings.max_file_bytes
    if (request.content_length or 0) > limit:
        return _refuse(413, "too_big", limit=limit)
    wait = connector.visitor_messages.take(session.address) or connector.ip_messages.take(
        client_ip(request, settings.behind_proxy)
    )
    if wait:
        return _refuse(429, "rate_limited", retry_after=wait)
    content = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        content += chunk
        if len(content) > limit:
            return _refuse(413, "too_big", limit=limit)
    name = _UNSAFE_NAME.sub("_", unquote(request.query.get("name", "")).strip())[:200] or "file"
    mime = (request.content_type or "").lower()
    mime_type = mime if _MIME.match(mime) and mime != "application/octet-stream" else None
    key = "up-" + secrets.token_urlsafe(24)
    try:
        kept = await connector.inbox.keep_file(
            session.address, key=key, name=name, mime_type=mime_type, content=bytes(content)
        )
    except Exception as exc:
        log.warning("could not keep a visitor's upload: %s", exc)
        return _refuse(503, "unavailable", retry_after=3)
    return web.json_response({"key": kept.key, **file_json(connector.signer, kept.key, name, mime_type, kept.size)})


async def download(connector: WebsiteConnector, request: web.Request) -> web.Response:
    """A file by its signed link: images shown, anything else only ever downloaded, nothing sniffed or run."""
    key = request.match_info["key"]
    if not _KEY.match(key) or not connector.signer.file_ok(key, request.query.get("e", ""), request.query.get("s", "")):
        return web.Response(status=403, text="this link is not valid (or has run out)")
    if connector.inbox is None:
        return web.Response(status=503, text="starting")
    kept = await connector.inbox.file(key)
    if kept is None or kept.content is None:
        return web.Response(status=404, text="no such file")
    inline = kept.mime_type in IMAGE_TYPES
    name = _UNSAFE_NAME.sub("_", kept.name)
    plain = name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"{'inline' if inline else 'attachment'}; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
    headers = {
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    content_type = kept.mime_type if inline else "application/octet-stream"
    return web.Response(body=kept.content, content_type=content_type, headers=headers)
