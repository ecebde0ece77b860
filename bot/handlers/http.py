"""Slack's requests in HTTP mode (``POST /slack/events``): nothing in a request is read before its signature holds.

The order matters. First the signature (401 when it is missing, stale, wrong or garbled), so nobody without the
signing secret makes the bot parse anything; then the body must be what Slack sends (400 otherwise): UTF-8 text,
a JSON object for events, and for interactions a form whose ``payload`` is a JSON object. Only then does Bolt see
it. Every refusal logs one WARNING line saying what was wrong, never the body and never a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_SKEW = 300  # seconds between the request's timestamp and now that Slack's scheme allows
_TIMESTAMP_DIGITS = 12  # a Unix time in seconds has 10 digits until the year 5138


class Refused(Exception):
    """A request that is not Slack's (status 401) or not shaped as Slack sends them (400, 413)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _BytesVerifier(SignatureVerifier):
    """slack_sdk's verifier (its time window, its constant-time comparison) over the body's bytes as they arrived:
    its own ``generate_signature`` decodes them as UTF-8 first, which raises on a binary body instead of failing."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        raw = body if isinstance(body, bytes) else body.encode()
        digest = hmac.new(self.signing_secret.encode(), f"v0:{timestamp}:".encode() + raw, hashlib.sha256)
        return f"v0={digest.hexdigest()}"


def slack_events_handler(app: AsyncApp, signing_secret: str) -> Handler:
    """The aiohttp handler that checks a request and hands it to the Bolt app."""
    verifier = _BytesVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.StreamResponse:
        try:
            raw = await _read(request)
            check_signature(
                verifier,
                request.headers.get("X-Slack-Request-Timestamp"),
                request.headers.get("X-Slack-Signature"),
                raw,
            )
            bolt_request = _bolt_request(request, check_body(raw, request.headers.get("Content-Type")))
        except Refused as refused:
            log.warning("refused a request to %s from %s: %s", request.path, request.remote, refused.reason)
            answer = {401: "invalid signature", 413: "too large"}.get(refused.status, "malformed request")
            return web.json_response({"error": answer}, status=refused.status)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return slack_events


async def _read(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise Refused(413, f"the body is larger than the {request.client_max_size} bytes allowed") from exc


def check_signature(verifier: SignatureVerifier, timestamp: str | None, signature: str | None, raw: bytes) -> None:
    """Slack's v0 signature over ``v0:{timestamp}:{body}``, with a timestamp within ``MAX_SKEW`` seconds of now."""
    if timestamp is None or signature is None:
        raise Refused(401, "no Slack signature (X-Slack-Signature and X-Slack-Request-Timestamp)")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _TIMESTAMP_DIGITS:
        raise Refused(401, "the signature's timestamp is not a Unix time in seconds")
    if abs(verifier.clock.now() - int(timestamp)) > MAX_SKEW:
        raise Refused(401, f"the signature's timestamp is more than {MAX_SKEW} seconds away from now")
    if not signature.isascii() or not verifier.is_valid(body=raw, timestamp=timestamp, signature=signature):
        raise Refused(401, "the signature does not match the body (wrong signing secret, or the body was changed)")


def check_body(raw: bytes, content_type: str | None) -> str:
    """The body as text, once it is shaped as Slack sends it; the same reading as Bolt's ``parse_body``, which
    would raise on anything else (JSON by content type or a leading ``{``, else a form, with a ``payload``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8 text") from None
    if not text:
        raise Refused(400, "the body is empty")
    if (content_type or "").split(";")[0] == "application/json" or text.startswith("{"):
        envelope = _json_object(text, "the body")
        if envelope.get("type") == "event_callback" and not isinstance(envelope.get("event"), dict):
            raise Refused(400, "the body is not shaped like a Slack request (its event is not a JSON object)")
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            _json_object(payload, "the form's payload")
    return text


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is JSON but not a JSON object ({type(value).__name__})")
    return value


def _bolt_request(request: web.Request, text: str) -> AsyncBoltRequest:
    """What ``slack_bolt.adapter.aiohttp.to_bolt_request`` builds, from the text already read and checked. Bolt
    reads the body's fields while building it, and raises when one has the wrong type (an event that is a string)."""
    try:
        return AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        raise Refused(400, f"the body is not shaped like a Slack request ({type(exc).__name__})") from None
