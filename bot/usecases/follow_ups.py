"""Customer messages into conversations already open, stored many at once: most of what a busy inbox receives.

A group commit (bot.usecases.intake) hands its messages here in order. Those that only add to an open conversation
(the sender known and unchanged, not an edit, nothing remembered about where they came from) are archived, mapped,
queued and timed with a few statements for the whole run of them (bot.store.follow_ups); any other message goes
through ``Receiving.message`` alone, after the run before it is stored, and so does every later message of its
sender in the group (its conversation may have just opened or closed). The outcome of each is what
``Receiving.message`` would have given it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.connectors.base import Outcome
from bot.domain.models import Conversation, InboundMessage
from bot.store.database import Transaction
from bot.store.follow_ups import GroupRows, NewMessage, SenderKey
from bot.store.identity_records import unchanged
from bot.usecases import jobs
from bot.usecases.hooks import FollowUp
from bot.usecases.receiving import Receiving


@dataclass
class _Group:
    """What the group's first reads found, its open conversations kept current as its messages are stored."""

    read: GroupRows
    alone: set[SenderKey] = field(default_factory=set)  # senders whose messages go one by one from here on
    archived: set[str] = field(default_factory=set)  # source keys this group has archived so far


class FollowUps:
    def __init__(self, receiving: Receiving) -> None:
        self.receiving = receiving

    async def store(
        self, tx: Transaction, messages: Sequence[InboundMessage], known: Callable[[], Awaitable[set[str]]]
    ) -> list[Outcome]:
        """Each message's outcome, in order. ``known()`` reads which source keys of the group are archived already,
        only when a message needs ``Receiving.message``: a follow-up that is a redelivery finds its key taken when
        it is archived (its insert does nothing), so the usual group needs no read of it."""
        group = _Group(await tx.follow_ups.read_group({(m.channel, m.sender.external_id) for m in messages}))
        outcomes: list[Outcome] = []
        run: list[tuple[InboundMessage, Conversation]] = []
        in_run: set[str] = set()
        for message in messages:
            conversation = self._open_for(message, group)
            if conversation is not None and message.source_key not in in_run:
                run.append((message, conversation))
                in_run.add(message.source_key)
                group.read.open[conversation.identity_id] = replace(
                    conversation, last_message_at=self.receiving.clock()
                )
            else:
                outcomes += await self._store_run(tx, run, group)
                run, in_run = [], set()
                group.alone.add((message.channel, message.sender.external_id))
                before_the_group = await known() - group.archived  # what this group archived is not a redelivery
                outcomes.append(await self.receiving.message(tx, message, before_the_group))
        return outcomes + await self._store_run(tx, run, group)

    def _open_for(self, message: InboundMessage, group: _Group) -> Conversation | None:
        """The conversation a message only adds to, or None when it needs ``Receiving.message``."""
        key = (message.channel, message.sender.external_id)
        known = group.read.senders.get(key)
        if known is None or key in group.alone or message.edited or message.origin:
            return None
        if not unchanged(known, message.sender):
            return None  # the identity is updated by upsert_identity
        return group.read.open.get(known.identity_id)

    async def _store_run(
        self, tx: Transaction, run: list[tuple[InboundMessage, Conversation]], group: _Group
    ) -> list[Outcome]:
        """A run of follow-ups, in order, stored together; a redelivery among them finds its key taken."""
        if not run:
            return []
        now = self.receiving.clock()
        rows = []
        for message, conversation in run:
            resurfaced = self.receiving.resurfaced(conversation, message, now)
            rows.append(
                NewMessage(
                    conversation_id=conversation.id, channel=message.channel, address=message.address,
                    author_id=f"{message.channel}:{message.sender.external_id}",
                    author_name=message.sender.display_name, text=message.text, source_key=message.source_key,
                    attachments=[a.to_json() for a in message.attachments],
                    external_message_id=message.external_message_id,
                    job=jobs.inbound_post(conversation.id, conversation.slack_channel, resurfaced=resurfaced),
                )
            )  # fmt: skip
        ids = await tx.follow_ups.archive(rows, now)
        group.archived.update(ids)
        touched = sorted({m.conversation_id for m in rows if m.source_key in ids})
        states = await tx.follow_ups.touch(touched, now, group.read)
        stored = [FollowUp(c, states.get(c.id), m) for m, c in run if m.source_key in ids]
        await self.receiving.hooks.customers_wrote(tx, stored, now)
        return [_outcome(m, c, ids) for m, c in run]


def _outcome(message: InboundMessage, conversation: Conversation, ids: dict[str, int]) -> Outcome:
    if message.source_key not in ids:  # archived before (a redelivery), or by another process meanwhile
        return Outcome(conversation_id=conversation.id, duplicate=True)
    return Outcome(conversation_id=conversation.id, message_id=ids[message.source_key])
