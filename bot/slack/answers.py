"""What Slack answered, read without trusting its shape: every caller sorts it one way, refused or try again later.

slack_sdk 3.48 expects each Web API answer to be a JSON object. When something else answers (a proxy's error page
during an outage, a load balancer's plain text), ``AsyncWebClient`` fails in ways callers do not expect (read in
``web/async_internal_utils._request_with_session``, ``AsyncSlackResponse.validate`` and ``SlackApiError.__init__``):

- a Content-Type that is not JSON (an HTML 502 page): aiohttp refuses to parse it, ``response.data`` is ``{}`` and the
  call raises SlackApiError with no error code;
- text/plain: ``response.data`` is the text, so ``response.get()`` raises AttributeError; with status 200
  ``validate()`` raises that AttributeError out of the call itself;
- JSON that is not an object (``[]``, ``"text"``): the same, with a list or a string;
- a body labelled application/json that does not parse: SlackApiError whose ``response`` is aiohttp's ClientResponse
  (no ``status_code``, no ``get()``);
- ``null`` or an empty JSON body: SlackApiError whose ``response.data`` is None;
- application/gzip: ``response.data`` is bytes; with status 200 the call returns it and reading it raises ValueError;
  with another status, building the SlackApiError raises ValueError.

``slack_call`` turns each of these into ``SlackUnreadable``; ``refusal`` reads any SlackApiError without assuming its
response; ``describe`` puts any failure in one log line.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"})


class SlackUnreadable(Exception):
    """Slack (or whatever stood in front of it) answered with something that is not a JSON object: try again."""


SLACK_FAILURES: tuple[type[BaseException], ...] = (
    SlackApiError,  # Slack refused (read it with ``refusal``)
    SlackUnreadable,
    SlackRequestError,  # slack_sdk's own complaint, e.g. the file upload step answered other than 200
    aiohttp.ClientError,
    TimeoutError,
    OSError,
)
"""What a Slack call raises when it did not do what was asked, for callers that log it and carry on."""


async def slack_call(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await a Web API call; an answer that is not a JSON object raises SlackUnreadable instead of whatever slack_sdk
    happens to raise for it (see the module's docstring), and never comes back as a success."""
    try:
        response = await call
    except SlackApiError as exc:
        if not isinstance(getattr(exc.response, "data", None), dict):
            raise SlackUnreadable(f"Slack answered {_status(exc.response)} with something that is not JSON") from exc
        raise
    except (AttributeError, ValueError) as exc:  # validate() on text or a list; SlackApiError() on bytes
        raise SlackUnreadable(f"Slack answered with something that is not a JSON object ({exc})") from exc
    if not isinstance(response.data, dict):
        raise SlackUnreadable(f"Slack answered {response.status_code} with something that is not a JSON object")
    return response


@dataclass(frozen=True)
class Refusal:
    """A SlackApiError, read: the HTTP status, Slack's error code ("" when the answer carried none, so it was not
    Slack's own) and, for a rate limit, how long to wait."""

    status: int
    error: str
    retry_after: float

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.error == "ratelimited"

    @property
    def temporary(self) -> bool:
        return self.rate_limited or self.status >= 500 or not self.error or self.error in TRANSIENT_ERRORS


def refusal(exc: SlackApiError) -> Refusal:
    response = exc.response
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    headers = {str(k).lower(): v for k, v in dict(getattr(response, "headers", None) or {}).items()}
    return Refusal(_status(response), str(error or ""), _seconds(headers.get("retry-after")))


def describe(exc: BaseException) -> str:
    """A failure of a Slack call in one short line (slack_sdk's own messages span lines and repeat the response)."""
    if isinstance(exc, SlackApiError):
        refused = refusal(exc)
        return f"Slack answered {refused.status} {refused.error or 'without an error code'}"
    text = " ".join(str(exc).split())
    what = f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
    return f"Slack unreachable: {what}" if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError) else what


def _status(response: Any) -> int:
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(response, "status", 0)  # aiohttp's ClientResponse
    return status if isinstance(status, int) else 0


def _seconds(value: Any) -> float:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 1.0
    return seconds if math.isfinite(seconds) and seconds >= 0 else 1.0
