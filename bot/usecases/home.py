"""What one person's App Home shows, read in one transaction, and who needs theirs redrawn after what happened to
conversations since a cursor (events are archived by every process, so any process can tell)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import BotConfig
from bot.domain.models import EventKind
from bot.store import home_queries
from bot.store.database import Database
from bot.store.home_queries import TeamFigures
from bot.store.saved_replies import SavedReply, SavedReplyStore, saved_reply_uses
from bot.store.timers import Inquiry

PAGE = 10  # lines per list: three lists, the figures and their buttons stay far below 100 blocks
CHANGES = (
    EventKind.OPENED, EventKind.CLAIMED, EventKind.UNCLAIMED, EventKind.CLOSED, EventKind.REOPENED,
    EventKind.CATEGORY_SET, EventKind.REASSIGNED, EventKind.MOVED, EventKind.HOLD_SET, EventKind.HOLD_ENDED,
)  # fmt: skip
EVENTS_PER_READ = 1000
USES_DAYS = 30


@dataclass(frozen=True)
class Listing:
    items: list[Inquiry]
    total: int
    page: int  # 0-based, clamped to the pages there are


@dataclass(frozen=True)
class Library:
    items: list[SavedReply]
    total: int
    page: int
    uses: dict[int, int]  # reply id -> messages sent from it in the last USES_DAYS days


@dataclass(frozen=True)
class HomeData:
    user: str
    mine: Listing
    attention: Listing
    categories: tuple[str, ...]  # the categories the person owns
    figures: TeamFigures
    library: Library
    now: datetime


def _clamp(page: int, total: int) -> int:
    last = max(0, (total - 1) // PAGE)
    return min(max(0, page), last)


class Home:
    def __init__(
        self, db: Database, config: BotConfig, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def start_of_day(self, now: datetime) -> datetime:
        """Midnight where the team works (the default business hours' time zone, else UTC), in UTC."""
        hours = self.config.business_hours.get("default")
        zone = ZoneInfo(hours.timezone) if hours else UTC
        local = now.astimezone(zone)
        return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)

    async def read(self, user: str, pages: dict[str, int], owned: tuple[str, ...]) -> HomeData:
        """``owned``: the categories the person owns, directly or through a user group."""
        now = self.clock()
        async with self.db.reading() as tx:
            conn = tx.conn
            mine = await self._listing(lambda o: home_queries.my_open(conn, user, o, PAGE), pages.get("mine", 0))
            attention = await self._listing(
                lambda o: home_queries.needing_attention(conn, owned, now, o, PAGE), pages.get("attention", 0)
            )
            figures = await home_queries.team_figures(conn, self.start_of_day(now), now)
            store = SavedReplyStore(conn)
            page = max(0, pages.get("library", 0))
            replies, total = await store.page(page * PAGE, PAGE)
            if not replies and page:
                page = _clamp(page, total)
                replies, total = await store.page(page * PAGE, PAGE)
            since = now - timedelta(days=USES_DAYS)
            counted = await saved_reply_uses(conn, since, now, reply_ids=[r.id for r in replies]) if replies else []
        uses = {reply_id: n for reply_id, _, n in counted}
        return HomeData(user, mine, attention, owned, figures, Library(replies, total, page, uses), now)

    async def _listing(self, read: Callable, page: int) -> Listing:
        items, total = await read(max(0, page) * PAGE)
        if not items and page > 0:  # the list shrank under the page shown: the last page there is
            page = _clamp(page, total)
            items, total = await read(page * PAGE)
        return Listing(items, total, max(0, page) if items else 0)

    async def cursor(self) -> int:
        async with self.db.reading() as tx:
            return await home_queries.last_event_id(tx.conn)

    async def concerned_since(self, cursor: int) -> tuple[set[str], int]:
        """Who is concerned by the conversation changes after ``cursor`` (the holder, whoever acted, the category's
        owners, a previous holder), and the cursor after them."""
        async with self.db.reading() as tx:
            found = await home_queries.events_after(tx.conn, cursor, CHANGES, EVENTS_PER_READ)
        people: set[str] = set()
        for event in found:
            people.update(_people(event, self.config))
            cursor = max(cursor, event.id)
        return people, cursor


def _people(event: home_queries.ConversationEvent, config: BotConfig) -> Iterable[str]:
    yield event.actor
    if event.holder:
        yield event.holder
    for key in ("previous", "from", "to"):
        value = event.detail.get(key)
        if isinstance(value, str):
            yield value
    category = config.categories.get(event.category) if event.category else None
    if category is not None:
        yield from category.owners
