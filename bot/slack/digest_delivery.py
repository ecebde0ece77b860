"""The weekly digest's job: last week's report in the digest channel, the chart and the CSV in its thread.

Two parts, and how far it got is stored with the job (``Progress``): a retry after the message went out only
uploads the files, so the channel never gets the numbers twice. Done, the week is marked posted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import BotConfig
from bot.connectors.base import Connector
from bot.delivery.handlers import Delivered
from bot.delivery.progress import Progress
from bot.domain.periods import Period, ReportRequest
from bot.slack.delivery import SlackDelivery
from bot.slack.report_delivery import ReportPublisher
from bot.store.database import Database, Transaction
from bot.store.digests import DigestStore
from bot.store.outbox import Job

log = logging.getLogger(__name__)


class PostDigest(SlackDelivery):
    def __init__(
        self,
        client: AsyncWebClient,
        db: Database,
        config: BotConfig,
        connectors: Mapping[str, Connector],
        *,
        team_url: str,
        publisher: ReportPublisher,
    ) -> None:
        super().__init__(client, db, config, connectors, team_url=team_url)
        self.publisher = publisher

    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        payload: dict[str, Any] = job.payload
        period = Period(
            datetime.fromisoformat(payload["start"]), datetime.fromisoformat(payload["end"]), str(payload["label"])
        )
        channel = str(payload["channel"])
        built = await self.publisher.build(ReportRequest(period))
        progress = Progress(job, self.db)
        if progress.done == 0:
            ts = await self.publisher.post_summary(channel, built, self._call)
            await progress.advance(ts)
        await self.publisher.upload_files(channel, progress.ids[0], built, self._call)

        async def record(tx: Transaction) -> None:
            await DigestStore(tx.conn).posted(str(payload["period"]), datetime.now(UTC))

        return Delivered(record=record)

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        log.error("the weekly digest %s could not be posted: %s", batch[0].payload.get("period"), reason)
