"""One widget connection: the visitor says hello (who they are, what they already have), reads what they missed,
then writes, taps, reports pages and leaves an email address, each checked and limited before it is stored.

Who a visitor is comes only from what the bot signed: a session token (anonymous), or a user id with the
``identity_hash`` the team's own server computed (logged in). Anything else starts a new anonymous session.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.connectors.base import Activity, ButtonTap, Received, Written
from bot.connectors.website.entries import transcript_json, written_json
from bot.connectors.website.settings import origin_of
from bot.connectors.website.tokens import new_visitor, user_address
from bot.domain.activity import LEFT_CONTACT, VIEWED
from bot.domain.models import Attachment, InboundMessage, Sender, origin_text
from bot.domain.names import readable_name

if TYPE_CHECKING:
    from bot.connectors.website.connector import WebsiteConnector

log = logging.getLogger(__name__)

HELLO_SECONDS = 10.0
PUSH_SECONDS = 5.0
MAX_FRAME = 256 * 1024
MAX_FILES = 5
MAX_VIEWS = 20
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_EMAIL = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,189}\.[^@\s<>.]{2,}$")
_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def client_ip(request: web.Request, behind_proxy: bool) -> str:
    """The visitor's address: the last hop of X-Forwarded-For behind the team's proxy, else the peer's."""
    if behind_proxy and request.headers.get("X-Forwarded-For"):
        return request.headers["X-Forwarded-For"].split(",")[-1].strip()
    return request.remote or "unknown"


def own_origin(request: web.Request, behind_proxy: bool) -> bool:
    """Whether the request comes from the bot's own pages (the widget's frame), as the browser says."""
    given = urlsplit(request.headers.get("Origin", ""))
    host = request.headers.get("X-Forwarded-Host", request.host) if behind_proxy else request.host
    return bool(given.netloc) and given.netloc.lower() == host.lower()


def _text(value: object, limit: int) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


class VisitorSocket:
    def __init__(self, connector: WebsiteConnector, request: web.Request) -> None:
        self.connector = connector
        self.settings = connector.settings
        self.request = request
        self.ws = web.WebSocketResponse(heartbeat=25.0, max_msg_size=MAX_FRAME)
        self.ip = client_ip(request, self.settings.behind_proxy)
        self.address: str | None = None
        self.sender: Sender | None = None
        self.blocked: str | None = None
        self.seen: tuple[set[int], set[int]] = (set(), set())
        self.page: str | None = None
        self.origin_sent = False
        self.state: bool | None = None
        self._lock = asyncio.Lock()

    # --- the connection -------------------------------------------------------------------------------------

    async def run(self) -> web.StreamResponse:
        if not own_origin(self.request, self.settings.behind_proxy):
            log.info("refused a widget connection from origin %r", self.request.headers.get("Origin"))
            return web.Response(status=403, text="this origin may not open the widget's connection")
        if not self.connector.connections.enter(self.ip):
            await self.ws.prepare(self.request)
            await self._send({"t": "error", "code": "busy", "retry_after": 60})
            await self.ws.close(code=1013, message=b"too many connections")
            return self.ws
        try:
            await self.ws.prepare(self.request)
            if await self._hello():
                await self._serve()
        finally:
            self.connector.connections.leave(self.ip)
        return self.ws

    async def _serve(self) -> None:
        while not self.ws.closed:
            try:
                message = await self.ws.receive(timeout=self.settings.resync_seconds)
            except TimeoutError:
                await self._resync()
                continue
            if message.type != WSMsgType.TEXT:
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return
                continue
            frame = _frame(message.data)
            handler = {"msg": self._message, "page": self._page, "pick": self._pick, "email": self._email,
                       "sync": lambda _: self._resync()}.get(str(frame.get("t")))  # fmt: skip
            if handler is None:
                await self._error("bad_request")
                continue
            await handler(frame)

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode())

    async def push(self, entry: dict[str, Any]) -> None:
        """Send an entry the team's side delivered (or another tab wrote); a connection that cannot take it is
        closed, and the widget reads what it missed when it connects again."""
        self.seen[0 if entry["k"] == "w" else 1].add(int(entry["id"]))
        try:
            await asyncio.wait_for(self._send({"t": "entry", **entry}), PUSH_SECONDS)
        except (TimeoutError, ConnectionError, RuntimeError):
            await self.ws.close(code=1011, message=b"could not deliver")

    async def _send(self, data: dict[str, Any]) -> None:
        async with self._lock:
            await self.ws.send_str(json.dumps(data, ensure_ascii=False))

    async def _error(self, code: str, **facts: Any) -> None:
        await self._send({"t": "error", "code": code, **facts})

    # --- hello: who the visitor is, and what they missed ---------------------------------------------------------

    async def _hello(self) -> bool:
        try:
            message = await self.ws.receive(timeout=HELLO_SECONDS)
        except TimeoutError:
            await self.close(1008, "say hello first")
            return False
        hello = _frame(message.data) if message.type == WSMsgType.TEXT else {}
        if hello.get("t") != "hello":
            await self.close(1008, "say hello first")
            return False
        origin = origin_of(hello["origin"]) if isinstance(hello.get("origin"), str) else None
        if origin not in self.settings.allowed_origins:
            log.info("refused a widget hello for origin %r", hello.get("origin"))
            await self._error("origin_refused")
            await self.close(1008, "origin not allowed")
            return False
        language = hello.get("lang") if hello.get("lang") in ("ko", "en") else None
        page = hello.get("page")
        self.page = _text(page.get("url"), 1024) if isinstance(page, dict) else None
        identity, notice, token = self._identify(hello, language)
        welcome: dict[str, Any] = {"t": "welcome", "identity": identity, "notice": notice, "token": token,
                                   "verified": bool(self.sender and self.sender.verified), "blocked": self.blocked}
        if self.address is None:
            await self._send({**welcome, "entries": [], "known": False, "open": None})
            return True
        self.connector.joined(self)  # before reading: a part delivered from now on is pushed here
        after = hello.get("after") if isinstance(hello.get("after"), dict) else {}
        entries, transcript = await self._read(_int(after.get("w")), _int(after.get("s")))
        self.state = transcript.open
        welcome.update(entries=entries, known=transcript.known, open=transcript.open, more=transcript.more)
        if self.settings.after_hours != "off":
            assert self.connector.inbox is not None
            hours = await self.connector.inbox.availability()
            welcome["hours"] = {"open": hours.open, "opens_at": hours.opens_at.isoformat() if hours.opens_at else None,
                                "timezone": hours.timezone}  # fmt: skip
        await self._send(welcome)
        return True

    def _identify(self, hello: dict[str, Any], language: str | None) -> tuple[str, str | None, str | None]:
        """Set who the visitor is; returns how a given login went ("verified", "refused", "none"), a notice about
        an earlier session that could not be kept, and the session token to keep."""
        signer = self.connector.signer
        user = hello.get("user") if isinstance(hello.get("user"), dict) else None
        if user is not None and signer.identity_ok(user.get("id"), user.get("hash")):
            user_id = str(user["id"])
            self.address = user_address(user_id)
            email = _text(user.get("email"), 254)
            self.sender = Sender(
                external_id=self.address, display_name=readable_name(_text(user.get("name"), 80), None,
                f"User {user_id[:64]}"), language_code=language, verified=True,
                email=email if _EMAIL.match(email) else None,
            )  # fmt: skip
            return "verified", None, signer.token(self.address, "user")
        identity = "none"
        if user is not None:
            identity = "refused"
            log.warning("refused a website identity that does not carry the right identity_hash")
        if self.settings.require_identity:
            self.blocked = "identity_required"
            return identity, None, None
        session = signer.read(hello.get("token"))
        notice = None
        if session.address is not None and session.kind == "visitor":
            self.address = session.address
        else:
            notice = {"expired": "expired", "invalid": "session_reset"}.get(session.problem or "")
            self.address = new_visitor()
        self.sender = Sender(external_id=self.address, display_name=f"Visitor {self.address[2:6].upper()}",
                             language_code=language, verified=False)  # fmt: skip
        return identity, notice, signer.token(self.address, "visitor")

    async def _read(self, after_written: int, after_sent: int) -> tuple[list[dict[str, Any]], Any]:
        assert self.connector.inbox is not None and self.address is not None
        transcript = await self.connector.inbox.transcript(
            self.address, after_written=after_written, after_sent=after_sent, limit=500
        )
        return transcript_json(self.connector.signer, transcript, self.seen), transcript

    async def _resync(self) -> None:
        """Read the archive again: replies another process delivered, a conversation closed meanwhile."""
        if self.address is None or self.blocked:
            return
        cursor_w, cursor_s = max(self.seen[0], default=0), max(self.seen[1], default=0)
        try:
            entries, transcript = await self._read(cursor_w, cursor_s)
        except Exception as exc:
            log.info("could not read a visitor's conversation again: %s", exc)
            return
        for entry in entries:
            await self._send({"t": "entry", **entry})
        if transcript.open != self.state:
            self.state = transcript.open
            await self._send({"t": "state", "open": transcript.open})

    # --- what the visitor does ------------------------------------------------------------------------------------

    async def _allowed(self, cid: str | None = None) -> bool:
        assert self.address is not None
        wait = self.connector.visitor_messages.take(self.address) or self.connector.ip_messages.take(self.ip)
        if wait:
            await self._error("rate_limited", cid=cid, retry_after=wait)
            return False
        return True

    async def _message(self, frame: dict[str, Any]) -> None:
        cid = frame.get("cid")
        if not isinstance(cid, str) or not _CLIENT_ID.match(cid):
            await self._error("bad_request")
            return
        if self.blocked or self.address is None or self.sender is None:
            await self._error(self.blocked or "bad_request", cid=cid)
            return
        text = frame.get("text") if isinstance(frame.get("text"), str) else ""
        text = text.strip()
        if len(text) > self.settings.max_text_length:
            await self._error("too_long", cid=cid, limit=self.settings.max_text_length)
            return
        keys = frame.get("files") if isinstance(frame.get("files"), list) else []
        keys = [k for k in keys if isinstance(k, str)][:MAX_FILES]
        if not text and not keys:
            await self._error("bad_request", cid=cid)
            return
        if not await self._allowed(cid):
            return
        inbox = self.connector.inbox
        assert inbox is not None
        kept = await inbox.files(keys)
        if len(kept) != len(set(keys)) or any(f.address != self.address for f in kept.values()):
            log.warning("refused a website message naming files that are not the visitor's own")
            await self._error("files", cid=cid)
            return
        attachments = tuple(
            Attachment("photo" if f.mime_type in _IMAGES else "document", f.key, f.name, f.mime_type, f.size)
            for f in (kept[k] for k in dict.fromkeys(keys))
        )
        now = datetime.now(UTC)
        message = InboundMessage(
            channel="website", address=self.address, sender=self.sender, text=text,
            source_key=f"website:{self.address}:{cid}", sent_at=now, external_message_id=cid,
            attachments=attachments, origin=None if self.origin_sent or not self.page else origin_text(self.page),
        )  # fmt: skip
        views = [v for v in (self._view(raw, only_known=False) for raw in _list(frame.get("views"))[:MAX_VIEWS]) if v]
        try:
            outcomes = await inbox.receive([*views, Received(message, raw=json.dumps(frame, ensure_ascii=False))])
        except Exception as exc:
            log.warning("could not store a website message (%s); the widget sends it again", exc)
            await self._error("unavailable", cid=cid, retry_after=3)
            return
        self.origin_sent = True
        outcome = outcomes[-1]
        await self._send({"t": "ack", "cid": cid, "id": outcome.message_id, "duplicate": outcome.duplicate})
        if outcome.message_id is not None:
            self.seen[0].add(outcome.message_id)
            written = Written(outcome.message_id, text, cid, attachments, now)
            await self.connector.push(self.address, written_json(self.connector.signer, written), besides=self)

    def _view(self, raw: object, *, only_known: bool) -> Activity | None:
        if not self.settings.page_events or not isinstance(raw, dict) or self.sender is None:
            return None
        url, vid = _text(raw.get("url"), 1024), raw.get("vid")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not isinstance(vid, str) or not _CLIENT_ID.match(vid):
            return None
        label = (parts.path or "/")[:80]
        lines = (url, _text(raw.get("title"), 200), _text(raw.get("referrer"), 1024), _text(raw.get("at"), 40))
        return Activity(self.sender, VIEWED, label, f"view:{vid}", lines=lines, only_known=only_known)

    async def _page(self, frame: dict[str, Any]) -> None:
        view = self._view(frame, only_known=True)
        if view is None or self.address is None or self.connector.page_views.take(self.address):
            return
        self.page = view.lines[0]
        assert self.connector.inbox is not None
        try:
            await self.connector.inbox.receive([view])
        except Exception as exc:
            log.info("could not keep a page view: %s", exc)

    async def _pick(self, frame: dict[str, Any]) -> None:
        data, key = frame.get("data"), frame.get("key")
        if self.address is None or not isinstance(data, str) or not isinstance(key, str) or not _CLIENT_ID.match(key):
            await self._error("bad_request")
            return
        assert self.connector.inbox is not None
        tap = ButtonTap(address=self.address, user_id=self.address, data=data[:64], key=f"{self.address}:{key}")
        try:
            outcome = (await self.connector.inbox.receive([tap]))[0]
        except Exception:
            await self._error("unavailable", retry_after=3)
            return
        await self._send({"t": "picked", "data": data, "status": outcome.status, "notice": outcome.notice})

    async def _email(self, frame: dict[str, Any]) -> None:
        email = _text(frame.get("email"), 254)
        if self.sender is None or self.blocked:
            await self._error(self.blocked or "bad_request")
            return
        if not _EMAIL.match(email):
            await self._error("email_invalid")
            return
        if not await self._allowed():
            return
        key = "email:" + hashlib.sha256(email.lower().encode()).hexdigest()[:24]
        assert self.connector.inbox is not None
        try:
            await self.connector.inbox.receive([Activity(self.sender, LEFT_CONTACT, email, key)])
        except Exception:
            await self._error("unavailable", retry_after=3)
            return
        await self._send({"t": "email", "email": email})


def _frame(data: Any) -> dict[str, Any]:
    try:
        frame = json.loads(data)
    except (TypeError, ValueError):
        return {}
    return frame if isinstance(frame, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
