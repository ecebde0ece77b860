"""The inbox every customer channel writes to: updates stored in order, a bad one quarantined, never retried for ever.

Group commit: calls that arrive while a commit is under way wait and share the next transaction, so a process is
not capped at its database's commits per second; every caller is answered only after its items are committed.
A group runs without savepoints first; when something in it fails, the transaction is rolled back and the group
runs again with a savepoint for each caller and each item:

- an item the database refuses for what it is (bad data, a bug its content triggers) is quarantined: kept whole as
  a dead letter, the team told once in the inbox channel, and the items after it go on;
- a failure of the database itself (locked, gone, a deadlock) fails the caller, with nothing of its batch stored,
  so the channel offers the same updates again (a webhook answers 5xx, a poller asks again).

A connector's cursor (Telegram's update offset) is saved in the same commit as the batch it confirms.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.connectors.base import Activity, ButtonTap, Item, Outcome, Received, Unreadable
from bot.domain import notices
from bot.domain.cleaning import clean
from bot.domain.models import InboundMessage
from bot.observability.logs import log_context
from bot.observability.metrics import Metrics
from bot.store.database import Database, Transaction, contention, retried
from bot.usecases import jobs
from bot.usecases.follow_ups import FollowUps
from bot.usecases.inbox import ChannelInbox, cursor_key
from bot.usecases.receiving import Receiving

log = logging.getLogger(__name__)

GROUP_LIMIT = 200  # items in one group commit at most: bounds a transaction's length and its answers' wait
_TRANSIENT_SQLSTATES = ("40001", "40P01", "08", "53", "57P")  # serialization, deadlock, connection, resources


def is_transient(exc: BaseException) -> bool:
    """Whether the database itself failed (try again later), rather than refused this item."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        return state.startswith(_TRANSIENT_SQLSTATES)
    return False


class _Refused(Exception):
    """Something in a group stored without savepoints failed: it runs again, each item in a savepoint of its own."""


class TapHandler(Protocol):
    """What a customer's tap on one kind of button does (a category pick: bot.usecases.triage.Triage.pick_in)."""

    def __call__(
        self, tx: Transaction, *, channel: str, address: str, data: str, actor: str, dedupe_key: str
    ) -> Awaitable[Outcome]: ...


@dataclass
class _Batch:
    channel: str
    items: Sequence[Item]
    cursor: str | None
    future: asyncio.Future[list[Outcome]]

    def order_key(self) -> tuple[str, str]:
        first = self.items[0] if self.items else None
        if isinstance(first, Received):
            return self.channel, first.message.sender.external_id
        if isinstance(first, Activity):
            return self.channel, first.sender.external_id
        return self.channel, ""


class Intake:
    def __init__(
        self,
        db: Database,
        receiving: Receiving,
        taps: Mapping[str, TapHandler],
        *,
        alert_channel: str,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics or Metrics()
        self.receiving = receiving
        self.follow_ups = FollowUps(receiving)
        self.taps = dict(taps)  # by the prefix of the button's data: "cat:" -> the category pick
        self.alert_channel = alert_channel
        self.clock = clock
        self._waiting: list[_Batch] = []
        self._writer: asyncio.Task[None] | None = None

    def inbox(self, channel: str) -> ChannelInbox:
        return ChannelInbox(self, channel)

    async def receive(self, message: InboundMessage) -> Outcome:
        """One customer message, as a connector would hand it over (tests, benchmarks)."""
        return (await self.submit(message.channel, [Received(message)]))[0]

    async def submit(self, channel: str, items: Sequence[Item], cursor: str | None = None) -> list[Outcome]:
        future: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Batch(channel, list(items), cursor, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting(), name="receive-group-commit")
        log_context(channel=channel)
        outcomes = await asyncio.shield(future)  # a caller that gives up does not cancel the others' commit
        stored = [o for i, o in zip(items, outcomes, strict=False) if isinstance(i, Received) and _new_message(o)]
        self.metrics.received(channel, len(stored))
        return outcomes

    async def _write_waiting(self) -> None:
        while self._waiting:
            group: list[_Batch] = []
            size = 0
            while self._waiting and (not group or size + len(self._waiting[0].items) <= GROUP_LIMIT):
                batch = self._waiting.pop(0)
                group.append(batch)
                size += len(batch.items)
            # Same order in every process for rows of the same customers (fewer deadlocks on PostgreSQL); the sort
            # is stable, so one customer's messages keep the order they arrived in. Cursors must stay in order.
            if not any(b.cursor for b in group):
                group.sort(key=_Batch.order_key)
            outcomes: list[list[Outcome] | BaseException]
            try:
                outcomes = await self._store_group(group)
            except Exception as exc:  # the commit itself failed: nothing of the group is stored
                outcomes = [exc] * len(group)
            for batch, outcome in zip(group, outcomes, strict=True):
                if batch.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    batch.future.set_exception(outcome)
                else:
                    batch.future.set_result(outcome)

    @retried
    async def _store_group(self, group: Sequence[_Batch]) -> list[list[Outcome] | BaseException]:
        """The group's one transaction; its callers are answered only after it returns (contention runs it again).

        It runs without savepoints (each costs two statements per item); when something in it fails, it runs again
        with a savepoint per batch and per item, which keeps the others and quarantines the one at fault."""
        try:
            return await self._store_group_in(group, careful=False)
        except _Refused as refused:
            cause, size = refused.__cause__, sum(len(b.items) for b in group)
            log.warning(
                "a group of %d update(s) failed (%s: %s); storing them again one by one", size, type(cause).__name__,
                str(cause)[:300], exc_info=cause if not isinstance(cause, DBAPIError) else None,
            )  # fmt: skip
            return await self._store_group_in(group, careful=True)

    async def _store_group_in(self, group: Sequence[_Batch], *, careful: bool) -> list[list[Outcome] | BaseException]:
        async with self.db.transaction() as tx:
            keys = [i.message.source_key for b in group for i in b.items if isinstance(i, Received)]
            if not careful:
                return list(await self._store_at_once(tx, group, _archived_keys(tx, keys)))
            known = await tx.archive.existing_source_keys(keys)
            return [await self._store_batch(tx, batch, known) for batch in group]

    async def _store_at_once(
        self, tx: Transaction, group: Sequence[_Batch], known: Callable[[], Awaitable[set[str]]]
    ) -> list[list[Outcome]]:
        """Every caller's items and cursor, without savepoints; runs of customer messages go to ``FollowUps``
        together, anything else one by one in its place. Any failure but contention is ``_Refused``."""
        outcomes: list[list[Outcome | None]] = [[None] * len(batch.items) for batch in group]
        run: list[tuple[int, int, InboundMessage]] = []  # (caller, item, message)

        async def store_run() -> None:
            stored = await self.follow_ups.store(tx, [message for *_, message in run], known)
            for (caller, index, _), outcome in zip(run, stored, strict=True):
                outcomes[caller][index] = outcome
            run.clear()

        try:
            for caller, batch in enumerate(group):
                for index, item in enumerate(batch.items):
                    if isinstance(item, Received) and not item.greeting:
                        run.append((caller, index, clean(item.message)))
                        continue
                    if run:
                        await store_run()
                    outcomes[caller][index] = await self._store_one(tx, batch.channel, item, await known())
                if batch.cursor is not None:
                    await tx.archive.put_setting(cursor_key(batch.channel), batch.cursor)
            if run:
                await store_run()
        except Exception as exc:
            if contention(exc):
                raise
            raise _Refused from exc
        return [[o for o in batch if o is not None] for batch in outcomes]

    async def _store_batch(self, tx: Transaction, batch: _Batch, known: set[str]) -> list[Outcome] | BaseException:
        """A caller's items and cursor in one savepoint: all of them, or (the database failing) none."""
        try:
            async with tx.conn.begin_nested():
                outcomes = [await self._store_item(tx, batch.channel, item, known) for item in batch.items]
                if batch.cursor is not None:
                    await tx.archive.put_setting(cursor_key(batch.channel), batch.cursor)
            return outcomes
        except Exception as exc:
            if contention(exc):  # the whole transaction was refused: it runs again, this batch with the rest
                raise
            log.warning("could not store %d update(s) of %s; they come again: %s", len(batch.items), batch.channel, exc)
            return exc

    async def _store_one(self, tx: Transaction, channel: str, item: Item, known: set[str]) -> Outcome:
        log_context(channel=channel)
        if isinstance(item, Unreadable):
            return await self._quarantine(tx, channel, item)
        return await self._store(tx, channel, item, known)

    async def _store_item(self, tx: Transaction, channel: str, item: Item, known: set[str]) -> Outcome:
        log_context(channel=channel)
        if isinstance(item, Unreadable):
            return await self._quarantine(tx, channel, item)
        try:
            async with tx.conn.begin_nested():
                return await self._store(tx, channel, item, known)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.error("an update from %s could not be stored; quarantining it", channel, exc_info=exc)
            return await self._quarantine(tx, channel, _unreadable(channel, item, exc))

    async def _store(
        self, tx: Transaction, channel: str, item: Received | ButtonTap | Activity, known: set[str]
    ) -> Outcome:
        if isinstance(item, Activity):
            return await self.receiving.activity(tx, channel, item)
        if isinstance(item, ButtonTap):
            handler = next((h for prefix, h in self.taps.items() if item.data.startswith(prefix)), None)
            if handler is None:
                return Outcome(status="unknown")  # a button this bot never sent, or one of a retired feature
            return await handler(
                tx, channel=channel, address=item.address, data=item.data, actor=f"{channel}:{item.user_id}",
                dedupe_key=f"{channel}:pick:{item.key}",
            )  # fmt: skip
        message = clean(item.message)
        if item.greeting:
            await self.receiving.greet(tx, message)
            return Outcome()
        return await self.receiving.message(tx, message, known)

    async def _quarantine(self, tx: Transaction, channel: str, item: Unreadable) -> Outcome:
        number, new = await tx.dead_letters.keep(
            channel=channel, key=item.key, raw=item.raw, error=item.error, address=item.address, who=item.who,
            now=self.clock(),
        )  # fmt: skip
        if new:
            notice = notices.quarantined(
                channel=channel, number=number, address=item.address, who=item.who, error=item.error[:300]
            )
            await jobs.alert(tx, self.alert_channel, notice)
            log.warning("kept an update from %s as dead letter #%d: %s", channel, number, item.error[:300])
        return Outcome(quarantined=number)


def _archived_keys(tx: Transaction, keys: Sequence[str]) -> Callable[[], Awaitable[set[str]]]:
    """Which of the group's source keys are archived: read once, the first time it is asked (a group of follow-ups
    never asks), and then the same set each time. Asked after part of the group was stored, it holds those keys
    too: ``FollowUps.store`` takes out what the group archived itself before it hands the set on."""
    found: list[set[str]] = []

    async def known() -> set[str]:
        if not found:
            found.append(await tx.archive.existing_source_keys(keys))
        return found[0]

    return known


def _new_message(outcome: Outcome) -> bool:
    """A customer's message stored now (not a redelivery, a greeting or a quarantined update)."""
    return outcome.conversation_id is not None and not outcome.duplicate and outcome.quarantined is None


def _unreadable(channel: str, item: Received | ButtonTap | Activity, exc: BaseException) -> Unreadable:
    """What is kept of an item the database refused: the platform's update, else the item as the bot read it."""
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(item, Received):
        message = item.message
        raw = item.raw or json.dumps(asdict(message), default=str, ensure_ascii=False)
        return Unreadable(
            key=f"{channel}:stored:{message.source_key}", raw=raw, error=error, address=message.address,
            who=message.sender.display_name,
        )  # fmt: skip
    if isinstance(item, Activity):
        raw = json.dumps(asdict(item), default=str, ensure_ascii=False)
        who = item.sender.display_name
        return Unreadable(key=f"{channel}:activity:{item.key}", raw=raw, error=error, address=item.sender.external_id,
                          who=who)  # fmt: skip
    raw = item.raw or json.dumps(asdict(item), ensure_ascii=False)
    return Unreadable(key=f"{channel}:pick:{item.key}", raw=raw, error=error, address=item.address)
