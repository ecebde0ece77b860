"""A report posted to a Slack channel: the numbers as a message, then the chart and the CSV in its thread, both
uploaded with files_upload_v2 (getUploadURLExternal, the bytes, completeUploadExternal)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import BotConfig
from bot.domain.periods import ReportRequest
from bot.slack.report_blocks import report_blocks, summary_text
from bot.slack.report_charts import render
from bot.usecases.reports import Built, Reports

log = logging.getLogger(__name__)

Call = Callable[..., Awaitable[Any]]


def category_labels(config: BotConfig) -> dict[str, str]:
    return {key: c.label for key, c in config.categories.items()}


def file_stem(built: Built, zone: ZoneInfo) -> str:
    """"report-<first day>-<last day>", the days as the team counts them."""
    period = built.report.period
    first = period.start.astimezone(zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(zone).date()
    return f"report-{first.isoformat()}-{last.isoformat()}"


class ReportPublisher:
    """Builds a report and puts it in a channel; ``call`` is how the Slack methods are called (paced and sorted
    into retry or give-up by the digest's job, plainly by the command)."""

    def __init__(self, client: AsyncWebClient, reports: Reports, config: BotConfig) -> None:
        self.client = client
        self.reports = reports
        self.config = config

    async def _plain(self, method: str, **kwargs: Any) -> Any:
        return await getattr(self.client, method)(**kwargs)

    async def build(self, request: ReportRequest) -> Built:
        return await self.reports.build(request)

    async def post_summary(self, channel: str, built: Built, call: Call | None = None) -> str:
        """The message with the numbers; returns its ts (the thread the files go in)."""
        call = call or self._plain
        labels = category_labels(self.config)
        response = await call(
            "chat_postMessage", channel=channel, text=summary_text(built.report),
            blocks=report_blocks(built.report, labels), unfurl_links=False, unfurl_media=False,
        )  # fmt: skip
        return str(response["ts"])

    async def upload_files(self, channel: str, thread_ts: str, built: Built, call: Call | None = None) -> None:
        """The chart (PNG) and the conversations (CSV), in the summary's thread, in one upload."""
        call = call or self._plain
        png, table = await asyncio.gather(  # drawn in a thread while the database reads the rows
            render(built.report, category_labels(self.config), self.config.reports.font), self.reports.csv(built)
        )
        stem = file_stem(built, self.config.reports.zone(self.config.business_hours))
        await call(
            "files_upload_v2",
            channel=channel,
            thread_ts=thread_ts,
            file_uploads=[
                {"content": png, "filename": f"{stem}.png", "title": f"Chart: {built.report.period.label}"},
                {"content": table, "filename": f"{stem}.csv", "title": "Conversations behind the numbers"},
            ],
        )

    async def publish(self, channel: str, request: ReportRequest) -> Built:
        built = await self.build(request)
        ts = await self.post_summary(channel, built)
        await self.upload_files(channel, ts, built)
        return built
