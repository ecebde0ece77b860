"""``python -m bot check-config --online``: the configuration checked against the platforms, read-only.

One line per check, ``OK`` or ``FAIL`` with what to fix; the exit code is 0 only when every check passed. Slack is
asked about the token, its scopes, every configured channel, owner and user group (bot.slack.preflight); every
enabled customer channel that offers checks (bot.connectors.base.Checks) answers for itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.connectors.base import CheckResult, Tuning
from bot.slack.preflight import slack_checks

TIMEOUT = 10.0


async def online_checks(config: Config) -> list[CheckResult]:
    settings = config.settings
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=int(TIMEOUT),
        retry_handlers=[],  # an answer as it comes: a 429 here is worth saying, not waiting out
    )
    results = await slack_checks(client, config.bot)
    for settings_ in config.channels.values():
        connector = settings_.build(Tuning(api_timeout=TIMEOUT, poll_timeout=1))
        check = getattr(connector, "check", None)
        try:
            if check is None:
                results.append(CheckResult(connector.label, True, "offers no online checks"))
            else:
                results += await check()
        finally:
            await connector.stop()
    return results


def lines(results: Sequence[CheckResult]) -> list[str]:
    return [f"{'OK' if result.ok else 'FAIL':<4}  {result.name}: {result.detail}" for result in results]


def online_main(config: Config) -> int:
    results = asyncio.run(online_checks(config))
    for line in lines(results):
        print(line)
    failed = sum(not result.ok for result in results)
    print(f"{len(results) - failed} of {len(results)} checks passed" if failed else f"all {len(results)} checks passed")
    return 1 if failed else 0
