"""A website visitor in Python: what the widget's frame does, over the bot's real WebSocket and HTTP routes, so the
contract suite and the security tests can be a visitor (or an attacker) without a browser.

Every frame the bot sends is kept in ``frames``; entries (what the visitor was shown) in ``entries``; files the team
sent are fetched through their signed links as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.conftest import wait_until

PAGE_ORIGIN = "https://shop.example.com"  # the team's site, as allowed in the test configuration


def client_id() -> str:
    return secrets.token_urlsafe(12)


class Visitor:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        bot_url: str,
        *,
        token: str | None = None,
        user: dict[str, str] | None = None,
        lang: str = "en",
        origin: str = PAGE_ORIGIN,
        socket_origin: str | None = None,
        page: str = f"{PAGE_ORIGIN}/pricing",
    ) -> None:
        self.http = http
        self.bot_url = bot_url
        self.token = token
        self.user = user
        self.lang = lang
        self.origin = origin
        self.socket_origin = socket_origin or bot_url  # the frame's own origin, as a browser would send it
        self.page = page
        self.frames: list[dict[str, Any]] = []
        self.entries: dict[tuple[str, int], dict[str, Any]] = {}
        self.files: dict[int, bytes] = {}
        self.welcome: dict[str, Any] = {}
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    # --- the connection ----------------------------------------------------------------------------------------

    async def connect(
        self, *, after: dict[str, int] | None = None, hello: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Open the connection and say hello; returns the bot's welcome (or its error)."""
        self.ws = await self.http.ws_connect(f"{self.bot_url}/website/ws", origin=self.socket_origin)
        start = len(self.frames)
        self._reader = asyncio.create_task(self._read())
        frame = {"t": "hello", "token": self.token, "origin": self.origin, "lang": self.lang,
                 "page": {"url": self.page}, "after": after or self.cursors()}  # fmt: skip
        if self.user is not None:
            frame["user"] = self.user
        await self.ws.send_json({**frame, **(hello or {})})
        await wait_until(lambda: self.closed or any(f["t"] in ("welcome", "error") for f in self.frames[start:]),
                         what="the welcome")  # fmt: skip
        answer = next((f for f in self.frames[start:] if f["t"] in ("welcome", "error")), {"t": "closed"})
        if answer["t"] == "welcome":
            self.welcome = answer
            self.token = answer.get("token") or self.token
        return answer

    @property
    def closed(self) -> bool:
        return self.ws is None or self.ws.closed

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def drop(self) -> None:
        """The network goes away under the visitor: no goodbye."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self.ws is not None:
            await self.ws.close(code=1006)

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            self.frames.append(frame)
            kind = frame.get("t")
            for entry in frame.get("entries", []) if kind == "welcome" else ([frame] if kind == "entry" else []):
                if entry.get("k") in ("w", "s"):
                    await self._keep(entry)

    async def _keep(self, entry: dict[str, Any]) -> None:
        self.entries[(entry["k"], int(entry["id"]))] = entry
        if entry["k"] == "s" and entry.get("file"):
            async with self.http.get(self.bot_url + entry["file"]["url"]) as response:
                self.files[int(entry["id"])] = await response.read()

    def cursors(self) -> dict[str, int]:
        written = [i for k, i in self.entries if k == "w"]
        sent = [i for k, i in self.entries if k == "s"]
        return {"w": max(written, default=0), "s": max(sent, default=0)}

    # --- what the visitor does ------------------------------------------------------------------------------------

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_json(frame)

    async def say(self, text: str, *, cid: str | None = None, files: list[str] | None = None,
                  views: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
        """Write a message; returns the bot's answer to it (an ack, or an error naming it)."""
        cid = cid or client_id()
        await self.send({"t": "msg", "cid": cid, "text": text, "files": files or [], "views": views or []})
        return await self.answer(cid)

    async def answer(self, cid: str, timeout: float = 10) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def check() -> bool:
            found[:] = [f for f in self.frames if f.get("cid") == cid and f["t"] in ("ack", "error")]
            return bool(found) or self.closed

        await wait_until(check, timeout=timeout, what=f"the answer to message {cid}")
        return found[-1] if found else {"t": "closed"}

    async def upload(self, name: str, content: bytes, mime: str, *, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token or self.token}", "Content-Type": mime, "Origin": self.bot_url}
        async with self.http.post(f"{self.bot_url}/website/upload", params={"name": name}, data=content,
                                  headers=headers) as response:  # fmt: skip
            return response.status, await response.json()

    # --- what the visitor sees ------------------------------------------------------------------------------------

    def shown(self) -> list[dict[str, Any]]:
        """Entries in the order the widget shows them."""
        return sorted(self.entries.values(), key=lambda e: (e["at"], e["k"], e["id"]))

    def team_texts(self) -> list[str]:
        """What the team's side sent, part by part, as the visitor reads it (a link shows its label)."""
        sent = sorted((e for e in self.entries.values() if e["k"] == "s"), key=lambda e: e["id"])
        return [("".join(r["t"] for r in e["runs"]) if e.get("runs") else e["text"]) for e in sent if not e.get("file")]

    def errors(self, code: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["t"] == "error" and f["code"] == code]

    async def sees(self, check: Callable[[], bool], what: str, timeout: float = 10) -> None:
        await wait_until(check, timeout=timeout, what=what)
