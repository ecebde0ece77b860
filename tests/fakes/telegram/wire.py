"""The Bot API's wire format: how PTB sends parameters and how Telegram answers, errors included.

Requests arrive as query strings, form fields (JSON-encoded when not plain strings), JSON bodies or multipart/form-data
when a file is uploaded. Answers are `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description"}`,
which PTB maps to BadRequest / Forbidden / RetryAfter / Conflict / InvalidToken / NetworkError.
"""

from __future__ import annotations

import contextlib
import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

from ..faults import Decision, UploadedFile

JSON_PARAMS = frozenset(
    {
        "entities", "caption_entities", "reply_parameters", "reply_markup", "allowed_updates",
        "link_preview_options",
    }
)  # fmt: skip
"""Parameters PTB sends JSON-encoded when it posts a form."""


class ApiError(Exception):
    """A method refused: answered as `{"ok": false, "error_code": code, "description": description}`."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad(description: str) -> ApiError:
    """400 with Telegram's "Bad Request: ..." description."""
    return ApiError(400, f"Bad Request: {description}")


def int_param(value: Any, default: int | None = None) -> int | None:
    """An integer parameter (forms carry "5", JSON 5); a value that is no integer is a 400, as Telegram answers."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad(f"wrong parameter value {value!r}") from None


def float_param(value: Any, default: float) -> float:
    """A number parameter, like `int_param`."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad(f"wrong parameter value {value!r}") from None


def truthy(value: Any) -> bool:
    """A boolean parameter as a form ("true") or JSON (true) carries it."""
    return value in (True, "true", "True", "1", 1)


def chat_key(value: Any) -> int | str:
    """chat_id arrives as "5" in forms and 5 in JSON; "@channel" names stay strings."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


async def read_params(request: web.Request) -> dict[str, Any]:
    """A method's parameters from the query, a JSON body, a form or multipart (files kept as UploadedFile)."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
    for key in JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    if "chat_id" in params:
        params["chat_id"] = chat_key(params["chat_id"])
    return params


def fault_response(decision: Decision) -> web.Response:
    """A fault rule's decision in the Bot API's format (429 with retry_after, an error description, ...)."""
    if decision.kind == "rate_limit":
        n = decision.retry_after
        body = {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {n}",
            "parameters": {"retry_after": n},
        }
        return web.json_response(body, status=429, headers={"Retry-After": str(n)})
    if decision.kind == "api_error":
        code = decision.code or 400
        return web.json_response({"ok": False, "error_code": code, "description": decision.error}, status=code)
    body = decision.body
    if body is None:
        body = {"ok": False, "error_code": decision.status, "description": phrase(decision.status)}
    if isinstance(body, (dict, list)):
        return web.json_response(body, status=decision.status)
    if isinstance(body, bytes):
        return web.Response(body=body, status=decision.status, content_type="application/octet-stream")
    return web.Response(text=str(body), status=decision.status, content_type="text/html")


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status, the description of a failure the fault rules inject."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    """A refusal in the Bot API's format, with the HTTP status Telegram uses for it."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)
