"""A local server that speaks the Slack Web API, for driving the real slack_sdk / slack_bolt clients.

Point `AsyncWebClient(token=..., base_url=fake.base_url)` at it. It answers the methods the bridge
uses with Slack's own envelopes, keeps what was posted so tests can assert on it, and injects
faults (see `faults.FaultRules`). Wire formats follow slack_sdk 3.47: chat.* are JSON bodies, files.*
and auth.test put their parameters in the query string of a POST, users.info is a GET, the upload
step POSTs raw bytes to the issued URL and expects a text/plain "OK - <size>".
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import mimetypes
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml
from aiohttp import web

from .faults import Decision, FakeServer, RawBody, UploadedFile

__all__ = ["FakeSlack"]

TEAM_ID = "T0TEAM"
APP_ID = "A0APP"
MANIFEST = Path(__file__).resolve().parents[2] / "config" / "slack-manifest.yml"
MANIFEST_SCOPES = tuple(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])
"""What config/slack-manifest.yml asks for: a workspace that installed the app grants exactly these."""
_NEEDS: dict[str, tuple[str, ...]] = {  # the reading methods check their scope as Slack does (missing_scope)
    "users.info": ("users:read",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
}

_KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions", "context", "divider", "file", "header", "image", "input", "markdown",
        "rich_text", "section", "video", "table", "context_actions",
    }
)  # fmt: skip


def _default_users(bot_user_id: str, bot_id: str) -> dict[str, dict[str, Any]]:
    return {
        "U1": {"name": "alice", "real_name": "Alice Park", "profile": {"display_name": "alice"}},
        "U2": {"name": "bob", "real_name": "Bob Lee", "profile": {"display_name": "bob"}},
        "U3": {"name": "jiwoo", "real_name": "김지우", "profile": {"display_name": "지우"}},
        bot_user_id: {
            "name": "threadbridge",
            "real_name": "ThreadBridge",
            "is_bot": True,
            "profile": {"display_name": "", "bot_id": bot_id},
        },
    }


def _full_user(user_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Fill a partial user entry into the shape users.info returns."""
    name = entry.get("name", user_id.lower())
    real_name = entry.get("real_name", name)
    profile = dict(entry.get("profile") or {})
    profile.setdefault("real_name", real_name)
    profile.setdefault("display_name", name)
    profile.setdefault("real_name_normalized", profile["real_name"])
    profile.setdefault("display_name_normalized", profile["display_name"])
    profile.setdefault("image_72", f"https://avatars.example/{user_id}_72.png")
    profile.setdefault("team", TEAM_ID)
    user = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": "Asia/Seoul",
        "tz_offset": 32400,
        "is_admin": False,
        "is_owner": False,
        "is_bot": False,
        "is_app_user": False,
        "updated": 1700000000,
    }
    user.update({k: v for k, v in entry.items() if k != "profile"})
    user["id"] = user_id
    user["profile"] = profile
    return user


def _ts_key(ts: str) -> tuple[int, int]:
    sec, _, frac = ts.partition(".")
    return int(sec), int(frac or 0)


def _as_json(value: Any) -> Any:
    """Blocks/attachments arrive as lists in JSON bodies and as JSON strings in forms."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeSlack(FakeServer):
    """Fake Slack Web API plus file hosting, upload URLs and response_url endpoints."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_url: str = "https://example.slack.com/",
        users: dict[str, dict[str, Any]] | None = None,
        app_token: str = "xapp-test",
    ) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self.sockets: list[web.WebSocketResponse] = []
        """Open Socket Mode connections (apps.connections.open hands out their URL)."""
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_url = team_url
        entries = users if users is not None else _default_users(bot_user_id, bot_id)
        self.users: dict[str, dict[str, Any]] = {uid: _full_user(uid, e) for uid, e in entries.items()}
        self.messages: list[dict[str, Any]] = []
        """Every message chat.postMessage stored, in posting order (dicts are updated in place)."""
        self.message_versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """(channel, ts) -> snapshots: the original post, then one per chat.update."""
        self.ephemerals: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        """Bodies POSTed to response_url()s: {"id", "body", "at"}."""
        self.reactions: list[dict[str, Any]] = []
        self.deleted: list[dict[str, Any]] = []
        self.missing_channels: set[str] = set()
        self.blocks_chars_limit: int | None = None
        """Opt-in cap on the total text inside blocks (Slack's undocumented ~12k msg_blocks_too_long)."""
        self._last_ts = 0
        self._ids = itertools.count(1)
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._hosted: dict[str, dict[str, Any]] = {}
        self._deleted_files: set[str] = set()
        self.views: list[dict[str, Any]] = []
        """Modals opened with views.open (each {"id", "trigger_id", "view"}; views.update replaces "view")."""
        self.home_views: dict[str, list[dict[str, Any]]] = {}
        """App Home tabs published with views.publish: user id -> every view published for them, oldest first."""
        self.channel_members: dict[str, list[str]] = {}
        """conversations.members answers: channel -> member ids (a channel not listed is channel_not_found)."""
        self.usergroups: dict[str, list[str]] = {}
        """usergroups.users.list answers: group id -> member ids."""
        self.usergroup_info: dict[str, dict[str, Any]] = {}
        """usergroups.list extras per group id: handle, name, date_delete (set: disabled)."""
        self.channels: dict[str, dict[str, Any]] = {}
        """conversations.info answers: channel id -> {name, is_private, is_archived, is_member (the bot)}; a channel
        only in channel_members is public, unarchived, with the bot in it."""
        self.scopes: list[str] = list(MANIFEST_SCOPES)
        """The bot token's scopes: sent as X-OAuth-Scopes, and checked by the reading methods."""
        self._handlers = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "users.info": self._users_info,
            "reactions.add": self._reaction_add,
            "reactions.remove": self._reaction_remove,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._files_info,
            "files.upload": lambda params: {"ok": False, "error": "method_deprecated"},  # retired in 2025-11
            "apps.connections.open": self._connections_open,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.members": self._conversations_members,
            "usergroups.users.list": self._usergroup_users,
            "usergroups.list": self._usergroups_list,
            "conversations.info": self._conversations_info,
        }

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    # -- public helpers ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Web API base for AsyncWebClient(base_url=...); ends with "/" as slack_sdk requires."""
        return f"{self.origin}/api/"

    def missing_channel(self, channel_id: str) -> None:
        """Make every method that targets `channel_id` answer channel_not_found."""
        self.missing_channels.add(channel_id)

    def add_user(self, user_id: str, **entry: Any) -> dict[str, Any]:
        """Register (or replace) a user for users.info; partial fields are filled in."""
        self.users[user_id] = _full_user(user_id, entry)
        return self.users[user_id]

    def set_members(self, channel: str, members: list[str]) -> None:
        """Who is in a channel, as conversations.members will answer."""
        self.channel_members[channel] = list(members)

    def add_usergroup(
        self, group_id: str, users: list[str], *, handle: str | None = None, disabled: bool = False
    ) -> None:
        """A user group (S…) and its members, as usergroups.users.list and usergroups.list will answer."""
        self.usergroups[group_id] = list(users)
        self.usergroup_info[group_id] = {"handle": handle or group_id.lower(), "date_delete": 1700000000 if disabled
                                         else 0}  # fmt: skip

    def add_channel(
        self, channel_id: str, name: str, *, private: bool = False, archived: bool = False, member: bool = True
    ) -> None:
        """A channel as conversations.info describes it to the bot (``member``: the bot is in it)."""
        self.channels[channel_id] = {"name": name, "is_private": private, "is_archived": archived, "is_member": member}
        self.channel_members.setdefault(channel_id, [])

    def response_url(self) -> str:
        """A response_url (as in slash commands / block actions) that records what Bolt sends."""
        return f"{self.origin}/response/R{next(self._ids):05d}"

    def host_file(self, name: str, content: bytes, mimetype: str) -> dict[str, Any]:
        """Serve `content` like files.slack.com does (bot token required) and return the file object."""
        file_id = f"F{next(self._ids):08d}"
        return self._host(file_id, name, name, content, mimetype, user="U1")

    def host_connect_file(
        self, name: str, content: bytes, mimetype: str, *, team: str = "T0PARTNER", user: str = "U0PARTNER"
    ) -> dict[str, Any]:
        """A file a Slack Connect member of another organisation shares: served (bot token required) under their
        team, and returned as the message event shows it, with no name and no URL, only ``check_file_info``
        (files.info answers the whole file object)."""
        file_id = f"F{next(self._ids):08d}"
        self._host(file_id, name, name, content, mimetype, user=user, team=team)
        return {"id": file_id, "mode": "file_access", "file_access": "check_file_info", "created": 0, "timestamp": 0,
                "user": ""}  # fmt: skip

    def delete_file(self, file_id: str) -> None:
        """The file was deleted: files.info answers file_deleted, downloads 404."""
        self._hosted.pop(file_id, None)
        self._deleted_files.add(file_id)

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies posted into a thread (thread_ts matches), in ts order."""
        replies = [m for m in self.messages if m["channel"] == channel and m.get("thread_ts") == thread_ts]
        return sorted(replies, key=lambda m: _ts_key(m["ts"]))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The current state of one posted message, or None."""
        for m in self.messages:
            if m["channel"] == channel and m["ts"] == ts:
                return m
        return None

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted to a channel (top-level and replies), in posting order."""
        return [m for m in self.messages if m["channel"] == channel]

    # -- routing -------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{fid}/{rest:.*}", self._download)
        app.router.add_get("/login", self._login_page)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/socket-mode", self._socket)

    def _fault_response(self, decision: Decision) -> web.Response:
        if decision.kind == "rate_limit":
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(decision.retry_after)},
            )
        if decision.kind == "api_error":
            return web.json_response({"ok": False, "error": decision.error})
        body = decision.body
        if body is None:
            body = {"ok": False, "error": "service_unavailable" if decision.kind == "down" else "fatal_error"}
        if isinstance(body, RawBody):
            content = body.content.encode() if isinstance(body.content, str) else body.content
            return web.Response(body=content, status=decision.status, headers={"Content-Type": body.content_type})
        if isinstance(body, (dict, list)):
            return web.json_response(body, status=decision.status)
        if isinstance(body, bytes):
            return web.Response(body=body, status=decision.status, content_type="application/octet-stream")
        return web.Response(text=str(body), status=decision.status, content_type="text/html")

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Query string first, then the body (JSON, form or multipart) on top, like Slack does."""
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return params
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
        return params

    async def _api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        params = await self._read_params(request)
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else params.pop("token", None)
        params.pop("token", None)
        decision = await self.evaluate(method, params)
        if decision is not None:
            response = self._fault_response(decision)
        elif not token:
            response = web.json_response({"ok": False, "error": "not_authed"})
        elif token != (self.app_token if method == "apps.connections.open" else self.bot_token):
            response = web.json_response({"ok": False, "error": "invalid_auth"})
        else:
            handler = self._handlers.get(method)
            result = self._scope_error(method, params)
            if result is None:
                result = handler(params) if handler else {"ok": False, "error": "unknown_method"}
            headers = {"X-OAuth-Scopes": ",".join(self.scopes)}
            response = web.json_response(result, headers=headers)
        self._record(method, params, at, response.status)
        return response

    # -- methods -------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        now = int(time.time() * 1_000_000)
        self._last_ts = max(self._last_ts + 1, now)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode?ticket={next(self._ids)}"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """A Socket Mode connection: hello first, then envelopes out and acknowledgements back."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets) + 1,
                "connection_info": {"app_id": "A0APP"},
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
            }
        )
        self.sockets.append(ws)
        try:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                ack = json.loads(frame.data)
                future = self._acks.pop(str(ack.get("envelope_id")), None)
                if future is not None and not future.done():
                    future.set_result(ack)
        finally:
            self.sockets.remove(ws)
        return ws

    async def socket_send(self, kind: str, payload: dict[str, Any], *, timeout: float = 5) -> dict[str, Any]:
        """Deliver an envelope over Socket Mode ("events_api", "slash_commands", "interactive"); returns the ack."""
        await self.wait_for(lambda: bool(self.sockets), timeout=timeout, message="a Socket Mode connection")
        envelope_id = f"env-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "retry_attempt": 0,
                "retry_reason": "",
                "accepts_response_payload": kind != "events_api",
            }
        )
        return await asyncio.wait_for(future, timeout)

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.team_url,
            "team": "Example",
            "user": "threadbridge",
            "team_id": TEAM_ID,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _channel_error(self, channel: Any) -> dict[str, Any] | None:
        if not channel or channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        return None

    def block_errors(self, blocks: Any) -> dict[str, Any] | None:
        """What Slack would answer to a message with these blocks now (None: accepted)."""
        return self._check_blocks(blocks)

    def _check_blocks(self, blocks: Any, max_blocks: int = 50) -> dict[str, Any] | None:
        """Enforce the documented Block Kit limits the way Slack reports them (invalid_blocks)."""
        if blocks is None:
            return None
        if not isinstance(blocks, list):
            return {"ok": False, "error": "invalid_blocks_format"}
        errors: list[str] = []
        if len(blocks) > max_blocks:
            errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
        total = 0

        def check_text(obj: Any, limit: int, pointer: str) -> None:
            nonlocal total
            text = obj.get("text") if isinstance(obj, dict) else None
            if isinstance(text, str):
                total += len(text)
                if len(text) > limit:
                    errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")

        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            p = f"/blocks/{i}"
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in _KNOWN_BLOCK_TYPES:
                errors.append(f"unsupported type `{kind}` [json-pointer:{p}/type]")
                continue
            if len(str(block.get("block_id", ""))) > 255:
                errors.append(f"must be less than 256 characters [json-pointer:{p}/block_id]")
            if "block_id" in block:  # unique within the message or view
                if block["block_id"] in block_ids:
                    errors.append(f"duplicate block_id [json-pointer:{p}/block_id]")
                block_ids.add(block["block_id"])
            errors.extend(_duplicate_action_ids(block, p))
            if kind == "section":
                if "text" in block:
                    check_text(block["text"], 3000, f"{p}/text")
                fields = block.get("fields") or []
                if len(fields) > 10:
                    errors.append(f"no more than 10 items allowed [json-pointer:{p}/fields]")
                for j, f in enumerate(fields):
                    check_text(f, 2000, f"{p}/fields/{j}")
                if "text" not in block and not fields:
                    errors.append(f"must provide text or fields [json-pointer:{p}]")
                accessory = block.get("accessory")
                if isinstance(accessory, dict) and accessory.get("type") == "overflow":
                    options = accessory.get("options") or []
                    if not 1 <= len(options) <= 5:
                        errors.append(f"must have 1 to 5 items [json-pointer:{p}/accessory/options]")
            elif kind == "header":
                check_text(block.get("text"), 150, f"{p}/text")
            elif kind == "context":
                elements = block.get("elements") or []
                if len(elements) > 10:
                    errors.append(f"no more than 10 items allowed [json-pointer:{p}/elements]")
                for j, el in enumerate(elements):
                    check_text(el, 3000, f"{p}/elements/{j}")
            elif kind == "actions":
                elements = block.get("elements") or []
                if len(elements) > 25:
                    errors.append(f"no more than 25 items allowed [json-pointer:{p}/elements]")
                for j, el in enumerate(elements):
                    ep = f"{p}/elements/{j}"
                    if el.get("type") == "button":
                        check_text(el.get("text"), 75, f"{ep}/text")
                        if len(str(el.get("value", ""))) > 2000:
                            errors.append(f"must be less than 2001 characters [json-pointer:{ep}/value]")
                    elif el.get("type") == "static_select":
                        options = el.get("options") or []
                        if not options or len(options) > 100:
                            errors.append(f"must have 1 to 100 items [json-pointer:{ep}/options]")
                        for k, option in enumerate(options):
                            check_text(option.get("text"), 75, f"{ep}/options/{k}/text")
                            if len(str(option.get("value", ""))) > 150:
                                errors.append(f"must be less than 151 characters [json-pointer:{ep}/options/{k}/value]")
                        initial = el.get("initial_option")
                        if initial is not None and initial not in options:
                            errors.append(f"must match one of the options [json-pointer:{ep}/initial_option]")
                    elif el.get("type") == "multi_static_select":
                        options = el.get("options") or []
                        if not options or len(options) > 100:
                            errors.append(f"must have 1 to 100 items [json-pointer:{ep}/options]")
                        for k, option in enumerate(options):
                            check_text(option.get("text"), 75, f"{ep}/options/{k}/text")
                            if len(str(option.get("value", ""))) > 150:
                                errors.append(f"must be less than 151 characters [json-pointer:{ep}/options/{k}/value]")
                        for k, initial in enumerate(el.get("initial_options") or []):
                            if initial not in options:
                                errors.append(f"must match one of the options [json-pointer:{ep}/initial_options/{k}]")
                    elif el.get("type") == "users_select":
                        check_text(el.get("placeholder") or {}, 150, f"{ep}/placeholder")
                    if len(str(el.get("action_id", ""))) > 255:
                        errors.append(f"must be less than 256 characters [json-pointer:{ep}/action_id]")
        if errors:
            return {
                "ok": False,
                "error": "invalid_blocks",
                "errors": errors,
                "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
            }
        if self.blocks_chars_limit is not None and total > self.blocks_chars_limit:
            return {"ok": False, "error": "msg_blocks_too_long"}
        return None

    def _public_message(self, m: dict[str, Any]) -> dict[str, Any]:
        out = {
            "type": "message",
            "user": m["user"],
            "bot_id": m["bot_id"],
            "app_id": APP_ID,
            "text": m["text"],
            "ts": m["ts"],
            "team": TEAM_ID,
            "bot_profile": {"id": m["bot_id"], "app_id": APP_ID, "name": "ThreadBridge", "team_id": TEAM_ID},
        }
        if m.get("blocks") is not None:
            out["blocks"] = m["blocks"]
        if m.get("thread_ts"):
            out["thread_ts"] = m["thread_ts"]
            out["parent_user_id"] = m.get("parent_user_id", self.bot_user_id)
        if m.get("edited"):
            out["edited"] = m["edited"]
        return out

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if error := self._channel_error(channel):
            return error
        blocks = _as_json(params.get("blocks"))
        attachments = _as_json(params.get("attachments"))
        text = params.get("text")
        if not text and not blocks and not attachments:
            return {"ok": False, "error": "no_text"}
        if error := self._check_blocks(blocks):
            return error
        text = (text or "")[:40000]  # Slack truncates, it does not refuse
        thread_ts = params.get("thread_ts") or None
        parent = self.message(channel, thread_ts) if thread_ts else None
        ts = self._next_ts()
        message: dict[str, Any] = dict(params)
        if "chat:write.customize" not in self.scopes:  # Slack ignores a custom name and icon without the scope
            for key in ("username", "icon_url", "icon_emoji"):
                message.pop(key, None)
        message.update(
            {
                "type": "message",
                "channel": channel,
                "ts": ts,
                "thread_ts": thread_ts,
                "text": text,
                "blocks": blocks,
                "attachments": attachments,
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "team": TEAM_ID,
                "link_names": params.get("link_names"),
                "unfurl_links": params.get("unfurl_links"),
                "unfurl_media": params.get("unfurl_media"),
            }
        )
        if thread_ts:
            message["parent_user_id"] = parent["user"] if parent else self.bot_user_id
        self.messages.append(message)
        self.message_versions[(channel, ts)] = [dict(message)]
        return {"ok": True, "channel": channel, "ts": ts, "message": self._public_message(message)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        if error := self._channel_error(channel):
            return error
        message = self.message(channel, ts) if ts else None
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.get("deleted"):
            return {"ok": False, "error": "message_not_found"}
        blocks = _as_json(params.get("blocks")) if "blocks" in params else message.get("blocks")
        if "blocks" in params and (error := self._check_blocks(blocks)):
            return error
        text = params.get("text", message["text"]) or ""
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        message["text"] = text[:40000]
        message["blocks"] = blocks
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        for key, value in params.items():
            if key not in ("channel", "ts", "text", "blocks"):
                message[key] = value
        self.message_versions[(channel, ts)].append(dict(message))
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": self._public_message(message),
        }

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        if error := self._channel_error(channel):
            return error
        message = self.message(channel, ts) if ts else None
        if message is None or message.get("deleted"):
            return {"ok": False, "error": "message_not_found"}
        message["deleted"] = True
        self.deleted.append(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("message_ts")
        if error := self._channel_error(channel):
            return error
        if not ts or self.message(channel, ts) is None:
            return {"ok": False, "error": "message_not_found"}
        link = f"{self.team_url.rstrip('/')}/archives/{channel}/p{str(ts).replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if error := self._channel_error(channel):
            return error
        if not params.get("user"):
            return {"ok": False, "error": "user_not_found"}
        blocks = _as_json(params.get("blocks"))
        if not params.get("text") and not blocks and not params.get("attachments"):
            return {"ok": False, "error": "no_text"}
        if error := self._check_blocks(blocks):
            return error
        ts = self._next_ts()
        self.ephemerals.append({**params, "channel": channel, "blocks": blocks, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def view_errors(self, view: Any) -> dict[str, Any] | None:
        """What Slack would say of a modal given in an answer (response_action push or update): None when valid."""
        return self._check_view(view)

    def _check_view(self, view: Any, kind: str = "modal") -> dict[str, Any] | None:
        """A view as views.open/update/publish validate it: a modal's title/submit/close 24 characters, 100 blocks,
        metadata 3,000, input blocks complete (label, element, values within their limits)."""
        if not isinstance(view, dict) or view.get("type") != kind:
            return {"ok": False, "error": "invalid_arguments"}
        errors = _input_errors(view.get("blocks") or [])
        if kind == "home":
            if len(str(view.get("private_metadata") or "")) > 3000:
                errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
            if errors:
                return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
            return self._check_blocks(view.get("blocks") or [], max_blocks=100)
        for key in ("title", "submit", "close"):
            text = (view.get(key) or {}).get("text")
            if key == "title" and not text:
                errors.append("must provide a title [json-pointer:/view/title]")
            if isinstance(text, str) and len(text) > 24:
                errors.append(f"must be less than 25 characters [json-pointer:/view/{key}/text]")
        if len(str(view.get("private_metadata") or "")) > 3000:
            errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
        if any(b.get("type") == "input" for b in view.get("blocks") or []) and not view.get("submit"):
            errors.append("must provide a submit button with input blocks [json-pointer:/view/submit]")
        if errors:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
        return self._check_blocks(view.get("blocks") or [], max_blocks=100)

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = _as_json(params.get("view"))
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if error := self._check_view(view):
            return error
        stored = {**view, "id": f"V{next(self._ids):08d}", "hash": f"{time.time():.6f}"}
        self.views.append({"id": stored["id"], "trigger_id": params["trigger_id"], "view": stored})
        return {"ok": True, "view": stored}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        view = _as_json(params.get("view"))
        user = params.get("user_id")
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        if error := self._check_view(view, "home"):
            return error
        stored = {**view, "id": f"V{next(self._ids):08d}", "hash": f"{time.time():.6f}"}
        self.home_views.setdefault(str(user), []).append(stored)
        return {"ok": True, "view": stored}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = _as_json(params.get("view"))
        entry = next((v for v in self.views if v["id"] == params.get("view_id")), None)
        if entry is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != entry["view"].get("hash"):
            return {"ok": False, "error": "hash_conflict"}
        if error := self._check_view(view):
            return error
        entry["view"] = {**view, "id": entry["id"], "hash": f"{time.time():.6f}"}
        return {"ok": True, "view": entry["view"]}

    def _scope_error(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's answer to a token without the method's scope (one of ``needed``)."""
        needed = _NEEDS.get(method)
        if method == "conversations.info":
            private = self.channels.get(str(params.get("channel")), {}).get("is_private", False)
            needed = ("groups:read",) if private else ("channels:read",)
        if needed is None or any(scope in self.scopes for scope in needed):
            return None
        return {"ok": False, "error": "missing_scope", "needed": ",".join(needed), "provided": ",".join(self.scopes)}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """The channel as the bot sees it; a private channel the bot is not in does not exist for it."""
        channel = str(params.get("channel") or "")
        known = channel in self.channels or channel in self.channel_members
        entry = self.channels.get(channel, {"name": channel.lower(), "is_private": False, "is_archived": False,
                                            "is_member": True})  # fmt: skip
        if not known or channel in self.missing_channels or (entry["is_private"] and not entry["is_member"]):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": channel, "is_channel": not entry["is_private"], "is_group": False,
                                        "created": 1700000000, "context_team_id": TEAM_ID, **entry}}  # fmt: skip

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """Enabled groups; disabled ones too with include_disabled (their date_delete is set)."""
        with_disabled = str(params.get("include_disabled", "")).lower() in ("1", "true")
        groups = []
        for group_id, users in self.usergroups.items():
            info = self.usergroup_info.get(group_id, {"handle": group_id.lower(), "date_delete": 0})
            if info["date_delete"] and not with_disabled:
                continue
            groups.append({"id": group_id, "team_id": TEAM_ID, "is_usergroup": True, "name": info["handle"],
                           "handle": info["handle"], "date_delete": info["date_delete"], "user_count": len(users)})
        return {"ok": True, "usergroups": groups}

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        """Paged like Slack: `limit` (default 100) per page and an opaque `next_cursor` ("" on the last page)."""
        channel = params.get("channel")
        if channel in self.missing_channels or channel not in self.channel_members:
            return {"ok": False, "error": "channel_not_found"}
        members = self.channel_members[str(channel)]
        try:
            limit = max(1, min(1000, int(params.get("limit") or 100)))
            cursor = params.get("cursor") or ""
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = members[start : start + limit]
        more = start + limit < len(members)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _usergroup_users(self, params: dict[str, Any]) -> dict[str, Any]:
        users = self.usergroups.get(str(params.get("usergroup")))
        if users is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(users)}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _reaction_add(self, params: dict[str, Any]) -> dict[str, Any]:
        # Reactions may be put on any message, including ones tests never posted through the fake.
        channel = params.get("channel")
        if error := self._channel_error(channel):
            return error
        if not params.get("name") or not params.get("timestamp"):
            return {"ok": False, "error": "invalid_arguments"}
        entry = {"channel": channel, "timestamp": params["timestamp"], "name": params["name"]}
        if entry in self.reactions:
            return {"ok": False, "error": "already_reacted"}
        self.reactions.append(entry)
        return {"ok": True}

    def _reaction_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = {"channel": params.get("channel"), "timestamp": params.get("timestamp"), "name": params.get("name")}
        if entry not in self.reactions:
            return {"ok": False, "error": "no_reaction"}
        self.reactions.remove(entry)
        return {"ok": True}

    # -- files ---------------------------------------------------------------------------------

    def _host(
        self, file_id: str, name: str, title: str, content: bytes, mimetype: str, *, user: str, team: str = TEAM_ID
    ) -> dict[str, Any]:
        filetype = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        qname = quote(name)
        obj = {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": team,
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "is_public": False,
            "size": len(content),
            "url_private": f"{self.origin}/files-pri/{team}-{file_id}/{qname}",
            "url_private_download": f"{self.origin}/files-pri/{team}-{file_id}/download/{qname}",
            "permalink": f"{self.team_url.rstrip('/')}/files/{user}/{file_id}/{qname}",
        }
        self._hosted[file_id] = {"file": obj, "content": content}
        return dict(obj)

    def _get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length", ""))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not filename or length < 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self._pending_uploads[file_id] = {"filename": filename, "length": length, "content": None}
        return {"ok": True, "upload_url": f"{self.origin}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """The bytes step of files_upload_v2: raw body (slack_sdk) or a multipart "file" part."""
        at = time.monotonic()
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next((v for v in form.values() if isinstance(v, web.FileField)), None)
            content = part.file.read() if part is not None else b""
        else:
            content = await request.read()
        params = {"file_id": file_id, "size": len(content)}
        decision = await self.evaluate("upload", params)
        pending = self._pending_uploads.get(file_id)
        if decision is not None:
            response = self._fault_response(decision)
        elif pending is None:
            response = web.Response(status=404, text="Not Found", content_type="text/plain")
        else:
            pending["content"] = content
            response = web.Response(text=f"OK - {len(content)}", content_type="text/plain")
        self._record("upload", params, at, response.status)
        return response

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(params.get("files") or "")
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = params.get("channel_id")
        if channel is None and params.get("channels"):
            channel = str(params["channels"]).split(",")[0]
        if channel is not None and (error := self._channel_error(channel)):
            return error
        for f in files:
            pending = self._pending_uploads.get(str(f.get("id")))
            if pending is None or pending["content"] is None:
                return {"ok": False, "error": "file_not_found"}
        thread_ts = params.get("thread_ts") or None
        out = []
        for f in files:
            pending = self._pending_uploads.pop(f["id"])
            title = f.get("title") or pending["filename"]
            obj = self._host(
                f["id"], pending["filename"], title, pending["content"], _guess_mime(pending["filename"]),
                user=self.bot_user_id,
            )  # fmt: skip
            if channel:
                obj["channels"] = [channel]
            self.uploads.append(
                {
                    "file_id": f["id"],
                    "title": title,
                    "filename": pending["filename"],
                    "content": pending["content"],
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "initial_comment": params.get("initial_comment"),
                    "file": obj,
                }
            )
            out.append(obj)
        return {"ok": True, "files": out}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hosted = self._hosted.get(str(params.get("file")))
        if hosted is None:
            return {
                "ok": False,
                "error": "file_deleted" if params.get("file") in self._deleted_files else "file_not_found",
            }
        return {"ok": True, "file": hosted["file"]}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """files.slack.com: bytes with the bot token, else a redirect to an HTML login page."""
        at = time.monotonic()
        file_id = request.match_info["fid"].rsplit("-", 1)[-1]
        header = request.headers.get("Authorization", "")
        authorized = header == f"Bearer {self.bot_token}"
        params = {"file_id": file_id, "authorized": authorized}
        decision = await self.evaluate("download", params)
        hosted = self._hosted.get(file_id)
        response: web.StreamResponse
        if decision is not None:
            response = self._fault_response(decision)
        elif not authorized:
            location = f"/login?redir={quote(request.path_qs)}"
            response = web.Response(status=302, headers={"Location": location}, text="", content_type="text/html")
        elif hosted is None:
            response = web.Response(status=404, text="File not found", content_type="text/plain")
        else:
            response = web.Response(body=hosted["content"], content_type=hosted["file"]["mimetype"])
        self._record("download", params, at, response.status)
        return response

    async def _login_page(self, request: web.Request) -> web.Response:
        html = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Example</body></html>"
        return web.Response(text=html, content_type="text/html")

    async def _response(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        params = {"id": request.match_info["rid"], "body": body}
        decision = await self.evaluate("response_url", params)
        if decision is not None:
            response = self._fault_response(decision)
        else:
            self.responses.append({"id": params["id"], "body": body, "at": at})
            response = web.Response(text="ok", content_type="text/html")
        self._record("response_url", params, at, response.status)
        return response


_INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input", "radio_buttons", "checkboxes", "static_select", "multi_static_select", "users_select",
        "external_select", "datepicker", "timepicker", "number_input", "email_text_input", "url_text_input",
    }
)  # fmt: skip


def _input_errors(blocks: list[Any]) -> list[str]:
    """What Slack refuses in input blocks: a missing label or element, an unknown element, a value over its limits."""
    errors: list[str] = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        p = f"/view/blocks/{i}"
        label = (block.get("label") or {}).get("text")
        if not label:
            errors.append(f"must provide a label [json-pointer:{p}/label]")
        elif len(label) > 2000:
            errors.append(f"must be less than 2001 characters [json-pointer:{p}/label/text]")
        element = block.get("element")
        if not isinstance(element, dict) or element.get("type") not in _INPUT_ELEMENTS:
            errors.append(f"must provide a supported element [json-pointer:{p}/element]")
            continue
        if not element.get("action_id"):
            errors.append(f"must provide an action_id [json-pointer:{p}/element/action_id]")
        if element["type"] == "plain_text_input":
            limit = min(int(element.get("max_length") or 3000), 3000)
            if len(str(element.get("initial_value") or "")) > limit:
                errors.append(f"must be less than {limit + 1} characters [json-pointer:{p}/element/initial_value]")
        if element["type"] == "radio_buttons":
            options = element.get("options") or []
            if not 1 <= len(options) <= 10:
                errors.append(f"must have 1 to 10 items [json-pointer:{p}/element/options]")
            for k, option in enumerate(options):
                for key in ("text", "description"):
                    text = (option.get(key) or {}).get("text")
                    if text is not None and len(text) > 75:
                        errors.append(f"must be less than 76 characters [json-pointer:{p}/element/options/{k}/{key}]")
    return errors


def _guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


def _duplicate_action_ids(block: dict[str, Any], pointer: str) -> list[str]:
    """Slack refuses a block whose interactive elements share an action_id (invalid_blocks)."""
    elements = [(f"{pointer}/elements/{j}", el) for j, el in enumerate(block.get("elements") or [])]
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            elements.append((f"{pointer}/{key}", block[key]))
    seen: set[str] = set()
    errors: list[str] = []
    for where, element in elements:
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is None:
            continue
        if action_id in seen:
            errors.append(f"duplicate action_id [json-pointer:{where}/action_id]")
        seen.add(action_id)
    return errors
