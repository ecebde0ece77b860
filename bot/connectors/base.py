"""The small interface every customer channel implements: start, stop, send, fetch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.models import Attachment


@dataclass(frozen=True)
class OutgoingFile:
    name: str
    mime_type: str | None
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """What the team sends a customer. Staff write Slack mrkdwn; each channel renders it its own way."""

    text: str
    format: str  # "mrkdwn" (a staff reply) or "plain" (the bot's own texts)
    user_names: Mapping[str, str] = field(default_factory=dict)
    files: tuple[OutgoingFile, ...] = ()
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (label, data) offered under the last text


class Parts(Protocol):
    """How far a multi-part send got; ``advance`` is durable, so a retry resumes after the last part sent."""

    @property
    def done(self) -> int: ...

    async def advance(self, sent_id: str | None = None) -> None: ...


class Connector(Protocol):
    channel: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, address: str, outgoing: Outgoing, parts: Parts) -> list[str]:
        """Deliver to the customer at ``address``; returns the platform's message ids.

        Raises bot.errors.RateLimited / TemporaryFailure / PermanentFailure.
        """
        ...

    async def fetch(self, attachment: Attachment) -> bytes:
        """The bytes of a file the customer sent."""
        ...
