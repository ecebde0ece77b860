"""Requests TO the bot, built and signed exactly as Slack sends them.

Event callbacks are JSON; block actions are `payload=<json>` form posts; slash commands are plain
form posts. slack_bolt's `parse_body` decides by content type (or a leading "{"), so these bodies go
through the same code paths real deliveries do, including signature verification.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import aiohttp

__all__ = [
    "action_body",
    "command_body",
    "event_body",
    "message_changed_event",
    "message_deleted_event",
    "message_event",
    "message_shortcut_body",
    "new_ts",
    "post_signed",
    "reaction_added_event",
    "select_action_body",
    "sign",
    "url_verification_body",
    "view_submission_body",
]

TEAM_ID = "T0TEAM"
API_APP_ID = "A0APP"
VERIFICATION_TOKEN = "legacy-verification-token"
DEFAULT_RESPONSE_URL = "https://hooks.slack.com/actions/T0TEAM/1234567890/abcdefABCDEF"

_event_ids = itertools.count(1)
_last_ts = 0


def new_ts() -> str:
    """A unique, increasing Slack ts ("seconds.micros") based on the wall clock."""
    global _last_ts
    _last_ts = max(_last_ts + 1, int(time.time() * 1_000_000))
    return f"{_last_ts // 1_000_000}.{_last_ts % 1_000_000:06d}"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers: HMAC-SHA256 of b"v0:{ts}:{body}" with the signing secret."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{ts}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def event_body(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    authorized_user: str = "UBOT",
) -> bytes:
    """The event_callback envelope Slack POSTs (event_id unique unless given, for dedup tests)."""
    eid = event_id or f"Ev{next(_event_ids):08d}{uuid.uuid4().hex[:6].upper()}"
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": eid,
        "event_time": int(float(event.get("event_ts") or time.time())),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": authorized_user,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    return json.dumps(envelope, ensure_ascii=False).encode()


def message_event(
    channel: str,
    user: str | None,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    files: list[dict[str, Any]] | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `message` event as Slack delivers it (a reply when thread_ts is given; file_share with files).

    `extra` is applied last, so e.g. channel_type="im" or parent_user_id=... override the defaults.
    """
    ts = ts or new_ts()
    event: dict[str, Any] = {"type": "message"}
    if files and subtype is None:
        subtype = "file_share"
    if subtype is not None:
        event["subtype"] = subtype
    event.update({"text": text, "ts": ts})
    if user is not None:
        event["user"] = user
    if bot_id is not None:
        event["bot_id"] = bot_id
        event["app_id"] = API_APP_ID
    elif user is not None:
        event["client_msg_id"] = str(uuid.uuid4())
    event["team"] = TEAM_ID
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    if files:
        event["files"] = files
        event["upload"] = False
        event["display_as_bot"] = False
    event.update({"channel": channel, "event_ts": ts, "channel_type": "channel"})
    event.update(extra)
    return event


def message_changed_event(
    channel: str,
    ts: str,
    new_text: str,
    *,
    user: str = "U1",
    old_text: str = "",
    thread_ts: str | None = None,
    edited: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """The `message_changed` event Slack sends when a message is edited (hidden, nested message).

    `edited=False` is the change Slack makes itself (a link preview added: `extra` attachments=[...]), which has
    no `edited` stamp; `extra` goes into the new version of the message (blocks, bot_id, ...).
    """
    inner: dict[str, Any] = {"type": "message", "user": user, "text": new_text, "ts": ts, "team": TEAM_ID}
    previous: dict[str, Any] = {"type": "message", "user": user, "text": old_text, "ts": ts, "team": TEAM_ID}
    if thread_ts:
        inner["thread_ts"] = previous["thread_ts"] = thread_ts
    event_ts = new_ts()
    if edited:
        inner["edited"] = {"user": user, "ts": event_ts}
    inner.update(extra)
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": inner,
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": "channel",
    }


def message_deleted_event(
    channel: str, ts: str, *, user: str = "U1", text: str = "", thread_ts: str | None = None
) -> dict[str, Any]:
    """The `message_deleted` event: the deleted message only as `previous_message`, its ts as `deleted_ts`."""
    previous: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts, "team": TEAM_ID}
    if thread_ts:
        previous["thread_ts"] = thread_ts
    event_ts = new_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel,
        "ts": event_ts,
        "deleted_ts": ts,
        "event_ts": event_ts,
        "previous_message": previous,
        "channel_type": "channel",
    }


def reaction_added_event(
    channel: str, ts: str, reaction: str, *, user: str = "U1", item_user: str = "UBOT"
) -> dict[str, Any]:
    """The ``reaction_added`` event: someone put ``reaction`` on the message ``ts`` (by ``item_user``)."""
    event_ts = new_ts()
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": event_ts,
    }


def url_verification_body(challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> bytes:
    """The one-off handshake Slack sends when the Request URL is saved."""
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}).encode()


def action_body(
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str = "C0INBOX",
    message_ts: str | None = None,
    thread_ts: str | None = None,
    block_id: str = "b",
    trigger_id: str = "t",
    response_url: str = DEFAULT_RESPONSE_URL,
    message: dict[str, Any] | None = None,
    button_text: str = "Button",
    element: dict[str, Any] | None = None,
) -> bytes:
    """A block_actions interaction (a button click) as the form-encoded `payload=` Slack POSTs.

    `element` replaces the button with another interactive element's action (see select_action_body).
    """
    message_ts = message_ts or new_ts()
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    msg = message or {
        "type": "message",
        "user": "UBOT",
        "bot_id": "BBOT",
        "app_id": API_APP_ID,
        "text": "",
        "ts": message_ts,
        "team": TEAM_ID,
        "blocks": [],
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
        msg = {**msg, "thread_ts": thread_ts}
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "example"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "inbox"},
        "message": msg,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {"action_id": action_id, "block_id": block_id, **element, "action_ts": new_ts()}
            if element is not None
            else {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": new_ts(),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


def select_action_body(
    action_id: str,
    block_id: str,
    *,
    option: tuple[str, str] | None = None,
    selected_user: str | None = None,
    options: list[tuple[str, str]] | None = None,
    user: str = "U1",
    channel: str = "C0INBOX",
    message_ts: str | None = None,
) -> bytes:
    """A choice in a menu: a static_select `option` (label, value), a multi_static_select's whole selection
    `options` (possibly empty) or a users_select `selected_user`.

    As Slack sends them, these actions carry no `value`: the element is known by its block_id and action_id.
    """
    if option is not None:
        label, value = option
        element: dict[str, Any] = {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value},
            "placeholder": {"type": "plain_text", "text": "Select", "emoji": True},
        }
    elif options is not None:
        element = {
            "type": "multi_static_select",
            "selected_options": [
                {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}
                for label, value in options
            ],
        }
    elif selected_user is not None:
        element = {"type": "users_select", "selected_user": selected_user}
    else:
        raise ValueError("give option or selected_user")
    return action_body(
        action_id, "", user=user, channel=channel, message_ts=message_ts, block_id=block_id, element=element
    )


def view_submission_body(
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user: str = "U1",
    private_metadata: str = "",
    view_id: str = "V0VIEW",
    blocks: list[dict[str, Any]] | None = None,
) -> bytes:
    """A modal's submission as Slack POSTs it: `values` is view.state.values, {block_id: {action_id: state}}, e.g.
    {"note": {"text": {"type": "plain_text_input", "value": "hi"}}}. There is no response_url."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "example"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{time.time():.6f}",
            "title": {"type": "plain_text", "text": "Form", "emoji": True},
            "app_id": API_APP_ID,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


def view_action_body(
    action: dict[str, Any], view: dict[str, Any], *, user: str = "U1", values: dict[str, Any] | None = None
) -> bytes:
    """A block_actions interaction inside a view (a modal, or the App Home): ``action`` is the element's action as
    Slack sends it (action_id, block_id, type, value or selected_option), ``view`` the view as Slack stored it (the
    fake's views.open / views.publish answer: id, hash, private_metadata...); ``values`` is its view.state.values."""
    container = {"type": "view", "view_id": view.get("id", "V0VIEW")}
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
        "team": {"id": TEAM_ID, "domain": "example"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {**view, "team_id": TEAM_ID, "app_id": API_APP_ID, "state": {"values": values or {}}},
        "actions": [{**action, "action_ts": new_ts()}],
    }
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


def app_home_opened_event(user: str, *, tab: str = "home") -> dict[str, Any]:
    """The event Slack sends when a person opens the app's Home (or Messages) tab."""
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab, "event_ts": new_ts()}


def message_shortcut_body(
    callback_id: str,
    message: dict[str, Any],
    *,
    user: str = "U1",
    channel: str = "C0INBOX",
    response_url: str = DEFAULT_RESPONSE_URL,
) -> bytes:
    """A message shortcut (the message's "More actions" menu) as the form-encoded ``payload=`` Slack POSTs:
    ``message`` is the message it was used on, as Slack shows it (ts, user, text, thread_ts, ...)."""
    payload = {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": new_ts(),
        "team": {"id": TEAM_ID, "domain": "example"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "channel": {"id": channel, "name": "inbox"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
        "response_url": response_url,
        "message_ts": message.get("ts"),
        "message": {"type": "message", "team": TEAM_ID, **message},
    }
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


def command_body(
    command: str,
    text: str,
    *,
    user_id: str = "U1",
    channel_id: str = "C0INBOX",
    response_url: str = DEFAULT_RESPONSE_URL,
    trigger_id: str = "t",
) -> bytes:
    """A slash command invocation as the form post Slack sends."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": "example",
        "channel_id": channel_id,
        "channel_name": "inbox",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


async def post_signed(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    secret: str,
    *,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timestamp: int | None = None,
) -> aiohttp.ClientResponse:
    """POST `body` signed with `secret`; Slack's retry headers are added when retry_num is given.

    content_type None picks what Slack uses: JSON for event bodies, form for everything else.
    The caller reads (and so releases) the response.
    """
    if content_type is None:
        content_type = "application/json" if body.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
    headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    headers.update(sign(body, secret, timestamp))
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    elif retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    return await session.post(url, data=body, headers=headers)
