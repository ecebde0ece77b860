"""Read-only questions to Slack for ``check-config --online``: is the token valid, do the scopes granted cover what
the configuration uses, does every configured channel exist with the bot in it, does every owner and user group.

Only reading methods are called (auth.test, conversations.info, users.info, usergroups.list); nothing is posted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import BotConfig
from bot.connectors.base import CheckResult

# What every deployment uses (config/slack-manifest.yml says why each is there).
BASE_SCOPES = ("chat:write", "channels:history", "channels:read", "files:read", "files:write", "users:read",
               "commands")  # fmt: skip
PRIVATE_SCOPES = ("groups:history", "groups:read")  # a private channel (G…, or private by conversations.info)
GROUP_SCOPES = ("usergroups:read",)  # owners or staff given as user groups (S…)


def channel_roles(config: BotConfig) -> dict[str, list[str]]:
    """Every channel the configuration names, with what it is for."""
    roles: dict[str, list[str]] = {}

    def add(channel: str, role: str) -> None:
        roles.setdefault(channel, [])
        if role not in roles[channel]:
            roles[channel].append(role)

    add(config.inbox_channel, "inbox")
    for key, category in config.categories.items():
        if category.channel:
            add(category.channel, f"category {key}")
        if category.escalation is not None and category.escalation.to[:1] in ("C", "G"):
            add(category.escalation.to, f"escalations of {key}")
    for channel in config.staff_channels:
        add(channel, "staff")
    return roles


def people(config: BotConfig) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(users, user groups) the configuration names, each with what for."""
    users: dict[str, list[str]] = {}
    groups: dict[str, list[str]] = {}
    for key, category in config.categories.items():
        for owner in category.owners:
            (groups if owner.startswith("S") else users).setdefault(owner, []).append(f"owner of {key}")
        if category.escalation is not None and category.escalation.to[:1] in ("U", "W"):
            users.setdefault(category.escalation.to, []).append(f"escalations of {key}")
    for group in config.staff_groups:
        groups.setdefault(group, []).append("staff")
    return users, groups


def _error(exc: SlackApiError) -> str:
    data: Any = exc.response.data if exc.response is not None else {}
    error = str(data.get("error", exc)) if isinstance(data, dict) else str(exc)
    if error == "missing_scope" and isinstance(data, dict) and data.get("needed"):
        return f"missing_scope: the token lacks {data['needed']}"
    return error


def _for(roles: Iterable[str]) -> str:
    return ", ".join(roles)


async def slack_checks(client: AsyncWebClient, config: BotConfig) -> list[CheckResult]:
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return [CheckResult("Slack token", False, f"Slack refused SLACK_BOT_TOKEN ({_error(exc)}): copy the Bot User "
                            "OAuth Token (xoxb-…) from OAuth & Permissions")]  # fmt: skip
    except Exception as exc:
        return [CheckResult("Slack token", False, f"Slack did not answer auth.test ({exc or type(exc).__name__}): "
                            "check SLACK_API_URL and the network")]  # fmt: skip
    results = [CheckResult("Slack token", True, f"valid for {auth.get('team')} as @{auth.get('user')}")]
    granted = {s.strip() for s in str(auth.headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    channels = channel_roles(config)
    users, groups = people(config)
    private = {channel for channel in channels if channel.startswith("G")}
    channel_results = []
    for channel, roles in channels.items():
        result, is_private = await _channel(client, channel, roles)
        channel_results.append(result)
        if is_private:
            private.add(channel)
    needed = {scope: "every deployment" for scope in BASE_SCOPES}
    if private:
        needed.update({scope: f"private channels {', '.join(sorted(private))}" for scope in PRIVATE_SCOPES})
    if groups:
        needed.update({scope: f"user groups {', '.join(groups)}" for scope in GROUP_SCOPES})
    if config.reactions.claim or config.reactions.close:
        needed["reactions:read"] = "emoji that claim and close (reactions)"
    missing = [f"{scope} (for {why})" for scope, why in needed.items() if scope not in granted]
    if missing:
        fix = "add them under OAuth & Permissions → Bot Token Scopes and reinstall the app"
        results.append(CheckResult("Slack scopes", False, f"missing {'; '.join(missing)}: {fix}"))
    else:
        results.append(CheckResult("Slack scopes", True, f"{len(needed)} needed, all granted"))
    results += channel_results
    for user, roles in users.items():
        results.append(await _user(client, user, roles))
    if groups:
        results += await _groups(client, groups)
    return results


async def _channel(client: AsyncWebClient, channel: str, roles: list[str]) -> tuple[CheckResult, bool]:
    name = f"Slack channel {channel} ({_for(roles)})"
    try:
        info = (await client.conversations_info(channel=channel)).get("channel") or {}
    except SlackApiError as exc:
        error = _error(exc)
        if error == "channel_not_found":
            return CheckResult(name, False, "not found: check the id, and invite the bot if the channel is private "
                               "(/invite @threadbridge)"), False  # fmt: skip
        return CheckResult(name, False, error), "groups:read" in error  # only a private channel needs it
    label = f"#{info.get('name', channel)}"
    is_private = bool(info.get("is_private"))
    if info.get("is_archived"):
        return CheckResult(name, False, f"{label} is archived: unarchive it or configure another channel"), is_private
    if not info.get("is_member"):
        return CheckResult(name, False, f"the bot is not in {label}: /invite @threadbridge there"), is_private
    return CheckResult(name, True, f"{label}, the bot is a member"), is_private


async def _user(client: AsyncWebClient, user: str, roles: list[str]) -> CheckResult:
    name = f"Slack user {user} ({_for(roles)})"
    try:
        found = (await client.users_info(user=user)).get("user") or {}
    except SlackApiError as exc:
        error = _error(exc)
        if error == "user_not_found":
            return CheckResult(name, False, "no such user in this workspace: check the id (a person's profile → ⋮ → "
                               "Copy member ID)")  # fmt: skip
        return CheckResult(name, False, error)
    if found.get("deleted"):
        return CheckResult(name, False, f"@{found.get('name', user)} is deactivated: name someone else")
    return CheckResult(name, True, f"@{found.get('name', user)}")


async def _groups(client: AsyncWebClient, groups: dict[str, list[str]]) -> list[CheckResult]:
    try:
        listed = (await client.usergroups_list(include_disabled=True)).get("usergroups") or []
    except SlackApiError as exc:
        return [CheckResult(f"Slack user group {group} ({_for(roles)})", False, _error(exc))
                for group, roles in groups.items()]  # fmt: skip
    known = {str(g.get("id")): g for g in listed}
    results = []
    for group, roles in groups.items():
        name = f"Slack user group {group} ({_for(roles)})"
        found = known.get(group)
        if found is None:
            results.append(CheckResult(name, False, "no such user group: check the id (it starts with S)"))
        elif found.get("date_delete"):
            handle = found.get("handle", group)
            results.append(CheckResult(name, False, f"@{handle} is disabled: enable it or name another"))
        else:
            results.append(CheckResult(name, True, f"@{found.get('handle', group)}"))
    return results
