"""The seam between the core and a customer channel: what a connector offers, and what the core offers it.

A connector (one package under ``bot/connectors/``) turns its platform's updates into the items below and hands
them to the ``Inbox`` the core gives it at start; it sends what the team writes (``Outgoing``) in resumable parts;
it fetches the files its customers sent; it serves its own HTTP routes; and it declares its platform's ``Limits``,
which the core honours (pacing, text length, files, buttons). It knows nothing of Slack, of the use cases or of the
database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from aiohttp import web

from bot.domain.models import Attachment, InboundMessage, Rate, Sender
from bot.domain.richtext import Run

TextUnit = Literal["utf16", "characters", "bytes"]


@dataclass(frozen=True)
class Limits:
    """What a channel's platform allows; the core never sends past them. Every field is required, so no channel
    can be added without saying how fast it may be written to."""

    text_length: int  # one message's text, in ``text_unit``s (longer texts are split by the connector)
    text_unit: TextUnit
    file_size: int  # bytes of one file the bot may send to a customer
    download_size: int | None  # bytes of one customer file the bot can fetch (None: no limit of the platform's)
    buttons: int  # buttons one message may carry (0: the channel shows none)
    button_data: int  # bytes a button carries back when tapped
    per_chat: Rate  # messages to one customer
    overall: Rate | None  # messages across all customers (None: no platform-wide limit)
    edits: bool  # the bot can change a message it sent (``Connector.edit``)
    deletes: bool  # the bot can delete a message it sent (``Connector.delete``)
    edit_window: timedelta | None  # how long after sending edits and deletes are possible (None: always)
    authors: bool = False  # the channel shows who wrote a reply (``Outgoing.author``) beside it, natively


# --- what the team sends ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingFile:
    name: str
    mime_type: str | None
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """What the team sends a customer: ``text`` as plain text always; ``rich`` (styled runs) when a person wrote
    it, for channels that can show formatting; buttons as rows of (label, data) under the last text."""

    text: str
    rich: tuple[Run, ...] | None = None
    author: str | None = None  # the staff member's display name, for channels that show an author natively
    files: tuple[OutgoingFile, ...] = ()
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    message_id: int | None = None  # the archived message this delivers (None for a text the archive does not hold)


class Parts(Protocol):
    """A send in progress. ``done`` parts already went out (recorded by ``advance`` and stored before the next
    call, bot.delivery.progress), so a retry resumes after the last part sent; ``slot`` waits for the target's next
    paced slot and is awaited before each API call."""

    @property
    def done(self) -> int: ...

    async def advance(self, sent_id: str | None = None) -> None: ...

    async def slot(self) -> None: ...


# --- what the customers send --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A customer's message. ``greeting``: the customer opened the chat (Telegram's /start); they are greeted and
    no inquiry opens. ``raw`` is the update as the platform sent it, kept if the message cannot be stored."""

    message: InboundMessage
    greeting: bool = False
    raw: str = ""


@dataclass(frozen=True)
class ButtonTap:
    """A customer tapped one of the buttons the core sent them (a category, a rating): ``data`` as the button
    carried it; the core routes it by the data's prefix."""

    address: str
    user_id: str
    data: str
    key: str  # unique per tap: a redelivered tap is a no-op
    raw: str = ""


@dataclass(frozen=True)
class Unreadable:
    """An update the connector could not make sense of: quarantined (kept with the error) and the team told."""

    key: str  # unique per update: the same update twice is kept once
    raw: str
    error: str
    address: str | None = None  # the chat it came from, when that much could be read
    who: str | None = None  # the sender's name or handle, likewise


@dataclass(frozen=True)
class Activity:
    """Something a customer did on their channel besides writing (bot.domain.activity): viewed a page, left an
    email address for the answer. Kept on their profile's timeline; views are summed up on their next thread's
    first message, a contact left is told in their open thread.

    ``only_known``: kept only if the customer has written before (status "unknown" otherwise), so a passer-by who
    never writes leaves no customer behind; a channel sends what it held back together with the first message.
    """

    sender: Sender
    kind: str  # bot.domain.activity.VIEWED or LEFT_CONTACT
    label: str  # the short form a summary shows: "/pricing", an email address
    key: str  # unique per activity of this customer: the same one twice is kept once
    lines: tuple[str, ...] = ()  # more of what it was (the page's address, title, referrer): searchable, erasable
    only_known: bool = False


Item = Received | ButtonTap | Unreadable | Activity


@dataclass(frozen=True)
class Outcome:
    """What storing one item did. ``notice`` is what a tapped button should show the customer ("" for none);
    ``status`` for a pick is chosen, kept, ended, unknown or duplicate."""

    conversation_id: int | None = None
    opened: bool = False
    duplicate: bool = False
    message_id: int | None = None  # the archived message a ``Received`` became
    quarantined: int | None = None  # the dead letter's number, when the item was quarantined
    status: str = ""
    notice: str = ""


# --- what a channel that shows customers their conversation itself reads back (a web page) ----------------------


@dataclass(frozen=True)
class Written:
    """A message the customer wrote, as archived (``client_id``: the channel's own id of it)."""

    id: int
    text: str
    client_id: str
    attachments: tuple[Attachment, ...]
    at: datetime


@dataclass(frozen=True)
class Sent:
    """A part the channel delivered and recorded with ``Inbox.delivered`` (its ``payload`` as recorded)."""

    id: int
    message_id: int | None
    part: int
    payload: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class Transcript:
    """A customer's conversations as they can re-read them: what they wrote and what they were sent, each in the
    order it was stored, from the cursors given on. ``open``: their latest conversation is open (None: none yet);
    ``known``: the channel has seen them write."""

    written: tuple[Written, ...]
    sent: tuple[Sent, ...]
    open: bool | None
    known: bool
    more: bool = False  # more entries than the limit: ask again after the last ones


@dataclass(frozen=True)
class StoredFile:
    """A file a channel keeps in the archive for a customer (uploaded by them, or sent to them)."""

    key: str
    address: str
    name: str
    mime_type: str | None
    size: int
    at: datetime
    content: bytes | None = None  # only from ``Inbox.file``


@dataclass(frozen=True)
class Availability:
    """Whether the team is at work now (its default business hours), and when it is next."""

    open: bool
    opens_at: datetime | None  # None: open now, or not within a year
    timezone: str | None


class Inbox(Protocol):
    """What the core offers a connector: one channel's way into the archive.

    ``cursor`` and ``receive`` serve every channel. The rest serves a channel that shows customers their
    conversation itself instead of leaving it to a messenger (a web page): it reads the conversation back, records
    what it delivered, keeps files, and tells the team's hours. All of it is scoped to the inbox's channel.
    """

    async def cursor(self) -> str | None:
        """The position the connector last committed with ``receive`` (None before the first)."""
        ...

    async def receive(self, items: Sequence[Item], *, cursor: str | None = None) -> list[Outcome]:
        """Store ``items`` in order, each or quarantined, with ``cursor`` in the same commit; one outcome each.

        Raises when the database cannot take them now: nothing is stored, and the connector offers them again
        (a webhook answers 5xx, a poller asks for the same updates).
        """
        ...

    async def transcript(
        self, address: str, *, after_written: int = 0, after_sent: int = 0, limit: int = 200
    ) -> Transcript:
        """What the customer at ``address`` wrote and was sent after the two cursors (ids of ``Written`` and
        ``Sent``). Entries stored in the seconds before a cursor come again (commits may land out of id order on
        PostgreSQL): the channel drops the ones it already shows."""
        ...

    async def delivered(self, address: str, *, message_id: int | None, part: int, payload: Mapping[str, Any]) -> int:
        """Record one part delivered to ``address`` (the same message's part twice is recorded once); returns the
        ``Sent`` id. Raises ``LookupError`` when the channel knows no such customer (never seen, or erased)."""
        ...

    async def keep_file(
        self, address: str, *, key: str, name: str, mime_type: str | None, content: bytes
    ) -> StoredFile:
        """Keep a file for the customer at ``address`` under the channel's own ``key`` (kept once per key)."""
        ...

    async def files(self, keys: Sequence[str]) -> dict[str, StoredFile]:
        """The files of these keys this channel keeps (without their content)."""
        ...

    async def file(self, key: str) -> StoredFile | None:
        """One kept file with its content."""
        ...

    async def availability(self) -> Availability:
        """Whether the team is at work now, by its default business hours."""
        ...


# --- the connector itself ---------------------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler


@dataclass(frozen=True)
class Health:
    state: Literal["ok", "starting", "failed"]
    reason: str = ""

    def describe(self) -> str:
        return self.state if not self.reason else f"{self.state}: {self.reason}"


@dataclass(frozen=True)
class Tuning:
    """Timing knobs the composition root hands every connector (tests and benchmarks shorten them)."""

    api_timeout: float = 15.0
    poll_timeout: int = 25


class Connector(Protocol):
    channel: str  # the registry name: "telegram"
    label: str  # what staff read: "Telegram"
    limits: Limits

    async def start(self, inbox: Inbox) -> None:
        """Begin taking in updates (in the background: a platform outage must not keep the bot down)."""
        ...

    async def stop(self) -> None: ...

    def routes(self) -> Sequence[Route]:
        """The HTTP routes this channel serves (a webhook, a widget); none for a poller."""
        ...

    def health(self) -> Health: ...

    async def send(self, address: str, outgoing: Outgoing, parts: Parts) -> list[str]:
        """Deliver to the customer at ``address``; returns the platform's message ids.

        Raises bot.domain.errors.RateLimited / TemporaryFailure / PermanentFailure.
        """
        ...

    async def edit(self, address: str, message_ids: Sequence[str], outgoing: Outgoing, parts: Parts) -> list[str]:
        """Change what the customer has to ``outgoing``'s text: ``message_ids`` are the text messages an earlier
        ``send`` gave, in order. The text is split as ``send`` splits it and each part edited in place (a part left
        as it was is no error); parts the new text needs beyond them are sent after them; parts it no longer needs
        are deleted. Resumable like ``send``: ``parts.advance`` gets each text part's id (None for a deletion).
        Returns the ids this attempt advanced. Files are not touched.

        A channel whose ``limits.edits`` is False raises PermanentFailure; so does a platform that refuses because
        the message is too old or gone. Otherwise raises like ``send``.
        """
        ...

    async def delete(self, address: str, message_ids: Sequence[str], parts: Parts) -> None:
        """Delete what the customer has (every id, text or file), pacing each call with ``parts.slot()`` and
        advancing after each; a message already gone is no error. A channel whose ``limits.deletes`` is False
        raises PermanentFailure, as does a platform refusing (too old). Otherwise raises like ``send``."""
        ...

    async def fetch(self, attachment: Attachment) -> bytes:
        """The bytes of a file the customer sent."""
        ...


@dataclass(frozen=True)
class CheckResult:
    """One line of ``check-config --online``: what was checked, whether it passed, and what to fix if not."""

    name: str
    ok: bool
    detail: str


class Drains(Protocol):
    """Optional: a connector that takes updates by itself (a poller) stops taking them, and goes on sending.

    Called first when the bot stops, so nothing new comes in while the deliveries under way finish; ``stop()``
    follows once they have. A webhook channel needs none: the web layer answers its routes 503 while draining.
    """

    async def stop_receiving(self) -> None: ...


class Checks(Protocol):
    """Optional: read-only questions to the platform for ``check-config --online`` (is the token valid, is the
    webhook set where one is configured); one result per question, never a change on the platform."""

    async def check(self) -> list[CheckResult]: ...


class ChannelSettings(Protocol):
    """A channel's validated settings (from its YAML section and the environment), able to build its connector."""

    channel: str

    def secret_values(self) -> tuple[str, ...]: ...

    def describe(self) -> str:
        """One line for ``check-config``: what is enabled and how (never a secret)."""
        ...

    def build(self, tuning: Tuning) -> Connector: ...


@dataclass(frozen=True)
class ChannelPlugin:
    """What a channel package exports as ``PLUGIN``: its name and how to read its settings."""

    channel: str
    label: str
    settings: Callable[..., ChannelSettings]  # (yaml_section: Mapping, env: Mapping) -> settings; ConfigError
    keys: tuple[str, ...] = field(default_factory=tuple)  # the keys its YAML section accepts
