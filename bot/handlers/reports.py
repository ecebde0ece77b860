"""``/report [period] [category | @person]``: the team's numbers, posted in the channel the command came from.

Slack wants an answer within 3 seconds, and a report with its chart takes longer: the command is answered at once
(to the caller only), then the report is built, drawn and posted, and the caller is told if the channel refused it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.domain.periods import parse_request
from bot.handlers.background import Background
from bot.slack.report_delivery import ReportPublisher
from bot.slack.text import escape
from bot.usecases.reports import Reports

log = logging.getLogger(__name__)

_REFUSED = {
    "not_in_channel": "I am not in this channel: invite me with `/invite @threadbridge`, or run it in one I am in.",
    "channel_not_found": "I cannot see this channel: run `/report` in a channel I am a member of.",
    "is_archived": "This channel is archived.",
}


def register(app: AsyncApp, reports: Reports, publisher: ReportPublisher, background: Background) -> None:
    @app.command("/report")
    async def on_report(ack: Any, command: dict[str, Any], respond: AsyncRespond) -> None:
        categories = list(reports.config.categories)
        request = parse_request(command.get("text") or "", reports.clock(), reports.zone, categories)
        if isinstance(request, str):
            await ack(response_type="ephemeral", text=escape(request))
            return
        await ack(response_type="ephemeral", text=f"Working on the report for {request.period.label}…")
        channel = str(command["channel_id"])

        async def work() -> None:
            try:
                await publisher.publish(channel, request)
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                why = _REFUSED.get(error, f"Slack refused it ({escape(error)}).")
                log.warning("/report could not be posted in %s: %s", channel, error)
                text = f"The report was not posted. {why}"
                await respond(response_type="ephemeral", replace_original=False, text=text)

        background.spawn(work())
