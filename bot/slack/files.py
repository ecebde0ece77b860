"""Files staff share in a thread, fetched for the customer; for a file a Slack Connect member shares, the message
event names it and ``files.info`` knows where it is.

For a file from another organisation Slack leaves the URLs out of the event (``file_access: "check_file_info"``).
The handler keeps only its id (a ``ref`` with the marker below); the delivery job asks ``files.info`` for the
download link when it runs, never while Slack waits for the event's answer, and then downloads it like any file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.connectors.base import OutgoingFile
from bot.domain.errors import DeliveryError, PermanentFailure, TemporaryFailure
from bot.domain.models import Attachment
from bot.slack.delivery import slack_failure

FILE_INFO_REF = "slack-files.info:"
CHECK_FILE_INFO = "check_file_info"

_REASONS = {
    "file_not_found": "Slack no longer has {name} (or the bot may not see it)",
    "file_deleted": "{name} was deleted in Slack",
}


def needs_file_info(file: Mapping[str, Any]) -> bool:
    """A shared file whose event carries no download link, only the instruction to ask ``files.info``."""
    has_url = file.get("url_private_download") or file.get("url_private")
    return file.get("file_access") == CHECK_FILE_INFO and not has_url and bool(file.get("id"))


def file_info_ref(file_id: str) -> str:
    return f"{FILE_INFO_REF}{file_id}"


class SlackFileInfo:
    """Turns an attachment known only by its Slack file id into one with its download link and real name."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def resolve(self, attachment: Attachment) -> Attachment:
        """Ask ``files.info`` (an attachment with a link already is returned as it is); Slack's error says whether
        asking again can help (an outage, a rate limit) or not (the file is gone)."""
        if not attachment.ref.startswith(FILE_INFO_REF):
            return attachment
        file_id = attachment.ref.removeprefix(FILE_INFO_REF)
        try:
            response = await self.client.files_info(file=file_id)
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _failure(exc, attachment.file_name) from exc
        file = response.get("file") or {}
        url = file.get("url_private_download") or file.get("url_private")
        if not url:
            raise PermanentFailure(f"Slack would not hand over {attachment.file_name} (files.info gave no link)")
        size = file.get("size")
        return Attachment(
            kind=attachment.kind,
            ref=str(url),
            file_name=str(file.get("name") or file.get("title") or attachment.file_name),
            mime_type=file.get("mimetype") or attachment.mime_type,
            size=size if isinstance(size, int) else attachment.size,
        )


def _failure(exc: BaseException, name: str) -> DeliveryError:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        reason = _REASONS.get(str(exc.response.get("error", "")))
        if reason is not None:
            return PermanentFailure(reason.format(name=name))
    return slack_failure(exc)


def size_text(size: int) -> str:
    """A file size as people say it: 50 MB, 512 KB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{max(1, size // 1024)} KB"


class SlackFiles:
    """Downloads files staff shared in a thread (``url_private_download`` needs the bot token), after finding the
    link of a file the event carried none for (``resolve``: files.info for a Slack Connect file)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        resolve: Callable[[Attachment], Awaitable[Attachment]] | None = None,
    ) -> None:
        self.session = session
        self.token = token
        self.resolve = resolve

    async def download(self, attachment: Attachment, limit: int, channel_label: str) -> OutgoingFile:
        """The file as the customer will receive it; refused when larger than their channel takes (``limit``)."""
        if self.resolve is not None:
            attachment = await self.resolve(attachment)
        if attachment.size and attachment.size > limit:
            too_big = f"{attachment.file_name} is over the {size_text(limit)} {channel_label} lets a bot send"
            raise PermanentFailure(too_big)
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
