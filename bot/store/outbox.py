"""The delivery queue: jobs written in the same transaction as the archive rows they deliver.

Jobs live in lanes (one per conversation and direction). Only the oldest unfinished job of a lane may run, which
is what keeps a conversation in order across retries, restarts and several processes. A running job holds a lease;
a process killed mid-delivery leaves a lease that expires, and the job runs again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, Select, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import DONE_WHERE, UNFINISHED_WHERE, outbox

PENDING = "pending"
SENDING = "sending"
DONE = "done"
FAILED = "failed"
WITHDRAWN = "withdrawn"  # taken back before anything of it was sent (a reply deleted while still queued)
_UNFINISHED = (PENDING, SENDING)
# The partial indexes' own conditions, written out as literals: a bound parameter would not let SQLite (nor a
# generic PostgreSQL plan) prove that the index covers the query, and the claim would scan every delivered row.
UNFINISHED_SQL = text(f"outbox.{UNFINISHED_WHERE}")
DONE_SQL = text(f"outbox.{DONE_WHERE}")
PRUNE_BATCH = 100


@dataclass(frozen=True)
class Job:
    id: int
    lane: str
    target: str
    kind: str
    conversation_id: int | None
    message_id: int | None
    payload: dict[str, Any]
    attempts: int
    # What its delivery reads, read by the transaction that queued and adopted it (Database.adopt_with); None: the
    # delivery reads it for itself
    ahead: Any = field(default=None, compare=False, repr=False)


_ENQUEUE = outbox.insert().returning(outbox.c.id)  # built once: building one with its values costs more than running it


def _new_job(
    lane: str,
    target: str,
    kind: str,
    payload: dict[str, Any],
    now: float,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    """A job's row as queued: pending, runnable from ``now``."""
    return {
        "lane": lane, "target": target, "kind": kind, "payload": payload, "conversation_id": conversation_id,
        "message_id": message_id, "status": PENDING, "attempts": 0, "not_before": now, "created_at": datetime.now(UTC),
    }  # fmt: skip


def _to_job(row: Any) -> Job:
    return Job(
        id=row.id,
        lane=row.lane,
        target=row.target,
        kind=row.kind,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        payload=row.payload,
        attempts=row.attempts,
    )


def _claim_query(*, skipping: bool) -> Select[Any]:
    """The runnable heads of lanes, oldest first, read through the index of unfinished rows only; each with whether
    its lane has more unfinished jobs behind it (a batch can only grow then). Built once: parameters ``now``, ``rows``
    (how many to read) and, when ``skipping``, ``skip`` (targets to leave out)."""
    earlier = outbox.alias("earlier")
    later = outbox.alias("later")
    blocked_by_earlier = (
        select(earlier.c.id)
        .where(earlier.c.lane == outbox.c.lane, earlier.c.id < outbox.c.id, earlier.c.status.in_(_UNFINISHED))
        .exists()
    )
    has_next = (
        select(later.c.id)
        .where(later.c.lane == outbox.c.lane, later.c.id > outbox.c.id, later.c.status.in_(_UNFINISHED))
        .exists()
        .label("has_next")
    )
    now = bindparam("now", type_=Float)
    runnable = or_(outbox.c.status == PENDING, and_(outbox.c.status == SENDING, outbox.c.lease_until < now))
    query = (
        select(outbox, has_next)
        .where(UNFINISHED_SQL, runnable, outbox.c.not_before <= now, ~blocked_by_earlier)
        .order_by(outbox.c.id)
        .limit(bindparam("rows", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    if skipping:
        query = query.where(outbox.c.target.not_in(bindparam("skip", expanding=True)))
    return query


_FINISH = (  # built once: every delivery ends with it
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=DONE, finished_at=bindparam("now", type_=outbox.c.finished_at.type), lease_until=None)
)
_CLAIM = _claim_query(skipping=False)
_CLAIM_SKIPPING = _claim_query(skipping=True)
_LEASE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=SENDING, lease_until=bindparam("until", type_=Float), lease_owner=bindparam("owner"))
)


def _claim_parameters(now: float, limit: int, skip_targets: Collection[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {"now": now, "rows": limit * 4}
    if skip_targets:
        parameters["skip"] = list(skip_targets)
    return parameters


def claim_statement(*, now: float, limit: int, skip_targets: Collection[str] = ()) -> Select[Any]:
    """The claim's SELECT with its parameters bound (tests read its plan; ``Outbox.claim`` runs the prebuilt one)."""
    query = _CLAIM_SKIPPING if skip_targets else _CLAIM
    return query.params(**_claim_parameters(now, limit, skip_targets))


def _followers_query() -> Select[Any]:
    """The unfinished jobs of lanes ``lanes`` up to ``place`` in each lane's order (its head is place 1)."""
    place = func.row_number().over(partition_by=outbox.c.lane, order_by=outbox.c.id).label("place")
    behind = (
        select(outbox.c.id, outbox.c.lane, place)
        .where(UNFINISHED_SQL, outbox.c.lane.in_(bindparam("lanes", expanding=True)))
        .subquery()
    )
    return select(behind.c.id, behind.c.lane).where(behind.c.place <= bindparam("place", type_=Integer))


_FOLLOWERS = _followers_query()
_FOLLOWER_ROWS = (
    select(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True))).with_for_update(skip_locked=True)
)


def _lease_alone_statement() -> Any:
    """Lease the jobs that are alone in their lane (nothing unfinished before or behind them) among ``lanes``, when
    runnable: what a claim would take, found by the lanes a transaction just queued into."""
    alone = (
        select(func.min(outbox.c.id))
        .where(outbox.c.lane.in_(bindparam("lanes", expanding=True)), outbox.c.status.in_(_UNFINISHED))
        .group_by(outbox.c.lane)
        .having(func.count() == 1)
    )
    return (
        update(outbox)
        .where(outbox.c.id.in_(alone), outbox.c.status == PENDING, outbox.c.not_before <= bindparam("now", type_=Float))
        .values(status=SENDING, lease_until=bindparam("until", type_=Float), lease_owner=bindparam("owner"))
        .returning(*outbox.c)
    )


_LEASE_ALONE = _lease_alone_statement()


def prune_candidates(finished_before: datetime, *, limit: int) -> Select[Any]:
    """Ids of up to ``limit`` jobs delivered before ``finished_before``, longest ago first (the done index)."""
    return (
        select(outbox.c.id)
        .where(DONE_SQL, outbox.c.finished_at < finished_before)
        .order_by(outbox.c.finished_at)
        .limit(limit)
    )


class Outbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.enqueued = 0
        self.lanes: dict[str, str] = {}  # lane -> target of every job this transaction queued

    async def enqueue(
        self,
        *,
        lane: str,
        target: str,
        kind: str,
        payload: dict[str, Any],
        now: float,
        conversation_id: int | None = None,
        message_id: int | None = None,
    ) -> int:
        self.enqueued += 1
        self.lanes[lane] = target
        row = _new_job(lane, target, kind, payload, now, conversation_id, message_id)
        return (await self.conn.execute(_ENQUEUE, row)).scalar_one()

    async def enqueue_all(self, jobs: Sequence[dict[str, Any]], *, now: float) -> None:
        """Many jobs in one statement; each is ``enqueue``'s arguments but ``now``, as a dict."""
        if jobs:
            self.enqueued += len(jobs)
            self.lanes.update((job["lane"], job["target"]) for job in jobs)
            await self.conn.execute(outbox.insert(), [_new_job(**job, now=now) for job in jobs])

    async def claim(
        self,
        *,
        now: float,
        owner: str,
        lease_seconds: float,
        limit: int,
        skip_targets: Collection[str] = (),
        room: Callable[[str], int] = lambda target: 1_000_000,
        batchable_kinds: Collection[str] = (),
        max_batch: int = 1,
        first_kinds: Collection[str] = (),
    ) -> list[list[Job]]:
        """Lease the runnable head of up to ``limit`` lanes; returns one batch of jobs per lane.

        A batch is the head plus, for ``batchable_kinds``, the run of same-kind jobs queued right behind it, so a
        backlog can be delivered in fewer API calls. ``room(target)`` caps how many new batches may start per
        target (a busy Slack channel must not take every slot from the quiet ones). Rows locked by another process
        are skipped (PostgreSQL); SQLite serialises writers, so the same query is safe there too. Heads of
        ``first_kinds`` (a new thread's header) take a target's room before the others among the rows read.
        """
        query = _CLAIM_SKIPPING if skip_targets else _CLAIM
        started: dict[str, int] = {}
        heads: list[Job] = []
        with_more: set[int] = set()  # heads with unfinished jobs behind them in their lane
        found = list((await self.conn.execute(query, _claim_parameters(now, limit, skip_targets))).all())
        if first_kinds:  # a stable sort: one head per lane, so no lane's order changes; ids decide the rest
            found.sort(key=lambda row: row.kind not in first_kinds)
        for row in found:
            if len(heads) == limit:
                break
            if started.get(row.target, 0) >= room(row.target):
                continue
            started[row.target] = started.get(row.target, 0) + 1
            heads.append(_to_job(row))
            if row.has_next:
                with_more.add(row.id)
        growing = [h for h in heads if h.kind in batchable_kinds and h.id in with_more] if max_batch > 1 else []
        followers = await self._followers(growing, max_batch - 1, now) if growing else {}
        batches = [[head, *followers.get(head.id, [])] for head in heads]
        ids = [job.id for batch in batches for job in batch]
        if ids:
            await self.conn.execute(_LEASE, {"ids": ids, "until": now + lease_seconds, "owner": owner})
        return batches

    async def anything_runnable(self, *, now: float, skip_targets: Collection[str] = ()) -> bool:
        """Whether a claim would find a job (read only: on SQLite it needs no write lock)."""
        query = _CLAIM_SKIPPING if skip_targets else _CLAIM
        found = await self.conn.execute(query, _claim_parameters(now, 1, skip_targets))
        return found.first() is not None

    async def lease_alone(self, lanes: Collection[str], *, owner: str, until: float, now: float) -> list[Job]:
        """Lease, for ``owner``, each job of ``lanes`` that is the only unfinished one of its lane: delivered
        straight after this transaction commits, with no claim of its own (``Database.adopt_with``)."""
        if not lanes:
            return []
        rows = await self.conn.execute(_LEASE_ALONE, {"lanes": list(lanes), "now": now, "until": until, "owner": owner})
        return sorted((_to_job(row) for row in rows), key=lambda job: job.id)

    async def _followers(self, heads: list[Job], limit: int, now: float) -> dict[int, list[Job]]:
        """For each head, the jobs right behind it in its lane, without a gap, at most ``limit``: two statements
        for all heads together. A batch whose process died leaves its followers leased (expired) behind its head,
        and they must come along before anything queued after them; a row locked by another process (PostgreSQL)
        would leave a gap, so a batch stops before it."""
        by_lane = {head.lane: head for head in heads}
        expected: dict[str, list[int]] = {}
        for row in await self.conn.execute(_FOLLOWERS, {"lanes": list(by_lane), "place": limit + 1}):
            if row.id > by_lane[row.lane].id:
                expected.setdefault(row.lane, []).append(row.id)
        wanted = [job_id for ids in expected.values() for job_id in ids]
        if not wanted:
            return {}
        rows = {row.id: row for row in await self.conn.execute(_FOLLOWER_ROWS, {"ids": wanted})}
        found: dict[int, list[Job]] = {}
        for lane, ids in expected.items():
            head = by_lane[lane]
            run: list[Job] = []
            for want in sorted(ids)[:limit]:
                row = rows.get(want)
                if row is None or row.kind != head.kind or row.status not in _UNFINISHED:
                    break
                if row.status == SENDING and (row.lease_until is None or row.lease_until >= now):
                    break
                run.append(_to_job(row))
            found[head.id] = run
        return found

    async def extend_leases(self, job_ids: Sequence[int], *, owner: str, until: float) -> None:
        """Keep a long delivery (a big upload, a wait for a rate-limit slot) from being taken over."""
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(job_ids), outbox.c.lease_owner == owner, outbox.c.status == SENDING)
            .values(lease_until=until)
        )

    async def save_progress(self, job_id: int, payload: dict[str, Any]) -> None:
        """Remember which parts of a multi-part delivery went out, so a retry sends only the rest."""
        await self.conn.execute(update(outbox).where(outbox.c.id == job_id).values(payload=payload))

    async def release_all_leases(self) -> int:
        """Single-process start-up (SQLite): whatever was being sent when the last process died runs again now."""
        result = await self.conn.execute(
            update(outbox).where(outbox.c.status == SENDING).values(status=PENDING, lease_until=None)
        )
        return result.rowcount

    async def release(self, job_ids: Sequence[int], *, owner: str) -> int:
        """A stopping process hands back jobs it leased and did not (or could not) finish: runnable again at once,
        by any process, without waiting for the lease to expire; their progress (parts sent) is kept."""
        result = await self.conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(job_ids), outbox.c.lease_owner == owner, outbox.c.status == SENDING)
            .values(status=PENDING, lease_until=None, lease_owner=None)
        )
        return result.rowcount

    async def finish(self, job_ids: Sequence[int], *, now: datetime) -> None:
        await self.conn.execute(_FINISH, {"ids": list(job_ids), "now": now})

    async def retry_later(self, job_ids: Sequence[int], *, not_before: float, error: str, count: bool) -> None:
        """Put jobs back in their lane to run again at ``not_before``; ``count`` says whether this was a failure."""
        values: dict[str, Any] = {
            "status": PENDING,
            "not_before": not_before,
            "last_error": error[:2000],
            "lease_until": None,
            "lease_owner": None,
        }
        if count:
            values["attempts"] = outbox.c.attempts + 1
        await self.conn.execute(update(outbox).where(outbox.c.id.in_(job_ids)).values(**values))

    async def withdraw(self, kind: str, message_id: int, *, now: datetime, reason: str) -> bool:
        """Take back a job of ``kind`` for a message when nothing of it went out yet; False when it is running or
        sent a part already (then it must run to its end). The row is locked first, so no worker takes it while
        this decides."""
        row = (
            await self.conn.execute(
                select(outbox.c.id, outbox.c.status, outbox.c.payload)
                .where(outbox.c.kind == kind, outbox.c.message_id == message_id, outbox.c.status.in_(_UNFINISHED))
                .order_by(outbox.c.id)
                .limit(1)
                .with_for_update()
            )
        ).first()
        if row is None or row.status != PENDING or (row.payload or {}).get("parts_done"):
            return False
        result = await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id, outbox.c.status == PENDING)
            .values(status=WITHDRAWN, finished_at=now, last_error=reason[:2000], lease_until=None)
        )
        return result.rowcount == 1

    async def give_up(self, job_ids: Sequence[int], *, error: str, now: datetime) -> None:
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(job_ids))
            .values(status=FAILED, last_error=error[:2000], finished_at=now, lease_until=None)
        )

    async def prune(self, finished_before: datetime, *, limit: int = PRUNE_BATCH) -> int:
        """Forget up to ``limit`` delivered jobs, the oldest first: the archive keeps what happened; the queue only
        needs what is still to do. One short batch per transaction, so the write lock is never held for long."""
        oldest = prune_candidates(finished_before, limit=limit)
        result = await self.conn.execute(delete(outbox).where(outbox.c.id.in_(oldest)))
        return result.rowcount

    async def counts(self) -> dict[str, int]:
        rows = (await self.conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))).all()
        return {status: n for status, n in rows}
