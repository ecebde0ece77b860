"""Shared machinery of the fake platform servers: fault rules, call log, lifecycle.

Both fakes (Slack, Telegram) are aiohttp apps on 127.0.0.1:0. They consult the same rule engine
before serving each API method, so a test can make any method fail, time out, rate-limit or go
down, and then check how the bot under test copes. Everything here is platform neutral; the fakes
turn a :class:`Decision` into the wire format of their platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["Call", "Decision", "FakeServer", "FaultRules", "RawBody", "UploadedFile"]


@dataclass
class Call:
    """One API request the fake answered (recorded when answered; `at` is its arrival time)."""

    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass
class UploadedFile:
    """A multipart file part as a client sent it, kept so tests can compare the bytes."""

    filename: str | None
    content_type: str | None
    content: bytes

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.content)} bytes)"


@dataclass(frozen=True)
class RawBody:
    """A fault body sent exactly as given, under this Content-Type: what a proxy in front of a platform answers
    during an outage (plain text, an HTML page labelled as JSON, a JSON list)."""

    content: str | bytes
    content_type: str


@dataclass
class Decision:
    """What a fault rule decided for one request; the fake renders it in its platform's format.

    kind is "fail" (status + body as given), "down" (503 outage), "rate_limit" (429 + retry_after)
    or "api_error" (platform error with `error` text and, for Telegram, `code`).
    """

    kind: str
    status: int = 200
    body: Any = None
    retry_after: int = 1
    error: str = ""
    code: int | None = None


@dataclass
class _Rule:
    kind: str
    methods: frozenset[str] | None  # lower-cased names; None = every method
    times: int | None
    where: dict[str, str]
    status: int = 503
    body: Any = None
    retry_after: int = 1
    seconds: float = 0.0
    error: str = ""
    code: int | None = None

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.methods is not None and method.lower() not in self.methods:
            return False
        return all(_key(params.get(k)) == v for k, v in self.where.items())


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class _Limit:
    """A token bucket per value of `key_param` (or one shared bucket when key_param is None)."""

    methods: frozenset[str] | None
    key_param: str | None
    per_second: float
    burst: int
    retry_after: int | None
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, method: str, params: dict[str, Any], now: float) -> int | None:
        """Consume a token; answer None when allowed, else the Retry-After seconds to send."""
        if self.methods is not None and method.lower() not in self.methods:
            return None
        if self.key_param is None:
            key = "*"
        else:
            if self.key_param not in params:
                return None
            key = _key(params[self.key_param])
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        if self.retry_after is not None:
            return self.retry_after
        return max(1, math.ceil((1.0 - bucket.tokens) / self.per_second))


def _key(value: Any) -> str:
    """Normalise a parameter for comparison: Telegram sends chat_id 5 as "5" in forms, 5 in JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _methods(method: str | Iterable[str] | None) -> frozenset[str] | None:
    if method is None:
        return None
    if isinstance(method, str):
        return frozenset({method.lower()})
    return frozenset(m.lower() for m in method)


class FaultRules:
    """Rule engine consulted before each API method is served.

    Rules that answer (fail, rate_limit, api_error) are tried in the order they were added and the
    first match wins; `times` counts down per answered request (None = until `clear()`). Delays add
    up and then the request goes on to the other rules. Token buckets (`per_key_limit`,
    `global_limit`) are checked last and only consume a token for a request that would be served.
    Method names compare case-insensitively (the Telegram Bot API ignores case).
    """

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._limits: list[_Limit] = []
        self._outages: list[tuple[float, float]] = []
        self._down = False
        self.rate_limited_count = 0
        """How many 429 answers the fake served (rules and token buckets together)."""
        self.delays_started: list[str] = []
        """Methods whose `delay` rule began sleeping, in order: a request is in flight, held by the fake."""
        self._stopping = asyncio.Event()

    # -- rule builders -------------------------------------------------------------------------

    def fail(
        self,
        method: str | Iterable[str] | None,
        status: int = 503,
        times: int | None = 1,
        body: Any = None,
        *,
        where: dict[str, Any] | None = None,
    ) -> None:
        """Answer `status` (with `body`, or the platform's default error body) instead of serving."""
        self._add(_Rule("fail", _methods(method), times, _where(where), status=status, body=body))

    def outage(self, duration: float, *, start_in: float = 0.0) -> None:
        """Every method answers 503 from `start_in` seconds from now, for `duration` seconds."""
        start = time.monotonic() + start_in
        self._outages.append((start, start + duration))

    def set_down(self, down: bool = True) -> None:
        """Switch a whole-service outage on or off (503 for every method while on)."""
        self._down = down

    def rate_limit(
        self,
        method: str | Iterable[str] | None,
        retry_after: int,
        times: int | None = 1,
        *,
        where: dict[str, Any] | None = None,
    ) -> None:
        """Answer HTTP 429 with the platform's Retry-After signal."""
        self._add(_Rule("rate_limit", _methods(method), times, _where(where), retry_after=retry_after))

    def delay(
        self,
        method: str | Iterable[str] | None,
        seconds: float,
        times: int | None = 1,
        *,
        where: dict[str, Any] | None = None,
    ) -> None:
        """Sleep before serving, to push a request past a client timeout.

        The request is still served afterwards (as a slow real server would), so a client that gave
        up may still have caused the side effect: that is the duplicate-post trap on purpose.
        """
        self._add(_Rule("delay", _methods(method), times, _where(where), seconds=seconds))

    def api_error(
        self,
        method: str | Iterable[str] | None,
        error: str,
        times: int | None = 1,
        *,
        code: int | None = None,
        where: dict[str, Any] | None = None,
    ) -> None:
        """Answer the platform's error envelope (Slack: 200 ok=false; Telegram: `code`, default 400)."""
        self._add(_Rule("api_error", _methods(method), times, _where(where), error=error, code=code))

    def per_key_limit(
        self,
        method: str | Iterable[str] | None,
        key_param: str,
        per_second: float,
        burst: int = 1,
        retry_after: int | None = 1,
    ) -> None:
        """A token bucket per value of `key_param` (e.g. Slack `channel`, Telegram `chat_id`).

        A request beyond the limit gets a 429; retry_after None computes the honest wait.
        """
        self._limits.append(_Limit(_methods(method), key_param, per_second, burst, retry_after))

    def global_limit(
        self,
        per_second: float,
        *,
        burst: int | None = None,
        retry_after: int | None = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        """One token bucket shared by `methods` (None = every method)."""
        b = burst if burst is not None else max(1, math.floor(per_second))
        self._limits.append(_Limit(_methods(methods), None, per_second, b, retry_after))

    def clear(self) -> None:
        """Remove every rule, limit, outage window and the down switch."""
        self._rules.clear()
        self._limits.clear()
        self._outages.clear()
        self._down = False

    def _add(self, rule: _Rule) -> None:
        self._rules.append(rule)

    # -- evaluation ----------------------------------------------------------------------------

    def is_down(self) -> bool:
        """True while `set_down(True)` or an outage window covers now."""
        now = time.monotonic()
        return self._down or any(start <= now < end for start, end in self._outages)

    async def evaluate(self, method: str, params: dict[str, Any]) -> Decision | None:
        """Apply the rules to one request: None means serve it normally."""
        if self.is_down():
            return Decision("down", status=503)
        for rule in self._rules:
            if rule.kind == "delay" and rule.matches(method, params):
                if rule.times is not None:
                    rule.times -= 1
                self.delays_started.append(method)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), rule.seconds)
                if self._stopping.is_set():
                    return Decision("down", status=503)
        if self.is_down():  # the outage may have begun while we slept
            return Decision("down", status=503)
        for rule in self._rules:
            if rule.kind == "delay" or not rule.matches(method, params):
                continue
            if rule.times is not None:
                rule.times -= 1
            if rule.kind == "fail":
                return Decision("fail", status=rule.status, body=rule.body)
            if rule.kind == "rate_limit":
                self.rate_limited_count += 1
                return Decision("rate_limit", status=429, retry_after=rule.retry_after)
            return Decision("api_error", error=rule.error, code=rule.code)
        now = time.monotonic()
        for limit in self._limits:
            wait = limit.take(method, params, now)
            if wait is not None:
                self.rate_limited_count += 1
                return Decision("rate_limit", status=429, retry_after=wait)
        return None


def _where(where: dict[str, Any] | None) -> dict[str, str]:
    return {k: _key(v) for k, v in (where or {}).items()}


class FakeServer(FaultRules):
    """Lifecycle, call log and connection control shared by the fakes.

    Subclasses build routes in `_routes()` and render decisions in `_fault_response()`.
    """

    client_max_size = 60 * 1024 * 1024  # uploads of up to 50 MB must reach the handler

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _fault_response(self, decision: Decision) -> web.Response:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT, without a trailing slash."""
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve."""
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=self.client_max_size)
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Wake sleeping handlers (delays, long polls) and shut down; the port is released."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._site = None

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def refuse_connections(self) -> None:
        """Stop listening and drop open connections: clients see connection refused / reset."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._runner is not None and self._runner.server is not None:
            for conn in self._runner.server.connections:
                conn.force_close()

    async def accept_connections(self) -> None:
        """Listen again on the same port as before."""
        if self._runner is None:
            raise RuntimeError("accept_connections() needs a started server")
        if self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            await self._site.start()

    # -- call log ------------------------------------------------------------------------------

    def _record(self, method: str, params: dict[str, Any], at: float, status: int) -> None:
        self.calls.append(Call(method=method, params=params, at=at, status=status))

    def calls_to(self, method: str) -> list[Call]:
        """Calls of one method, in the order they were answered (case-insensitive name)."""
        m = method.lower()
        return [c for c in self.calls if c.method.lower() == m]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10, message: str = "") -> None:
        """Poll `predicate` every 10 ms; fail the test with context when it stays false."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() >= deadline:
                tail = ", ".join(f"{c.method}->{c.status}" for c in self.calls[-15:])
                what = message or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"{type(self).__name__}: {what} not met within {timeout}s; {len(self.calls)} calls, last: [{tail}]"
                )
            await asyncio.sleep(0.01)

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 10) -> list[Call]:
        """Wait until `method` was answered at least `count` times; return those calls."""
        await self.wait_for(
            lambda: len(self.calls_to(method)) >= count, timeout, message=f"{count} call(s) to {method}"
        )
        return self.calls_to(method)
