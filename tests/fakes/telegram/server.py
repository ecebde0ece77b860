"""The fake Telegram server: routes, the token check, faults, webhook delivery, and its lifecycle.

Every request to `/bot<token>/<method>` goes through the fault rules first (a test can make any method fail, time out,
rate-limit or go down), then the token (401 when wrong), then the method (404 when the fake does not serve it).
Files are downloaded from `/file/bot<token>/<file_path>`. Webhook calls are made by the test, one update at a time,
as Telegram makes them: POSTed with the secret token header, retried by the test while the bot answers non-2xx.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from ..faults import Decision
from .builders import UpdateBuilders
from .methods import SEND_METHODS, BotApiMethods
from .wire import ApiError, error_response, fault_response, read_params


class FakeTelegram(UpdateBuilders, BotApiMethods):
    """Fake Telegram Bot API with an update queue, webhook delivery, file storage and faults."""

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def stop(self) -> None:
        """Release long polls first so shutdown does not wait for their timeouts."""
        self._stopping.set()
        self._notify()
        await super().stop()

    # -- addresses -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For Bot(base_url=...): PTB appends the token and "/method"."""
        return f"{self.origin}/bot"

    @property
    def file_base_url(self) -> str:
        """For Bot(base_file_url=...): PTB appends the token and "/file_path"."""
        return f"{self.origin}/file/bot"

    # -- faults --------------------------------------------------------------------------------

    def blocked(self, chat_id: int | str) -> None:
        """The user blocked the bot: every send to the chat answers 403 until unblocked."""
        self.api_error(
            SEND_METHODS, "Forbidden: bot was blocked by the user", times=None, code=403,
            where={"chat_id": chat_id},
        )  # fmt: skip

    def unblock(self, chat_id: int | str) -> None:
        """Undo blocked(chat_id)."""
        key = str(chat_id)
        self._rules = [r for r in self._rules if not (r.kind == "api_error" and r.where.get("chat_id") == key)]

    def global_limit(
        self,
        per_second: float,
        *,
        burst: int | None = None,
        retry_after: int | None = 1,
        methods: Iterable[str] | None = SEND_METHODS,
    ) -> None:
        """Telegram's overall flood limit: shared by every message-sending method by default."""
        super().global_limit(per_second, burst=burst, retry_after=retry_after, methods=methods)

    def per_chat_limit(
        self, per_second: float, burst: int = 1, retry_after: int | None = 1, methods: Iterable[str] = SEND_METHODS
    ) -> None:
        """Telegram's per-chat flood limit: one token bucket per chat_id over the sending methods."""
        self.per_key_limit(methods, "chat_id", per_second, burst=burst, retry_after=retry_after)

    # -- webhook -------------------------------------------------------------------------------

    def forward_webhooks_to(self, base_url: str) -> None:
        """Deliver webhook calls for the registered public https URL to ``base_url`` (the bot's local address),
        as a reverse proxy in front of the bot would."""
        self.webhook_proxy = base_url

    async def deliver_webhook(self, update: dict[str, Any] | int, timeout: float = 10) -> int:
        """POST one update to the registered webhook as Telegram does; returns the HTTP status.

        Accepts an update dict or the id of a pushed update. A 2xx answer removes the update from
        the queue (Telegram would not send it again); 0 means the connection failed.
        """
        if self.webhook is None:
            raise RuntimeError("no webhook is set (call setWebhook through the bot first)")
        if isinstance(update, int):
            update = self._history[update]
        headers = {"Content-Type": "application/json"}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        status = 0
        url = self.webhook["url"]
        if self.webhook_proxy is not None:  # the public https URL reaches the bot through a reverse proxy
            parts = urlsplit(url)
            url = self.webhook_proxy.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        error = ""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.post(url, data=json.dumps(update), headers=headers) as response,
            ):
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:  # status 0: the connection failed
            error = f"{type(exc).__name__}: {exc}"
        if 200 <= status < 300:
            self._pending = [u for u in self._pending if u["update_id"] != update.get("update_id")]
        else:  # what getWebhookInfo then reports, as Telegram does
            self.webhook["last_error_date"] = int(time.time())
            self.webhook["last_error_message"] = error or f"Wrong response from the webhook: {status}"
        return status

    async def deliver_pending(self) -> list[int]:
        """Deliver queued updates in order, stopping at the first failure (Telegram retries it)."""
        statuses: list[int] = []
        for update in list(self._pending):
            status = await self.deliver_webhook(update)
            statuses.append(status)
            if not 200 <= status < 300:
                break
        return statuses

    # -- routing -------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    def _fault_response(self, decision: Decision) -> web.Response:
        return fault_response(decision)

    async def _api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        params = await read_params(request)
        decision = await self.evaluate(method, params)
        if decision is not None:
            response = self._fault_response(decision)
        elif request.match_info["token"] != self.token:
            response = error_response(401, "Unauthorized")
        elif (handler := self._handler(method)) is None:
            response = error_response(404, "Not Found")
        else:
            try:
                result = await handler(params)
                response = web.json_response({"ok": True, "result": result})
            except ApiError as exc:
                response = error_response(exc.code, exc.description, exc.parameters)
        self._record(method, params, at, response.status)
        return response

    async def _download(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        path = request.match_info["path"]
        params = {"file_path": path}
        decision = await self.evaluate("download", params)
        record = next((f for f in self.files.values() if f["file_path"] == path), None)
        if decision is not None:
            response = self._fault_response(decision)
        elif request.match_info["token"] != self.token or record is None:
            response = error_response(404, "Not Found")
        else:
            response = web.Response(body=record["content"], content_type="application/octet-stream")
        self._record("download", params, at, response.status)
        return response
