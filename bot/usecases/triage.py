"""Routing and timing use cases: which category and owners an inquiry has, and whether it is answered in time.

Hooked into the conversation use cases (``ConversationHooks``), so everything here commits in the same transaction
as the message or reply that caused it, and adds its own use cases: the customer's category pick, a staff change of
category (moving the thread to the category's channel), reassignment, escalation timers and the /inquiries listing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config import BotConfig, Category
from bot.domain.hours import add_business_time, business_seconds, is_open
from bot.domain.i18n import CustomerTexts
from bot.domain.models import Conversation, Direction, EventKind, InboundMessage, Status
from bot.domain.routing import match_rules, mention, mentions
from bot.slack.text import escape
from bot.store.database import Database, Transaction, retried
from bot.store.timers import FIRST, SECOND, Inquiry, InquiryState, Timer
from bot.usecases.conversations import (
    POST_NOTICE,
    SEND_TO_CUSTOMER,
    ConversationHooks,
    customer_lane,
    queue_header_update,
    slack_lane,
)

log = logging.getLogger(__name__)

# Job kinds, handled in bot.slack.routing_delivery
MOVE_THREAD = "move_thread"  # open the conversation's thread in another channel, linking the old one
RETIRE_HEADER = "retire_header"  # turn the old first message into a pointer to the new place
POST_ESCALATION = "post_escalation"  # the second escalation, to a channel or a person

# How the category was decided, shown on the thread's first message
SOURCE_CUSTOMER = "customer"
SOURCE_RULES = "rules"
SOURCE_DEFAULT = "default"
SOURCE_STAFF = "staff"
SOURCE_NONE = "none"

PICK_PREFIX = "cat:"
CALLBACK_DATA_LIMIT = 64  # bytes Telegram allows in an inline button's callback_data


def pick_data(conversation_id: int, key: str) -> str:
    """The callback_data of a category button: the key itself when it fits in 64 bytes, else a short hash."""
    data = f"{PICK_PREFIX}{conversation_id}:{key}"
    if len(data.encode()) <= CALLBACK_DATA_LIMIT:
        return data
    return f"{PICK_PREFIX}{conversation_id}:#{_key_hash(key)}"


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse_pick(data: str, categories: Collection[str]) -> tuple[int, str | None] | None:
    """(conversation id, category key) from a button's callback_data; the key is None when no longer configured."""
    if not data.startswith(PICK_PREFIX):
        return None
    conversation, sep, token = data[len(PICK_PREFIX) :].partition(":")
    if not sep or not conversation.isdigit():
        return None
    if token.startswith("#"):
        return int(conversation), next((k for k in categories if _key_hash(k) == token[1:]), None)
    return int(conversation), token if token in categories else None


def duration(seconds: float) -> str:
    """A short human duration for staff: "4 min", "2 h 5 min", "3 days"."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"


def who(actor: str | None) -> str:
    """An actor of an event as staff read it: a Slack user is mentioned, a customer is "the customer"."""
    if actor and actor[:1] in "UW" and ":" not in actor:
        return f"<@{actor}>"
    return "the customer" if actor and ":" in actor else "the bot"


@dataclass(frozen=True)
class PickOutcome:
    """What a customer's tap on a category button did, and the short notice Telegram shows them."""

    status: str  # chosen, kept (staff decided already), ended, unknown, duplicate
    notice: str
    category: str | None = None


@dataclass(frozen=True)
class ChangeOutcome:
    status: str  # changed, same, unknown, closed, missing
    moved: bool = False


class Triage(ConversationHooks):
    def __init__(
        self,
        db: Database,
        config: BotConfig,
        texts: CustomerTexts,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.config = config
        self.texts = texts
        self.clock = clock

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
        await tx.timers.ensure_state(conversation_id)
        if message.edited:
            return False  # fixing a typo is not a new question: no clock restarts, no reply
        await tx.timers.customer_waiting(conversation_id, now)
        conversation = await tx.archive.conversation(conversation_id)
        assert conversation is not None
        hours = self.config.hours_for(conversation.category)
        if is_open(hours, now) or not await tx.timers.mark_after_hours_reply(conversation_id, now):
            return False
        text = (hours.auto_reply if hours else None) or self.texts.after_hours
        await self._tell_customer(tx, conversation, text, f"after-hours:{message.source_key}", now)
        await tx.archive.add_event(
            conversation_id, EventKind.AFTER_HOURS_REPLY, "bot", now, hours=hours.name if hours else None
        )
        return True

    async def acknowledged(self, tx: Transaction, conversation_id: int, message: InboundMessage, now: datetime) -> None:
        """Offer the categories as buttons, after the acknowledgement; the message itself is already on its way."""
        if not self.config.ask_category or not self.config.categories:
            return
        conversation = await tx.archive.conversation(conversation_id)
        assert conversation is not None
        rows = [
            [{"text": c.label_in(self.config.language), "data": pick_data(conversation_id, key)}]
            for key, c in self.config.categories.items()
        ]
        await self._tell_customer(
            tx, conversation, self.texts.choose_category, f"choose:{message.source_key}", now, buttons=rows
        )

    async def staff_replied(self, tx: Transaction, conversation: Conversation, user: str, now: datetime) -> None:
        hours = self.config.hours_for(conversation.category)
        seconds = business_seconds(hours, conversation.opened_at, now)
        await tx.timers.ensure_state(conversation.id)
        if not await tx.timers.answered(conversation.id, by=user, at=now, business_seconds=seconds):
            return
        await tx.timers.cancel(conversation.id)  # the time itself is archived in inquiry_state
        await self._update_header(tx, conversation)

    async def status_changed(self, tx: Transaction, conversation: Conversation, status: Status, now: datetime) -> None:
        await tx.timers.ensure_state(conversation.id)
        if status == Status.CLOSED:
            await tx.timers.resolved(conversation.id, at=now, seconds=(now - conversation.opened_at).total_seconds())
            await tx.timers.cancel(conversation.id)
        else:
            await tx.timers.resolved(conversation.id, at=None, seconds=None)
            await self._arm(tx, conversation.id)

    async def moved_thread(self, tx: Transaction, slack_channel: str, thread_ts: str) -> Conversation | None:
        return await tx.timers.conversation_by_alias(slack_channel, thread_ts)

    # --- use cases -------------------------------------------------------------------------------------------

    @retried
    async def pick(
        self,
        *,
        channel: str,
        address: str,
        data: str,
        actor: str,
        dedupe_key: str,
        cursor: tuple[str, str] | None = None,
    ) -> PickOutcome:
        """A customer tapped a category button; ``cursor`` (the connector's offset) commits with the outcome."""
        async with self.db.transaction() as tx:
            outcome = await self._pick(tx, channel, address, data, actor, dedupe_key)
            if cursor is not None:
                await tx.archive.put_setting(*cursor)
        return outcome

    async def _pick(
        self, tx: Transaction, channel: str, address: str, data: str, actor: str, dedupe_key: str
    ) -> PickOutcome:
        now = self.clock()
        thanks = self.texts.category_chosen
        parsed = parse_pick(data, self.config.categories)
        if parsed is None:
            return PickOutcome("unknown", "")
        conversation_id, key = parsed
        conversation = await tx.archive.conversation(conversation_id)
        if conversation is None or (conversation.channel, conversation.address) != (channel, address):
            return PickOutcome("unknown", "")  # a forged or foreign button: say nothing about other chats
        if conversation.status != Status.OPEN:
            return PickOutcome("ended", self.texts.conversation_ended)
        if not await tx.archive.mark_seen(dedupe_key, now):
            return PickOutcome("duplicate", thanks, conversation.category)
        if key is None:  # the category was removed from the configuration since the buttons went out
            return PickOutcome("unknown", thanks, conversation.category)
        state = await tx.timers.ensure_state(conversation_id)
        if state.category_source == SOURCE_STAFF:
            return PickOutcome("kept", thanks, conversation.category)
        if not await self._recategorise(tx, conversation, key, source=SOURCE_CUSTOMER, actor=actor, now=now):
            return PickOutcome("kept", thanks, conversation.category)
        return PickOutcome("chosen", thanks, key)

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
            await self._update_header(tx, conversation)
            text = f":raising_hand: {who(by_user)} handed this inquiry to {mention(to_user)}."
            await self._notice(tx, conversation, text)
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
            )

        def order(inquiry: Inquiry) -> tuple[Any, ...]:
            conf = self.category(inquiry.conversation.category)
            waiting = inquiry.state.waiting_since if inquiry.state else None
            return (
                not self.is_overdue(inquiry.state, now),
                -(conf.priority if conf else 0),
                waiting is None,
                waiting or inquiry.conversation.opened_at,
            )

        return sorted(found, key=order)

    @staticmethod
    def is_overdue(state: InquiryState | None, now: datetime) -> bool:
        return bool(
            state and state.first_response_at is None and state.first_response_due and state.first_response_due <= now
        )

    async def known_categories(self) -> set[str]:
        """Configured categories plus retired ones that open conversations still carry (for /inquiries filters)."""
        async with self.db.transaction() as tx:
            carried = await tx.timers.open_categories()
        return set(self.config.categories) | carried

    # --- timers ----------------------------------------------------------------------------------------------

    async def fire(self, tx: Transaction, timer: Timer, now: datetime) -> None:
        """Act on a timer this process has just claimed (in the claiming transaction, so it happens once)."""
        conversation = await tx.archive.conversation(timer.conversation_id)
        state = await tx.timers.state(timer.conversation_id)
        if conversation is None or conversation.status != Status.OPEN or (state and state.first_response_at):
            return  # answered or closed since it was armed
        conf = self.category(conversation.category)
        waited = duration((now - conversation.opened_at).total_seconds())
        target = f"{conf.first_response_minutes} min" if conf and conf.first_response_minutes else "none"
        if self.config.hours_for(conversation.category) is not None:
            target += " of business hours"
        if timer.kind == FIRST:
            people = list(conf.owners) if conf else []
            if conversation.holder and conversation.holder not in people:
                people.append(conversation.holder)
            owners = mentions(people) if people else "(the category is retired: nobody to mention)"
            text = f":alarm_clock: *No reply yet.* The customer has waited {waited} (target: {target}). {owners}"
            await self._notice(tx, conversation, text)
            await tx.archive.add_event(conversation.id, EventKind.ESCALATED, "timer", now, level=FIRST)
            return
        if timer.kind == SECOND and conf is not None and conf.escalation is not None:
            to = conf.escalation.to
            label = escape(conf.label)
            text = (
                f":rotating_light: *Still unanswered:* an inquiry from *{escape(conversation.customer_name)}* "
                f"({label}) has waited {waited} (target: {target})."
            )
            await tx.outbox.enqueue(
                lane=slack_lane(conversation.id),
                target=f"slack:{to}",
                kind=POST_ESCALATION,
                payload={"channel": to, "text": text},
                conversation_id=conversation.id,
                now=time.time(),
            )
            place = f"<#{to}>" if to[0] in "CG" else mention(to)
            escalated = f":rotating_light: Escalated to {place}: still no reply after {waited}."
            await self._notice(tx, conversation, escalated)
            await tx.archive.add_event(conversation.id, EventKind.ESCALATED, "timer", now, level=SECOND, to=to)

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
        if conversation.status != Status.OPEN or state.first_response_at is not None or conf is None or not target:
            await tx.timers.set_due(conversation_id, None)
            await tx.timers.cancel(conversation_id)
            return
        hours = self.config.hours_for(conversation.category)
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
            await self._update_header(tx, conversation)  # only who decided changed
            return True
        await tx.archive.add_event(
            conversation.id, EventKind.CATEGORY_SET, actor, now, category=key, previous=previous, source=source
        )
        home = self._home(key)
        if home != conversation.slack_channel:
            await tx.archive.add_event(
                conversation.id, EventKind.MOVED, actor, now, slack_channel=home, previous=conversation.slack_channel
            )
            await tx.outbox.enqueue(
                lane=slack_lane(conversation.id),
                target=f"slack:{home}",
                kind=MOVE_THREAD,
                payload={"channel": home},
                conversation_id=conversation.id,
                now=time.time(),
            )
            return True
        await self._update_header(tx, conversation)
        conf = self.category(key)
        owners = mentions(conf.owners) if conf else ""
        was = f" (was {escape(self._label(previous))})" if previous else ""
        text = f":label: {who(actor)} set the category to *{escape(self._label(key))}*{was}. {owners}".rstrip()
        await self._notice(tx, conversation, text)
        return True

    def _label(self, key: str | None) -> str:
        conf = self.category(key)
        if conf:
            return conf.label
        return f"{key} (retired)" if key else "Uncategorised"

    async def _update_header(self, tx: Transaction, conversation: Conversation) -> None:
        await queue_header_update(tx, conversation)

    async def _notice(self, tx: Transaction, conversation: Conversation, text: str) -> None:
        """A bot post in the conversation's thread (wherever the thread is when it is delivered)."""
        await tx.outbox.enqueue(
            lane=slack_lane(conversation.id),
            target=f"slack:{conversation.slack_channel}",
            kind=POST_NOTICE,
            payload={"text": text},
            conversation_id=conversation.id,
            now=time.time(),
        )

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
        payload: dict[str, Any] = {"format": "plain"}
        if buttons:
            payload["buttons"] = buttons
        await tx.outbox.enqueue(
            lane=customer_lane(conversation.channel, conversation.address),
            target=f"{conversation.channel}:{conversation.address}",
            kind=SEND_TO_CUSTOMER,
            payload=payload,
            conversation_id=conversation.id,
            message_id=message_id,
            now=time.time(),
        )
