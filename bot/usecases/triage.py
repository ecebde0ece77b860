"""Routing and timing use cases: which category and owners an inquiry has, and whether it is answered in time.

Hooked into the conversation use cases (``ConversationHooks``), so everything here commits in the same transaction
as the message or reply that caused it, and adds its own use cases: the customer's category pick, a staff change of
category (moving the thread to the category's channel), reassignment, escalation timers and the /inquiries listing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config import BotConfig, Category
from bot.connectors.base import Outcome
from bot.domain import notices
from bot.domain.hours import add_business_time, business_seconds, is_open
from bot.domain.i18n import CustomerTexts, TextBook, pick_language
from bot.domain.models import Conversation, Direction, EventKind, InboundMessage, Status
from bot.domain.routing import match_rules
from bot.store.database import Database, Transaction, retried
from bot.store.timers import FIRST, SECOND, WAKE, Inquiry, InquiryState, Timer
from bot.usecases import jobs
from bot.usecases.holds import Holds
from bot.usecases.hooks import ConversationHooks, FollowUp
from bot.usecases.picks import (
    SOURCE_CUSTOMER,
    SOURCE_DEFAULT,
    SOURCE_NONE,
    SOURCE_RULES,
    SOURCE_STAFF,
    parse_pick,
    pick_data,
)

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ChangeOutcome:
    status: str  # changed, same, unknown, closed, missing
    moved: bool = False


class Triage(ConversationHooks):
    def __init__(
        self,
        db: Database,
        config: BotConfig,
        texts: TextBook,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        button_data: Mapping[str, int] | None = None,
    ) -> None:
        """``button_data``: per customer channel, the bytes a button may carry (its declared limits); a channel
        missing there, or with 0, is offered no category buttons."""
        self.db = db
        self.config = config
        self.texts = texts
        self.clock = clock
        self.button_data = dict(button_data or {})
        self.holds = Holds(db, config, clock=clock, rearm=self._arm)  # waiting on the customer, on hold

    def language_of(self, conversation: Conversation) -> str:
        """The language the conversation's customer reads, as it is now."""
        return pick_language(conversation.language, conversation.language_code, self.config.language)

    def texts_for(self, conversation: Conversation) -> CustomerTexts:
        return self.texts(self.language_of(conversation))

    def category(self, key: str | None) -> Category | None:
        return self.config.categories.get(key) if key else None

    # --- hooks: inside the conversation use cases' transactions ----------------------------------------------

    async def opened(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, category: str | None, now: datetime
    ) -> None:
        if category is None:
            source = SOURCE_NONE
        elif match_rules(message.text, self.config.categories) == category:
            source = SOURCE_RULES
        else:
            source = SOURCE_DEFAULT
        await tx.timers.create_state(conversation_id, source=source, set_by="routing", waiting_since=now)
        await self._arm(tx, conversation_id)

    async def customer_wrote(
        self, tx: Transaction, conversation_id: int, message: InboundMessage, *, opened: bool, now: datetime
    ) -> bool:
        state = await tx.timers.ensure_state(conversation_id)
        if message.edited:
            return False  # fixing a typo is not a new question: no clock restarts, no reply
        await self.holds.customer_wrote(tx, conversation_id, now, state=state)  # an inquiry waiting on them wakes
        await tx.timers.customer_waiting(conversation_id, now)
        if not self.config.business_hours:
            return False  # always open: nothing to tell them after hours (and no row to read for it)
        conversation = await tx.archive.conversation(conversation_id)
        assert conversation is not None
        hours = self.config.hours_for(conversation.category)
        if is_open(hours, now) or not await tx.timers.mark_after_hours_reply(conversation_id, now):
            return False
        texts = self.texts_for(conversation)
        text = (hours.reply_in(self.language_of(conversation)) if hours else None) or texts.after_hours
        await self._tell_customer(tx, conversation, text, f"after-hours:{message.source_key}", now)
        await tx.archive.add_event(
            conversation_id, EventKind.AFTER_HOURS_REPLY, "bot", now, hours=hours.name if hours else None
        )
        return True

    async def customers_wrote(self, tx: Transaction, follow_ups: Sequence[FollowUp], now: datetime) -> None:
        """Many waiting clocks started in one statement; an inquiry on hold, after hours or without its state row
        (older data) goes through ``customer_wrote``, as a message alone does."""
        plain = [f.active and is_open(self.config.hours_for(f.conversation.category), now) for f in follow_ups]
        for follow_up in (f for f, simple in zip(follow_ups, plain, strict=True) if not simple):
            await self.customer_wrote(tx, follow_up.conversation.id, follow_up.message, opened=False, now=now)
        starting = [f.conversation.id for f, simple in zip(follow_ups, plain, strict=True) if simple and f.waiting]
        await tx.timers.customers_waiting(starting, now)

    async def acknowledged(self, tx: Transaction, conversation_id: int, message: InboundMessage, now: datetime) -> None:
        """Offer the categories as buttons, after the acknowledgement; the message itself is already on its way."""
        if not self.config.ask_category or not self.config.categories:
            return
        conversation = await tx.archive.conversation(conversation_id)
        assert conversation is not None
        limit = self.button_data.get(conversation.channel, 0)
        rows = [
            [{"text": c.label_in(self.language_of(conversation)), "data": data}]
            for key, c in self.config.categories.items()
            if (data := pick_data(conversation_id, key, limit)) is not None
        ]
        if not rows:
            return
        await self._tell_customer(
            tx, conversation, self.texts_for(conversation).choose_category, f"choose:{message.source_key}", now,
            buttons=rows,
        )

    async def staff_replied(self, tx: Transaction, conversation: Conversation, user: str, now: datetime) -> None:
        hours = self.config.hours_for(conversation.category)
        seconds = business_seconds(hours, conversation.opened_at, now)
        state = await tx.timers.ensure_state(conversation.id)
        if not await tx.timers.answered(state, by=user, at=now, business_seconds=seconds):
            return
        await tx.timers.cancel(conversation.id)  # the time itself is archived in inquiry_state
        await jobs.refresh_header(tx, conversation)

    async def status_changed(self, tx: Transaction, conversation: Conversation, status: Status, now: datetime) -> None:
        state = await tx.timers.ensure_state(conversation.id)
        if status == Status.CLOSED and state.hold is not None:  # closed while waiting: it waits no more
            await self.holds.release(tx, conversation, state, now, by="closed", reason=None)
        if status == Status.CLOSED:
            await tx.timers.resolved(conversation.id, at=now, seconds=(now - conversation.opened_at).total_seconds())
            await tx.timers.cancel(conversation.id)
        else:
            await tx.timers.resolved(conversation.id, at=None, seconds=None)
            await self._arm(tx, conversation.id)

    async def moved_thread(self, tx: Transaction, slack_channel: str, thread_ts: str) -> Conversation | None:
        return await tx.timers.conversation_by_alias(slack_channel, thread_ts)

    # --- use cases -------------------------------------------------------------------------------------------

    async def pick_in(
        self, tx: Transaction, *, channel: str, address: str, data: str, actor: str, dedupe_key: str
    ) -> Outcome:
        """A customer tapped a category button (inside the inbox's transaction, with the connector's cursor)."""
        now = self.clock()
        parsed = parse_pick(data, self.config.categories)
        if parsed is None:
            return Outcome(status="unknown")
        conversation_id, key = parsed
        conversation = await tx.archive.conversation(conversation_id)
        if conversation is None or (conversation.channel, conversation.address) != (channel, address):
            return Outcome(status="unknown")  # a forged or foreign button: say nothing about other chats
        texts = self.texts_for(conversation)
        thanks = texts.category_chosen
        if conversation.status != Status.OPEN:
            return Outcome(conversation_id, status="ended", notice=texts.conversation_ended)
        if not await tx.archive.mark_seen(dedupe_key, now):
            return Outcome(conversation_id, status="duplicate", notice=thanks)
        if key is None:  # the category was removed from the configuration since the buttons went out
            return Outcome(conversation_id, status="unknown", notice=thanks)
        state = await tx.timers.ensure_state(conversation_id)
        if state.category_source == SOURCE_STAFF:
            return Outcome(conversation_id, status="kept", notice=thanks)
        if not await self._recategorise(tx, conversation, key, source=SOURCE_CUSTOMER, actor=actor, now=now):
            return Outcome(conversation_id, status="kept", notice=thanks)
        return Outcome(conversation_id, status="chosen", notice=thanks)

    @retried
    async def change_category(self, conversation_id: int, key: str, user: str) -> ChangeOutcome:
        """Staff picked a category on the thread's first message: the new owners are told, the thread may move."""
        if key not in self.config.categories:
            return ChangeOutcome("unknown")
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None:
                return ChangeOutcome("missing")
            if conversation.status != Status.OPEN:
                return ChangeOutcome("closed")
            state = await tx.timers.ensure_state(conversation_id)
            if conversation.category == key and state.category_source == SOURCE_STAFF:
                return ChangeOutcome("same")
            moved = self._home(key) != conversation.slack_channel
            await self._recategorise(tx, conversation, key, source=SOURCE_STAFF, actor=user, now=self.clock())
        return ChangeOutcome("changed", moved=moved)

    @retried
    async def reassign(self, conversation_id: int, to_user: str, by_user: str) -> bool:
        """Hand the inquiry to a person: they become the holder and are mentioned in the thread."""
        async with self.db.transaction() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            if conversation is None or conversation.holder == to_user:
                return False
            now = self.clock()
            previous = conversation.holder
            if not await tx.timers.set_holder(conversation_id, to_user, expected=previous):
                return False  # someone else changed the holder since it was read: theirs stands
            await tx.archive.add_event(
                conversation_id, EventKind.REASSIGNED, by_user, now, holder=to_user, previous=previous
            )
            await jobs.refresh_header(tx, conversation)
            await jobs.post_notice(tx, conversation, notices.reassigned(by=by_user, to=to_user))
        return True

    async def inquiries(
        self,
        *,
        user: str,
        mine: bool = False,
        unclaimed: bool = False,
        overdue: bool = False,
        categories: Collection[str] | None = None,
        limit: int = 200,
        tags: Collection[str] = (),
    ) -> list[Inquiry]:
        """Open inquiries for /inquiries: overdue first, then by priority, then the longest wait first."""
        now = self.clock()
        owned = [k for k, c in self.config.categories.items() if user in c.owners]
        async with self.db.transaction() as tx:
            found = await tx.timers.open_inquiries(
                now=now,
                unclaimed=unclaimed,
                overdue=overdue,
                categories=categories,
                mine=(user, owned) if mine else None,
                limit=limit,
                tags=tags,
            )

        def order(inquiry: Inquiry) -> tuple[Any, ...]:
            conf = self.category(inquiry.conversation.category)
            waiting = inquiry.state.waiting_since if inquiry.state else None
            return (
                not self.is_overdue(inquiry.state, now),
                bool(inquiry.state and inquiry.state.hold),  # waiting on the customer or on hold: after the rest
                -(conf.priority if conf else 0),
                waiting is None,
                waiting or inquiry.conversation.opened_at,
            )

        return sorted(found, key=order)

    @staticmethod
    def is_overdue(state: InquiryState | None, now: datetime) -> bool:
        due = state.first_response_due if state and state.first_response_at is None else None
        return bool(due and due <= now)

    async def known_categories(self) -> set[str]:
        """Configured categories plus retired ones that open conversations still carry (for /inquiries filters)."""
        async with self.db.transaction() as tx:
            carried = await tx.timers.open_categories()
        return set(self.config.categories) | carried

    # --- timers ----------------------------------------------------------------------------------------------

    async def fire(self, tx: Transaction, timer: Timer, now: datetime) -> str | None:
        """Act on a timer this process has just claimed (in the claiming transaction, so it happens once); returns
        the level escalated (first, second), None when nothing was due any more or the timer woke a held
        conversation."""
        if timer.kind == WAKE:
            await self.holds.fire(tx, timer, now)
            return None
        conversation = await tx.archive.conversation(timer.conversation_id)
        state = await tx.timers.state(timer.conversation_id)
        if conversation is None or conversation.status != Status.OPEN or (state and state.first_response_at):
            return None  # answered or closed since it was armed
        conf = self.category(conversation.category)
        waited = (now - conversation.opened_at).total_seconds()
        target = conf.first_response_minutes if conf else None
        business_hours = self.config.hours_for(conversation.category) is not None
        if timer.kind == FIRST:
            people = list(conf.owners) if conf else []
            if conversation.holder and conversation.holder not in people:
                people.append(conversation.holder)
            notice = notices.no_reply_yet(waited=waited, target=target, business_hours=business_hours, people=people)
            await jobs.post_notice(tx, conversation, notice)
            await tx.archive.add_event(conversation.id, EventKind.ESCALATED, "timer", now, level=FIRST)
            return FIRST
        if timer.kind == SECOND and conf is not None and conf.escalation is not None:
            to = conf.escalation.to
            post = notices.escalation(waited=waited, target=target, business_hours=business_hours)
            await jobs.escalate(tx, conversation, to, post)
            await jobs.post_notice(tx, conversation, notices.escalated(to=to, waited=waited))
            await tx.archive.add_event(conversation.id, EventKind.ESCALATED, "timer", now, level=SECOND, to=to)
            return SECOND
        return None

    # --- helpers ---------------------------------------------------------------------------------------------

    def _home(self, key: str | None) -> str:
        """The channel a category's inquiries live in: its own, else the inbox."""
        conf = self.category(key)
        return (conf.channel if conf else None) or self.config.inbox_channel

    async def _arm(self, tx: Transaction, conversation_id: int) -> None:
        """(Re)compute the first-response due time and the escalation timers from the conversation's category.

        The target counts business minutes from the opening, so the clock pauses outside hours; a timer that has
        fired stays fired, one that no longer applies is cancelled.
        """
        conversation = await tx.archive.conversation(conversation_id)
        state = await tx.timers.state(conversation_id)
        if conversation is None or state is None:
            return
        conf = self.category(conversation.category)
        target = conf.first_response_minutes if conf else None
        stopped = conversation.status != Status.OPEN or state.first_response_at is not None or state.hold is not None
        if stopped or conf is None or not target:  # answered, closed, waiting (the clock paused) or no target
            await tx.timers.set_due(conversation_id, None)
            await tx.timers.cancel(conversation_id)
            return
        hours = self.config.hours_for(conversation.category)
        target += (state.paused_seconds or 0) / 60  # the time it waited on the customer or on hold does not count
        due = add_business_time(hours, conversation.opened_at, target)
        second = None
        if conf.escalation is not None:
            second = add_business_time(hours, conversation.opened_at, target + conf.escalation.after_minutes)
        await tx.timers.set_due(conversation_id, due)
        await tx.timers.schedule(conversation_id, FIRST, due)
        await tx.timers.schedule(conversation_id, SECOND, second)

    async def _recategorise(
        self, tx: Transaction, conversation: Conversation, key: str, *, source: str, actor: str, now: datetime
    ) -> bool:
        """Set the category; tell the new owners, in a new thread in the category's channel when it has one."""
        previous = conversation.category
        unless = SOURCE_STAFF if source == SOURCE_CUSTOMER else None
        if not await tx.timers.set_category(conversation.id, key, source=source, set_by=actor, unless_source=unless):
            return False
        await self._arm(tx, conversation.id)
        if key == previous:
            await jobs.refresh_header(tx, conversation)  # only who decided changed
            return True
        await tx.archive.add_event(
            conversation.id, EventKind.CATEGORY_SET, actor, now, category=key, previous=previous, source=source
        )
        home = self._home(key)
        if home != conversation.slack_channel:
            await tx.archive.add_event(
                conversation.id, EventKind.MOVED, actor, now, slack_channel=home, previous=conversation.slack_channel
            )
            await jobs.move_thread(tx, conversation, home)
            return True
        await jobs.refresh_header(tx, conversation)
        conf = self.category(key)
        owners = list(conf.owners) if conf else []
        notice = notices.category_set(by=actor, category=key, previous=previous, owners=owners)
        await jobs.post_notice(tx, conversation, notice)
        return True

    async def _tell_customer(
        self,
        tx: Transaction,
        conversation: Conversation,
        text: str,
        source_key: str,
        now: datetime,
        *,
        buttons: list[list[dict[str, str]]] | None = None,
    ) -> None:
        """Archive and queue one of the bot's own texts for the customer (after whatever is queued before it)."""
        message_id = await tx.archive.insert_message(
            conversation_id=conversation.id,
            direction=Direction.AUTO,
            author_id="bot",
            author_name="threadbridge",
            channel=conversation.channel,
            text=text,
            source_key=source_key,
            now=now,
        )
        if message_id is None:
            return
        await jobs.to_customer(
            tx, channel=conversation.channel, address=conversation.address, conversation_id=conversation.id,
            message_id=message_id, buttons=buttons,
        )  # fmt: skip
