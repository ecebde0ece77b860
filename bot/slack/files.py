"""Files staff shared in a thread, fetched for the customer (``url_private_download`` needs the bot token)."""

from __future__ import annotations

import aiohttp

from bot.connectors.base import OutgoingFile
from bot.domain.errors import PermanentFailure, TemporaryFailure
from bot.domain.models import Attachment


class SlackFiles:
    def __init__(self, session: aiohttp.ClientSession, token: str) -> None:
        self.session = session
        self.token = token

    async def download(self, attachment: Attachment) -> OutgoingFile:
        try:
            async with self.session.get(
                attachment.ref, headers={"Authorization": f"Bearer {self.token}"}, allow_redirects=False
            ) as response:
                if response.status >= 500:
                    raise TemporaryFailure(f"Slack file download answered {response.status}")
                if response.status != 200 or response.content_type == "text/html":
                    raise PermanentFailure(f"Slack would not hand over {attachment.file_name} ({response.status})")
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryFailure(f"Slack file download failed: {exc}") from exc
        return OutgoingFile(name=attachment.file_name, mime_type=attachment.mime_type, content=content)
