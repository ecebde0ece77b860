"""Satisfaction after Close: the 1–5 question some time after a conversation closes, the customer's rating from its
buttons, and the comment they may write after it.

- Close plans the question (``surveys`` row "due", a durable timer ``survey`` at close + delay), for the sample of
  conversations ``surveys.sample_percent`` picks (a hash of the id); Reopen before it is asked cancels it, and a
  later Close plans it again. One question per conversation, ever.
- The timer fires once across processes (bot.usecases.timers). It asks unless the conversation is open again, the
  customer was asked within ``cooldown_days``, has a new conversation open, or their channel shows no buttons;
  then the survey is "skipped".
- A rating counts once: the first press is kept, a second press (same or another button) is answered "already
  rated" and changes nothing. A press more than ``answer_within_days`` after the question is politely refused and
  recorded as an event only. A rating is still recorded after the conversation reopened (it rates what was done).
- After a rating, the customer's next message within ``comment_minutes`` is its comment, when no conversation of
  theirs is open: archived in the closed thread and on the survey, it opens no inquiry. It comes before the
  thanks-after-close rule (a "thanks!" then is the comment); once commented, later messages go as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.config import BotConfig
from bot.connectors.base import Outcome
from bot.domain import notices
from bot.domain.i18n import pick_language
from bot.domain.models import Conversation, Direction, EventKind, InboundMessage, Status
from bot.domain.surveys import RATINGS, SurveyTexts, in_sample, parse_rate, rate_data, survey_texts
from bot.store.database import Transaction
from bot.store.surveys import ANSWERED, ASKED, DUE, SKIPPED
from bot.store.timers import Timer
from bot.usecases import jobs
from bot.usecases.hooks import ConversationHooks

SURVEY = "survey"  # the timer kind: ask for the rating now


class Surveys(ConversationHooks):
    def __init__(
        self,
        config: BotConfig,
        *,
        clock: Callable[[], datetime],
        buttons: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        """``buttons``: per customer channel, (buttons a message may carry, bytes a button carries back)."""
        self.config = config
        self.settings = config.surveys
        self.clock = clock
        self.buttons = dict(buttons or {})

    def texts_for(self, conversation: Conversation) -> SurveyTexts:
        return survey_texts(pick_language(conversation.language, conversation.language_code, self.config.language))

    # --- hooks: inside the conversation use cases' transactions ----------------------------------------------

    async def status_changed(self, tx: Transaction, conversation: Conversation, status: Status, now: datetime) -> None:
        if not self.settings.enabled:
            return
        if status == Status.CLOSED:
            sampled = in_sample(conversation.id, self.settings.sample_percent)
            due = now + timedelta(minutes=self.settings.delay_minutes)
            planned = await tx.surveys.plan(
                conversation.id, conversation.customer_id, status=DUE if sampled else SKIPPED, due_at=due
            )
            if planned and sampled:
                await tx.timers.schedule(conversation.id, SURVEY, due)
        elif await tx.surveys.skip(conversation.id):  # reopened before it was asked
            await tx.timers.cancel(conversation.id, [SURVEY])

    # --- the timer -------------------------------------------------------------------------------------------

    async def fire(self, tx: Transaction, timer: Timer, now: datetime) -> None:
        """Ask now (in the transaction that claimed the timer, so the question goes out once)."""
        survey = await tx.surveys.of(timer.conversation_id)
        conversation = await tx.archive.conversation(timer.conversation_id)
        if survey is None or survey.status != DUE or conversation is None:
            return
        count, data_limit = self.buttons.get(conversation.channel, (0, 0))
        cooldown = self.settings.cooldown_days
        recently = cooldown and await tx.surveys.asked_since(conversation.customer_id, now - timedelta(days=cooldown))
        fits = count >= len(RATINGS) and len(rate_data(conversation.id, 5).encode()) <= data_limit
        back = await tx.archive.open_conversation(conversation.identity_id)  # a new question under way: not now
        if conversation.status != Status.CLOSED or recently or not fits or back is not None:
            await tx.surveys.skip(conversation.id)
            return
        await tx.surveys.asked(conversation.id, now)
        texts = self.texts_for(conversation)
        labels = zip(texts.labels, RATINGS, strict=True)
        row = [{"text": label, "data": rate_data(conversation.id, rating)} for label, rating in labels]
        await self._tell(tx, conversation, texts.question, f"survey:{conversation.id}", now, buttons=[row])
        await tx.archive.add_event(conversation.id, EventKind.SURVEY_ASKED, "timer", now)
        await jobs.refresh_header(tx, conversation)

    # --- the customer's answers ------------------------------------------------------------------------------

    async def rate_in(
        self, tx: Transaction, *, channel: str, address: str, data: str, actor: str, dedupe_key: str
    ) -> Outcome:
        """A customer tapped a rating (inside the inbox's transaction, with the connector's cursor)."""
        now = self.clock()
        parsed = parse_rate(data)
        if parsed is None:
            return Outcome(status="unknown")
        conversation_id, rating = parsed
        conversation = await tx.archive.conversation(conversation_id)
        if conversation is None or (conversation.channel, conversation.address) != (channel, address):
            return Outcome(status="unknown")  # a forged or foreign button: say nothing about other chats
        survey = await tx.surveys.of(conversation_id)
        if survey is None or survey.status not in (ASKED, *ANSWERED) or survey.asked_at is None:
            return Outcome(conversation_id, status="unknown")
        texts = self.texts_for(conversation)
        if not await tx.archive.mark_seen(dedupe_key, now):
            return Outcome(conversation_id, status="duplicate", notice=texts.rated)
        if survey.status in ANSWERED:
            await tx.archive.add_event(
                conversation_id, EventKind.SURVEY_REFUSED, actor, now, rating=rating, reason="already_rated"
            )
            return Outcome(conversation_id, status="kept", notice=texts.already_rated)
        if now - survey.asked_at > timedelta(days=self.settings.answer_within_days):
            await tx.archive.add_event(
                conversation_id, EventKind.SURVEY_REFUSED, actor, now, rating=rating, reason="too_late"
            )
            return Outcome(conversation_id, status="ended", notice=texts.too_late)
        if not await tx.surveys.rate(conversation_id, rating, now):
            return Outcome(conversation_id, status="kept", notice=texts.already_rated)
        await tx.archive.add_event(conversation_id, EventKind.SURVEY_RATED, actor, now, rating=rating)
        low = rating <= self.settings.low_rating
        await jobs.post_notice(tx, conversation, notices.survey_rated(rating=rating, low=low, people=self._people(
            conversation) if low else []))  # fmt: skip
        await jobs.refresh_header(tx, conversation)
        if self.settings.comment_minutes:
            await self._tell(tx, conversation, texts.ask_comment, f"survey-comment:{conversation_id}", now)
        return Outcome(conversation_id, status="chosen", notice=texts.rated)

    async def commented_on(
        self, tx: Transaction, identity_id: int, message: InboundMessage, now: datetime
    ) -> Conversation | None:
        """The closed conversation this message comments on (its rating came within ``comment_minutes``), or
        None when it is an ordinary message. Asked only when no conversation of the customer's is open."""
        minutes = self.settings.comment_minutes
        if not minutes or message.edited or not message.text.strip():
            return None
        survey = await tx.surveys.awaiting_comment(identity_id, now - timedelta(minutes=minutes))
        if survey is None:
            return None
        conversation = await tx.archive.conversation(survey.conversation_id)
        if conversation is None or conversation.status != Status.CLOSED or not conversation.thread_ts:
            return None
        return conversation

    async def record_comment(
        self, tx: Transaction, conversation: Conversation, message: InboundMessage, message_id: int, now: datetime
    ) -> None:
        """The comment is archived in the closed conversation (by bot.usecases.receiving): keep it on the survey,
        say so in the thread and on its first message, and thank the customer."""
        if not await tx.surveys.comment(conversation.id, message.text, now):
            return
        survey = await tx.surveys.of(conversation.id)
        actor = f"{message.channel}:{message.sender.external_id}"
        await tx.archive.add_event(conversation.id, EventKind.SURVEY_COMMENTED, actor, now, message_id=message_id)
        await jobs.post_notice(tx, conversation, notices.survey_commented(rating=survey.rating if survey else None))
        await jobs.refresh_header(tx, conversation)
        texts = self.texts_for(conversation)
        await self._tell(tx, conversation, texts.commented, f"survey-thanks:{conversation.id}", now)

    # --- helpers ---------------------------------------------------------------------------------------------

    def _people(self, conversation: Conversation) -> list[str]:
        """Who hears of a low rating: the holder and the category's owners."""
        conf = self.config.categories.get(conversation.category) if conversation.category else None
        people = [conversation.holder] if conversation.holder else []
        return list(dict.fromkeys([*people, *(conf.owners if conf else ())]))

    async def _tell(
        self, tx: Transaction, conversation: Conversation, text: str, source_key: str, now: datetime,
        *, buttons: list[list[dict[str, str]]] | None = None,
    ) -> None:  # fmt: skip
        """Archive and queue one of the survey's texts for the customer."""
        message_id = await tx.archive.insert_message(
            conversation_id=conversation.id, direction=Direction.AUTO, author_id="bot", author_name="threadbridge",
            channel=conversation.channel, text=text, source_key=source_key, now=now,
        )  # fmt: skip
        if message_id is None:
            return
        await jobs.to_customer(
            tx, channel=conversation.channel, address=conversation.address, conversation_id=conversation.id,
            message_id=message_id, buttons=buttons,
        )  # fmt: skip
