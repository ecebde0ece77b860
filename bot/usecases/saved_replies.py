"""Use cases of the saved replies library: find, preview for a conversation's customer, add, edit, delete, seed
from the YAML once, export and import. Every change is archived with who made it (``saved_reply_changes``).

Sending is not here: a saved reply goes out as the staff member's own reply (``Conversations.staff_message`` with
``saved_reply_id``), so authorship, language, parts and edits follow the path every typed reply takes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config import BotConfig
from bot.domain.i18n import pick_language
from bot.domain.models import Conversation
from bot.domain.saved_replies import Entry, body_for, fill
from bot.store.database import Database, retried
from bot.store.saved_replies import SavedReply, SavedReplyStore, saved_reply_uses

log = logging.getLogger(__name__)

SEARCH_POOL = 200  # matches read before the conversation's category puts its own replies first


@dataclass(frozen=True)
class Preview:
    conversation: Conversation
    reply: SavedReply
    language: str  # the body's language: the customer's, or the other one when theirs is empty
    customer_language: str
    text: str  # the body with its variables filled in for this conversation


@dataclass(frozen=True)
class Saved:
    outcome: str  # added, edited, same, missing (deleted meanwhile), duplicate (another reply has the title)
    reply_id: int | None = None


class SavedReplies:
    def __init__(
        self, db: Database, config: BotConfig, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    async def search(self, query: str, *, category: str | None = None, limit: int = 10) -> list[SavedReply]:
        """Replies whose title or a body holds ``query``; those tagged with ``category`` first."""
        async with self.db.reading() as tx:
            found = await SavedReplyStore(tx.conn).search(query, SEARCH_POOL)
        if category:
            wanted = category.lower()
            found.sort(key=lambda r: wanted not in {t.lower() for t in r.tags})  # stable: by title within each
        return found[:limit]

    async def get(self, reply_id: int) -> SavedReply | None:
        async with self.db.reading() as tx:
            return await SavedReplyStore(tx.conn).get(reply_id)

    async def page(self, offset: int, limit: int) -> tuple[list[SavedReply], int]:
        async with self.db.reading() as tx:
            return await SavedReplyStore(tx.conn).page(offset, limit)

    async def preview(self, conversation_id: int, reply_id: int, staff_name: str) -> Preview | None:
        """The reply as this conversation's customer would read it; None when either is gone."""
        async with self.db.reading() as tx:
            conversation = await tx.archive.conversation(conversation_id)
            reply = await SavedReplyStore(tx.conn).get(reply_id)
        if conversation is None or reply is None:
            return None
        wanted = pick_language(conversation.language, conversation.language_code, self.config.language)
        language, body = body_for(reply.body_ko, reply.body_en, wanted)
        values = {
            "customer_name": conversation.customer_name,
            "staff_name": staff_name,
            "conversation_id": str(conversation.id),
        }
        return Preview(conversation, reply, language, wanted, fill(body, values))

    @retried
    async def save(self, reply_id: int | None, entry: Entry, actor: str) -> Saved:
        """Add a reply (``reply_id`` None) or change one; titles stay unique among the live replies."""
        async with self.db.transaction() as tx:
            store = SavedReplyStore(tx.conn)
            same_title = await store.by_title(entry.title)
            if same_title is not None and same_title.id != reply_id:
                return Saved("duplicate", same_title.id)
            now = self.clock()
            if reply_id is None:
                new_id = await store.add(entry.fields(), actor=actor, action="add", now=now)
                log.info("saved reply %d added by %s", new_id, actor)
                return Saved("added", new_id)
            reply = await store.get(reply_id)
            if reply is None:
                return Saved("missing", reply_id)
            if not await store.edit(reply, entry.fields(), actor=actor, action="edit", now=now):
                return Saved("same", reply_id)
            log.info("saved reply %d edited by %s", reply_id, actor)
            return Saved("edited", reply_id)

    @retried
    async def delete(self, reply_id: int, actor: str) -> bool:
        async with self.db.transaction() as tx:
            store = SavedReplyStore(tx.conn)
            reply = await store.get(reply_id)
            deleted = reply is not None and await store.delete(reply, actor=actor, now=self.clock())
        if deleted:
            log.info("saved reply %d deleted by %s", reply_id, actor)
        return deleted

    @retried
    async def seed(self, entries: Sequence[Entry]) -> int:
        """Add the YAML's replies the seed never added before (by title): once, however often the bot starts, and
        never over what the team changed since. Returns how many were added now."""
        if not entries:
            return 0
        async with self.db.transaction() as tx:
            store = SavedReplyStore(tx.conn)
            seeded = await store.seeded_titles()
            added = 0
            for entry in entries:
                if entry.title.lower() in seeded or await store.by_title(entry.title) is not None:
                    continue
                await store.add(entry.fields(), actor="yaml", action="seed", now=self.clock())
                added += 1
        if added:
            log.info("saved replies: %d added from the configuration", added)
        return added

    async def export(self) -> list[dict[str, Any]]:
        """The live library as import reads it back."""
        async with self.db.reading() as tx:
            replies = await SavedReplyStore(tx.conn).all_live()
        return [{"id": r.id, **r.fields()} for r in replies]

    @retried
    async def import_entries(self, entries: Sequence[Entry], actor: str) -> dict[str, int]:
        """Add the entries whose title is new, change those whose title exists and differ; all in one transaction."""
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        async with self.db.transaction() as tx:
            store = SavedReplyStore(tx.conn)
            now = self.clock()
            for entry in entries:
                existing = await store.by_title(entry.title)
                if existing is None:
                    await store.add(entry.fields(), actor=actor, action="import", now=now)
                    counts["added"] += 1
                elif await store.edit(existing, entry.fields(), actor=actor, action="import", now=now):
                    counts["changed"] += 1
                else:
                    counts["unchanged"] += 1
        return counts

    async def uses(self, since: datetime, until: datetime) -> list[tuple[int, str, int]]:
        async with self.db.reading() as tx:
            return await saved_reply_uses(tx.conn, since, until)
