"""The website channel: visitors chat from a widget on the team's own site; the bot serves the widget, its
WebSocket, uploads and files on its own port.

The archive is the truth. A visitor's message is stored through the inbox before it is acknowledged (its client id
is the source key, so a resend after a reconnect is stored once). What the team sends is recorded part by part
(``Inbox.delivered``) and pushed to the visitor's open connections; a visitor who is away reads it from the archive
when they come back, asking for everything after the last entry they have.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.connectors.base import Health, Inbox, Limits, Outgoing, OutgoingFile, Parts, Route, Tuning
from bot.connectors.website import files, pages
from bot.connectors.website.entries import part_json
from bot.connectors.website.render import chunks
from bot.connectors.website.settings import WebsiteSettings
from bot.connectors.website.socket import VisitorSocket
from bot.connectors.website.throttle import Buckets, Connections
from bot.connectors.website.tokens import Signer
from bot.domain.errors import PermanentFailure, TemporaryFailure
from bot.domain.models import Attachment, Rate

log = logging.getLogger(__name__)

BUTTONS = 20
BUTTON_DATA = 64


def limits(settings: WebsiteSettings) -> Limits:
    """The widget's own limits: its text and file sizes are the team's settings; nothing paces a browser but
    this bot, so the rates are generous (a reply of many parts still arrives in order)."""
    return Limits(
        text_length=settings.max_text_length,
        text_unit="characters",
        file_size=settings.max_file_bytes,
        download_size=settings.max_file_bytes,
        buttons=BUTTONS,
        button_data=BUTTON_DATA,
        per_chat=Rate(20.0, 20),
        overall=None,
        edits=False,
        deletes=False,
        edit_window=None,
        authors=True,  # the widget shows the staff member's name above their reply
    )


class WebsiteConnector:
    channel = "website"
    label = "Website"

    def __init__(self, settings: WebsiteSettings, tuning: Tuning) -> None:
        self.settings = settings
        self.limits = limits(settings)
        self.signer = Signer(settings.token_secret, settings.identity_secret, session_days=settings.session_days)
        self.visitor_messages = Buckets(settings.messages_per_minute)
        self.ip_messages = Buckets(settings.ip_messages_per_minute)
        self.page_views = Buckets(60)
        self.connections = Connections(settings.connections_per_ip)
        self.sockets: dict[str, set[VisitorSocket]] = defaultdict(set)
        self.inbox: Inbox | None = None
        self._open: set[VisitorSocket] = set()
        self._stopping = False

    # --- the seam -------------------------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return [
            Route("GET", "/widget.js", pages.widget_js),
            Route("GET", "/website/frame", self._frame),
            Route("GET", "/website/frame.js", pages.frame_js),
            Route("GET", "/website/frame.css", pages.frame_css),
            Route("GET", "/website/ws", self.socket),
            Route("POST", "/website/upload", self._upload),
            Route("GET", "/website/files/{key}", self._download),
        ]

    async def _frame(self, request: web.Request) -> web.StreamResponse:
        return await pages.frame(self.settings, request)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        return await files.upload(self, request)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        return await files.download(self, request)

    async def start(self, inbox: Inbox) -> None:
        self.inbox = inbox  # nothing to connect to: the visitors come to us

    async def stop(self) -> None:
        """Close every connection (1001: the widget reconnects, here or to another process)."""
        self._stopping = True
        for socket in list(self._open):
            await socket.close(1001, "going away")

    def health(self) -> Health:
        return Health("ok") if self.inbox is not None else Health("starting", "not started")

    # --- connections ------------------------------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if self.inbox is None or self._stopping:
            return web.Response(status=503, text="starting")
        socket = VisitorSocket(self, request)
        self._open.add(socket)
        try:
            return await socket.run()
        finally:
            self._open.discard(socket)
            if socket.address is not None:
                self.sockets[socket.address].discard(socket)
                if not self.sockets[socket.address]:
                    del self.sockets[socket.address]

    def joined(self, socket: VisitorSocket) -> None:
        assert socket.address is not None
        self.sockets[socket.address].add(socket)

    async def push(self, address: str, entry: dict[str, Any], *, besides: VisitorSocket | None = None) -> None:
        """An entry to every open connection of the visitor (a broken one is closed; it reads again on return)."""
        for socket in list(self.sockets.get(address, ())):
            if socket is not besides:
                await socket.push(entry)

    # --- sending -----------------------------------------------------------------------------------------------

    async def send(self, address: str, outgoing: Outgoing, parts: Parts) -> list[str]:
        if self.inbox is None:
            raise TemporaryFailure("the website channel is not started")
        texts = chunks(outgoing, self.limits.text_length)
        plan: list[tuple[str, Any]] = [("text", c) for c in texts] + [("file", f) for f in outgoing.files]
        author = outgoing.author
        base = {"from": "staff" if author else "bot", "author": author}
        sent: list[str] = []
        for index, (kind, item) in enumerate(plan):
            if index < parts.done:
                continue
            await parts.slot()
            payload: dict[str, Any] = dict(base)
            if kind == "text":
                payload.update(item)
                if outgoing.buttons and index == len(texts) - 1:
                    payload["buttons"] = [[{"label": label, "data": data} for label, data in row]
                                          for row in outgoing.buttons]  # fmt: skip
            else:
                payload["file"] = await self._keep(address, item, outgoing.message_id, index)
            part_id = await self._record(address, outgoing.message_id, index, payload)
            entry = part_json(self.signer, part_id, outgoing.message_id, index, payload, _now_iso())
            await self.push(address, entry)
            sent.append(f"p{part_id}")
            await parts.advance(f"p{part_id}")
        return sent

    async def edit(self, address: str, message_ids: Sequence[str], outgoing: Outgoing, parts: Parts) -> list[str]:
        """The widget keeps what it showed: the thread says the visitor still sees the original."""
        raise PermanentFailure("the website widget cannot change a reply it showed")

    async def delete(self, address: str, message_ids: Sequence[str], parts: Parts) -> None:
        raise PermanentFailure("the website widget cannot take back a reply it showed")

    async def _keep(self, address: str, file: OutgoingFile, message_id: int | None, index: int) -> dict[str, Any]:
        size = len(file.content)
        if size > self.limits.file_size:
            raise PermanentFailure(f"{file.name} is over the {_size(self.limits.file_size)} the website widget takes")
        key = f"out-{message_id}-{index}" if message_id is not None else f"out-{secrets.token_urlsafe(18)}"
        assert self.inbox is not None
        try:
            await self.inbox.keep_file(address, key=key, name=file.name, mime_type=file.mime_type, content=file.content)
        except Exception as exc:
            raise TemporaryFailure(f"could not keep {file.name} for the visitor: {exc}") from exc
        return {"key": key, "name": file.name, "mime": file.mime_type, "size": size}

    async def _record(self, address: str, message_id: int | None, index: int, payload: dict[str, Any]) -> int:
        assert self.inbox is not None
        try:
            return await self.inbox.delivered(address, message_id=message_id, part=index, payload=payload)
        except LookupError:
            raise PermanentFailure("the visitor is not known (never seen, or their data was erased)") from None
        except Exception as exc:
            raise TemporaryFailure(f"could not record the reply for the visitor: {exc}") from exc

    async def fetch(self, attachment: Attachment) -> bytes:
        if self.inbox is None:
            raise TemporaryFailure("the website channel is not started")
        kept = await self.inbox.file(attachment.ref)
        if kept is None or kept.content is None:
            raise PermanentFailure(f"{attachment.file_name} is no longer kept (erased)")
        return kept.content


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()
