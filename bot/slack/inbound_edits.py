"""A customer edited a message: its Slack copy is updated in place (``chat.update``), every post of it, marked
edited; the thread is not sent a second copy.

The map of message ids says which posts carry the message. A post it shares with other messages (a backlog that
was combined) is re-rendered with each of them as it reads now. When the new words need more posts than before, the
extra ones follow in the thread; when fewer, the bot's surplus posts are deleted. A message whose words travelled as
a file's comment (a photo's caption) has no post to update: the new words are posted in the thread, marked edited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.delivery.handlers import Delivered, Record
from bot.delivery.progress import Progress
from bot.slack.blocks import SlackPost, customer_posts
from bot.slack.delivery import SlackDelivery, archive_failure
from bot.store.database import Transaction
from bot.store.outbox import Job
from bot.store.parts import FILE, SLACK, TEXT, Part

EDITED = "(edited) "
MOVED_ON = "(edited: the new version follows below)"


def shown(row: Any) -> str:
    """A customer message as its post shows it: marked when it is a later version."""
    return f"{EDITED}{row.text}" if row.edit_of is not None else str(row.text)


class UpdateInbound(SlackDelivery):
    async def deliver(self, batch: list[Job]) -> Delivered:
        job = batch[0]
        plan: list[Step]
        conversation = await self._conversation(job)
        original_id = int(job.payload["original"])
        version_id = job.message_id
        assert version_id is not None and conversation.thread_ts is not None
        async with self.db.reading() as tx:
            version = await tx.archive.message_row(version_id)
            parts = await tx.parts.current(original_id, SLACK)
            posts = [p for p in parts if p.kind == TEXT]
            sharing = await tx.parts.sharing(SLACK, posts[0].place, posts[0].external_id) if posts else []
            together = [await tx.archive.latest_version(m) for m in sharing]
        progress = Progress(job, self.db)
        text = shown(version)
        thread = conversation.thread_ts
        if not posts or any(p.kind == FILE for p in parts):  # no post of its own to change: say it in the thread
            plan = [("post", conversation.slack_channel, thread, p) for p in customer_posts([text])]
            ids = await self._run(plan, progress)
            return Delivered(record=_shown_in_new_posts(version_id, conversation.slack_channel, ids))
        place, first = posts[0].place, posts[0].external_id
        if len(together) > 1:  # a combined post: the others stay as they are, this one reads as it does now
            rendered = customer_posts([shown(r) if r.id != version.id else text for r in together])
            if len(rendered) == 1:
                await self._run([("update", place, first, rendered[0])], progress)
                return Delivered(record=_moved(version_id, original_id, place, [first], drop=[]))
            marked = customer_posts([shown(r) if r.id != version.id else MOVED_ON for r in together])
            plan = [("update", place, first, marked[0])]
            plan += [("post", place, thread, p) for p in customer_posts([text])]
            ids = await self._run(plan, progress)
            return Delivered(record=_moved(version_id, original_id, place, ids[1:], drop=[posts[0]]))
        rendered = customer_posts([text])
        plan = [("update", place, p.external_id, post) for p, post in zip(posts, rendered, strict=False)]
        plan += [("post", place, thread, post) for post in rendered[len(posts) :]]
        plan += [("delete", place, p.external_id, None) for p in posts[len(rendered) :]]
        ids = await self._run(plan, progress)
        return Delivered(record=_moved(version_id, original_id, place, ids, drop=posts[len(rendered) :]))

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None:
        await archive_failure(tx, batch, reason)  # the version is archived; Slack still shows the original

    async def _run(self, plan: list[Step], progress: Progress) -> list[str]:
        """Each step once (a retry resumes after the last done); returns the posts' ts, updated or new, in order."""
        for index, (step, channel, ts, post) in enumerate(plan):
            if index < progress.done:
                continue
            if step == "delete":
                await self._call("chat_delete", channel=channel, ts=ts)
                await progress.advance(None)
                continue
            assert post is not None
            if step == "update":
                await self._call("chat_update", channel=channel, ts=ts, text=post.text, blocks=post.blocks)
                sent = ts
            else:
                sent = await self._post(channel, post, ts)
            await progress.advance(sent)
        return progress.ids


Step = tuple[str, str, str, SlackPost | None]  # (update | post | delete, channel, ts or thread ts, the post)


def _shown_in_new_posts(version_id: int, channel: str, ids: list[str]) -> Record:
    """The new words went out as posts of their own: they are the version's."""

    async def record(tx: Transaction) -> None:
        if ids:
            await tx.archive.mark_posted_to_slack([version_id], ids[0])
            await tx.parts.record(version_id, SLACK, channel, ids, [TEXT] * len(ids), datetime.now(UTC))

    return record


def _moved(version_id: int, original_id: int, place: str, ids: list[str], *, drop: list[Part]) -> Record:
    """The message now reads as its version in the posts ``ids``: the map says so for its next edit; ``drop`` are
    posts that no longer carry it (deleted, or a combined post it moved out of)."""

    async def record(tx: Transaction) -> None:
        now = datetime.now(UTC)
        if ids:
            await tx.archive.mark_posted_to_slack([version_id], ids[0])
        await tx.parts.remove([p.id for p in drop], now)
        current = {p.external_id for p in await tx.parts.current(original_id, SLACK)}
        if current != set(ids):
            await tx.parts.replace(original_id, SLACK, place, ids, [TEXT] * len(ids), now)

    return record
