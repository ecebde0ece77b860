"""Use cases of the team's memory of a customer: find, profile, stage, tags, notes, contact attempts, merge, erase,
and search over the whole archive.

Each use case is one transaction, and every look at customer data (a search page, a profile) writes its audit row in
that same transaction: a view that was shown was recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.config import DEFAULT_STAGES, BotConfig
from bot.domain.ids import parse_id
from bot.domain.models import EventKind, Status
from bot.domain.tagging import tag_name
from bot.store.customers import CustomerRow
from bot.store.database import Database, Transaction, retried
from bot.store.search_results import Filters, Hit
from bot.usecases import jobs
from bot.usecases.crm_query import MAX_QUERY_CHARS, PAGE_SIZE, Cursor, merge_by_time, parse_day, parse_query
from bot.usecases.customer_records import (
    CONTACT_METHODS,
    NOTE_CHARS,
    UNION_LIMIT,
    CustomerCard,
    Earlier,
    ErasureReport,
    MergeOutcome,
    Profile,
    SearchPage,
    normalize_tags,
)
from bot.usecases.errors import CrmError

log = logging.getLogger(__name__)

TIMELINE_READ = 60  # entries read for a profile: runs of page views fold into one line, so more than are shown


class Customers:
    def __init__(
        self,
        db: Database,
        config: BotConfig | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    @property
    def stages(self) -> tuple[str, ...]:
        stages = getattr(self.config, "crm_stages", None) if self.config is not None else None
        return tuple(stages) if stages else DEFAULT_STAGES

    # --- finding ---------------------------------------------------------------------------------------------

    @retried
    async def find(self, query: str, viewer: str) -> list[CustomerCard]:
        """Customers for ``/customer``: ``12`` or ``#12`` (an id, or else a channel id), ``@username``, or a name;
        recorded as a lookup of ``viewer``."""
        query = query.strip()
        async with self.db.transaction() as tx:
            ids = await self._find(tx, query)
            cards = [await self._card(tx, i) for i in ids[:UNION_LIMIT]]
            await tx.customers.audit(viewer, "lookup", query, self.clock(), customers=[c.id for c in cards])
            return cards

    async def _find(self, tx: Transaction, query: str) -> list[int]:
        if not query:
            return []
        bare = query.lstrip("#")
        if bare.isascii() and bare.isdigit():  # a customer's id, else the id a channel knows them by
            number = parse_id(bare)
            if number is None:
                log.warning("%s… was asked for as a customer's id; it is beyond any id", bare[:24])
            elif (survivor := await tx.search.survivor(number)) is not None:
                return [survivor]
            return await self._survivors(tx, await tx.customers.by_external_id(bare))
        if query.startswith("@") and len(query) > 1:
            exact = await tx.customers.by_username(query[1:])
            if exact:
                return await self._survivors(tx, exact)
        return await tx.search.customers_matching(query.split(), limit=UNION_LIMIT + 1)

    async def _survivors(self, tx: Transaction, ids: Sequence[int]) -> list[int]:
        out: dict[int, None] = {}
        for customer_id in ids:
            survivor = await tx.search.survivor(customer_id)
            if survivor is not None:
                out[survivor] = None
        return list(out)

    async def _card(self, tx: Transaction, customer_id: int) -> CustomerCard:
        row = await tx.customers.customer(customer_id)
        assert row is not None
        idents = await tx.customers.identities_of(customer_id)
        latest = await tx.customers.conversations_of(customer_id, limit=1)
        return CustomerCard(
            id=row.id,
            name=row.name,
            username=row.username,
            channels=tuple(dict.fromkeys(i.channel for i in idents)),
            conversations=await tx.customers.count_conversations(customer_id),
            stage=self._stage(row),
            last_thread=(latest[0].slack_channel, latest[0].thread_ts) if latest and latest[0].thread_ts else None,
            last_at=latest[0].last_message_at if latest else None,
            erased=row.erased_at is not None,
        )

    def _stage(self, row: CustomerRow) -> str:
        return row.stage or self.stages[0]

    async def _customer(self, tx: Transaction, customer_id: int) -> int:
        survivor = await tx.search.survivor(customer_id)
        if survivor is None:
            raise CrmError(f"There is no customer #{customer_id}.")
        return survivor

    async def customer_of_conversation(self, conversation_id: int) -> int:
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                raise CrmError("That conversation is not in the archive.")
            return await self._customer(tx, conversation.customer_id)

    # --- looking ---------------------------------------------------------------------------------------------

    @retried
    async def profile(self, customer_id: int, viewer: str, *, via: str) -> Profile:
        """Everything the team knows of a customer; recorded as a profile view of ``viewer``."""
        async with self.db.transaction() as tx:
            survivor = await self._customer(tx, customer_id)
            row = await tx.customers.customer(survivor)
            assert row is not None
            profile = Profile(
                customer=row,
                stage=self._stage(row),
                stages=self.stages,
                identities=await tx.customers.identities_of(survivor),
                conversations=await tx.customers.conversations_of(survivor, limit=10),
                conversation_count=await tx.customers.count_conversations(survivor),
                tags=await tx.customers.tags(survivor),
                timeline=await tx.customers.timeline(survivor, limit=TIMELINE_READ),
                asked_for=customer_id,
                asked_about=tuple(await tx.tags.of_customer(survivor)),
            )
            await tx.customers.audit(viewer, "profile", str(survivor), self.clock(), via=via)
            return profile

    @retried
    async def earlier(self, conversation_id: int, viewer: str, *, limit: int = 5) -> Earlier:
        """The conversations the customer had before this one, newest first; recorded as a profile view."""
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                raise CrmError("That conversation is not in the archive.")
            customer_id = await self._customer(tx, conversation.customer_id)
            rows = await tx.customers.conversations_of(customer_id, limit=limit, before_id=conversation_id)
            total = await tx.customers.count_conversations(customer_id, before_id=conversation_id)
            firsts = await tx.customers.first_messages([r.id for r in rows])
            await tx.customers.audit(
                viewer, "profile", str(customer_id), self.clock(), via="earlier", conversation=conversation_id
            )
            return Earlier(customer_id=customer_id, total=total, conversations=rows, first_messages=firsts)

    @retried
    async def search(
        self, query: str, viewer: str, *, cursor: Cursor | None = None, page_size: int = PAGE_SIZE
    ) -> SearchPage:
        """One page of ``/history``: newest first, messages and timeline notes together; recorded for ``viewer``."""
        cursor = cursor or Cursor()
        query = query.strip()[:MAX_QUERY_CHARS]
        parsed = parse_query(query)
        async with self.db.transaction() as tx:
            now = self.clock()
            try:
                filters = await self._filters(tx, parsed.filters)
            except CrmError as exc:
                await tx.customers.audit(viewer, "search", query, now, page=cursor.page, results=0, error=str(exc))
                return SearchPage(query, parsed.terms, parsed.filters, [], page=cursor.page, error=str(exc))
            union: list[int] = []
            cards: list[CustomerCard] = []
            more_customers = False
            if parsed.terms:
                matching = await tx.search.customers_matching(parsed.terms, limit=UNION_LIMIT + 1)
                if filters.customer_ids is not None:
                    matching = [c for c in matching if c in filters.customer_ids]
                if len(matching) <= UNION_LIMIT:
                    union = matching
                more_customers = len(matching) > 5
                if cursor.page == 1:
                    cards = [await self._card(tx, c) for c in matching[:5]]
            found_messages: list[Hit] = []
            found_notes: list[Hit] = []
            if cursor.messages_before != 0:
                found_messages = await tx.search.messages(
                    parsed.terms, filters, before=cursor.messages_before, limit=page_size + 1, of_customers=union
                )
            if cursor.notes_before != 0:
                found_notes = await tx.search.notes(
                    parsed.terms, filters, before=cursor.notes_before, limit=page_size + 1, of_customers=union
                )
            hits, took_messages, took_notes = merge_by_time(found_messages, found_notes, page_size)

            def next_before(found: list[Hit], took: int, before: int | None) -> int | None:
                if took == len(found):
                    return 0  # every match of this source is shown: it is exhausted
                return found[took - 1].id if took else before

            next_cursor = None
            if took_messages < len(found_messages) or took_notes < len(found_notes):
                next_cursor = Cursor(
                    next_before(found_messages, took_messages, cursor.messages_before),
                    next_before(found_notes, took_notes, cursor.notes_before),
                    cursor.page + 1,
                )
            await tx.customers.audit(
                viewer, "search", query, now, page=cursor.page, results=len(hits), customers=[c.id for c in cards]
            )
            return SearchPage(
                query=query,
                terms=parsed.terms,
                filters=parsed.filters,
                hits=hits,
                customers=cards,
                more_customers=more_customers,
                next_cursor=next_cursor,
                page=cursor.page,
            )

    async def _filters(self, tx: Transaction, raw: dict[str, str]) -> Filters:
        customer_ids = None
        if "customer" in raw:
            found = await self._find(tx, raw["customer"])
            if not found:
                raise CrmError(f"No customer matches “customer:{raw['customer']}”.")
            customer_ids = tuple(found)
        category = None
        if "category" in raw:
            category = self._category_key(raw["category"])
        since = parse_day(raw["from"]) if "from" in raw else None
        until = parse_day(raw["to"], end=True) if "to" in raw else None
        channel = raw["channel"].strip().lower() if "channel" in raw else None
        tag = tag_name(raw.get("tag"), self.config.tags.names if self.config is not None else ())
        return Filters(customer_ids=customer_ids, category=category, channel=channel, since=since, until=until, tag=tag)

    def _category_key(self, value: str) -> str:
        categories = dict(self.config.categories) if self.config is not None else {}
        if value in categories:
            return value
        folded = value.casefold()
        for key, category in categories.items():
            if key.casefold() == folded or category.label.casefold() == folded:
                return key
        return value  # a retired category is still in the archive

    # --- changing --------------------------------------------------------------------------------------------

    @retried
    async def set_stage(self, customer_id: int, stage: str, actor: str) -> bool:
        """Move the customer along the pipeline; False when it already was at that stage."""
        if stage not in self.stages:
            raise CrmError(f"“{stage}” is not a stage of the pipeline ({', '.join(self.stages)}).")
        async with self.db.transaction() as tx:
            survivor = await self._customer(tx, customer_id)
            row = await tx.customers.customer(survivor)
            assert row is not None
            current = self._stage(row)
            if current == stage and row.stage is not None:
                return False
            now = self.clock()
            await tx.customers.set_stage(survivor, stage, now)
            await tx.customers.add_activity(survivor, "stage", actor, now, detail={"from": current, "to": stage})
            return True

    @retried
    async def set_tags(self, customer_id: int, tags: str | Sequence[str], actor: str) -> tuple[list[str], list[str]]:
        """Replace the customer's tags; returns (added, removed)."""
        wanted = normalize_tags(tags)
        async with self.db.transaction() as tx:
            survivor = await self._customer(tx, customer_id)
            now = self.clock()
            added, removed = await tx.customers.set_tags(survivor, wanted, actor, now)
            if added or removed:
                detail = {"added": added, "removed": removed}
                await tx.customers.add_activity(survivor, "tags", actor, now, detail=detail)
            return added, removed

    @retried
    async def add_note(self, customer_id: int, text: str, actor: str, *, conversation_id: int | None = None) -> int:
        text = text.strip()
        if not text:
            raise CrmError("A note needs some text.")
        if len(text) > NOTE_CHARS:
            raise CrmError(f"A note has at most {NOTE_CHARS} characters.")
        async with self.db.transaction() as tx:
            survivor = await self._customer(tx, customer_id)
            return await tx.customers.add_activity(
                survivor, "note", actor, self.clock(), text=text, conversation_id=conversation_id
            )

    @retried
    async def log_contact(
        self, customer_id: int, method: str, outcome: str, actor: str, *, conversation_id: int | None = None
    ) -> int:
        """A contact attempt ("called, no answer"): the method and what came of it, on the timeline."""
        if method not in CONTACT_METHODS:
            raise CrmError(f"The contact method is one of {', '.join(CONTACT_METHODS)}.")
        outcome = outcome.strip()
        if not outcome:
            raise CrmError("Say what came of it (e.g. “no answer”).")
        if len(outcome) > NOTE_CHARS:
            raise CrmError(f"An outcome has at most {NOTE_CHARS} characters.")
        async with self.db.transaction() as tx:
            survivor = await self._customer(tx, customer_id)
            return await tx.customers.add_activity(
                survivor,
                "contact",
                actor,
                self.clock(),
                text=outcome,
                conversation_id=conversation_id,
                detail={"method": method},
            )

    async def merge_preview(self, keep_query: str, other_query: str) -> tuple[CustomerCard, CustomerCard]:
        """The two customers ``/customer merge`` names, each unambiguous, distinct and not erased."""
        async with self.db.transaction() as tx:
            keep = await self._one(tx, keep_query)
            other = await self._one(tx, other_query)
            if keep == other:
                raise CrmError("Both name the same customer: nothing to merge.")
            return await self._card(tx, keep), await self._card(tx, other)

    async def _one(self, tx: Transaction, query: str) -> int:
        found = await self._find(tx, query)
        if not found:
            raise CrmError(f"No customer matches “{query}”.")
        if len(found) > 1:
            raise CrmError(f"“{query}” matches {len(found)} customers; name one by its id (#12) or @username.")
        return found[0]

    @retried
    async def merge(self, keep: int, other: int, actor: str) -> MergeOutcome:
        """Move every identity, conversation, note and tag of ``other`` to ``keep``; archived as an event, a
        timeline entry and an audit row."""
        async with self.db.transaction() as tx:
            keep = await self._customer(tx, keep)
            other = await self._customer(tx, other)
            if keep == other:
                raise CrmError("These customers were merged already.")
            before_keep, before_other = await self._card(tx, keep), await self._card(tx, other)
            now = self.clock()
            counts = await tx.customers.merge(keep, other, now)
            detail = {"into": keep, "from": other, **counts.__dict__}
            await tx.customers.add_activity(keep, "merge", actor, now, detail=detail)
            await tx.customers.add_event("customer_merged", actor, now, **detail)
            await tx.customers.audit(actor, "merge", str(keep), now, **detail)
            return MergeOutcome(keep=before_keep, other=before_other, counts=counts)

    @retried
    async def erase(self, customer_id: int, actor: str) -> ErasureReport:
        """Remove the customer's personal data and message texts for good; counts and timings stay, and an audit
        row and an event say that it happened (not what was erased)."""

        started = time.monotonic()
        async with self.db.transaction() as tx:
            survivor = await self._customer(tx, customer_id)
            now = self.clock()
            await tx.channel_records.forget(survivor)  # before the identities lose their addresses
            counts = await tx.customers.erase(survivor, now)
            await tx.origins.forget(survivor)
            for conversation in await tx.customers.conversations_of(survivor, limit=1000):
                await tx.archive.forget_edited_texts(conversation.id)  # staff edits quoted the erased replies
                await tx.parts.forget([conversation.id])  # which platform messages carried them
                await tx.surveys.forget(conversation.id)  # a comment on a rating, a question not asked yet
                if conversation.status == Status.OPEN:  # nobody is left to answer
                    await tx.archive.change_status(conversation.id, Status.OPEN, Status.CLOSED, now)
                    await tx.archive.add_event(conversation.id, EventKind.CLOSED, actor, now, reason="customer erased")
                if conversation.thread_ts:
                    await jobs.refresh_header(tx, conversation)
            seconds = time.monotonic() - started
            detail = {"customer": survivor, **counts.__dict__, "seconds": round(seconds, 3)}
            await tx.customers.add_activity(survivor, "erase", actor, now, detail=detail)
            await tx.customers.add_event("customer_erased", actor, now, **detail)
            await tx.customers.audit(actor, "erase", str(survivor), now, **detail)
        return ErasureReport(customer_id=survivor, counts=counts, seconds=seconds)

    @retried
    async def refused(self, actor: str, what: str) -> None:
        """Record that someone who is not staff tried to look (they were shown nothing)."""
        async with self.db.transaction() as tx:
            await tx.customers.audit(actor, "refused", what[:512], self.clock())
