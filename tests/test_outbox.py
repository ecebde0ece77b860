"""The delivery queue on a real database: lane order, leases, per-target room, batches, racing workers, pruning."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.delivery.pacing import Pacer
from bot.delivery.worker import DeliveryWorker, WorkerSettings
from bot.store.database import Database
from bot.store.outbox import Job, claim_statement, prune_candidates
from bot.store.schema import outbox

NOW = time.time()


async def enqueue(db: Database, lane: str, kind: str = "post", target: str = "slack:C1", n: int = 1) -> list[int]:
    async with db.transaction() as tx:
        return [
            await tx.outbox.enqueue(lane=lane, target=target, kind=kind, payload={"i": i}, now=NOW) for i in range(n)
        ]


async def claim(db: Database, *, now: float = NOW, owner: str = "w1", **kwargs: object) -> list[list[Job]]:
    kwargs.setdefault("limit", 50)
    async with db.transaction() as tx:
        return await tx.outbox.claim(now=now, owner=owner, lease_seconds=30, **kwargs)  # type: ignore[arg-type]


async def finish(db: Database, batches: list[list[Job]]) -> None:
    async with db.transaction() as tx:
        await tx.outbox.finish([j.id for b in batches for j in b], now=datetime.now(UTC))


async def test_only_the_oldest_unfinished_job_of_a_lane_runs(db: Database) -> None:
    a1, a2 = await enqueue(db, "a", n=2)
    (b1,) = await enqueue(db, "b")
    first = await claim(db)
    assert sorted(b[0].id for b in first) == [a1, b1]
    assert await claim(db) == []  # both lanes are busy
    await finish(db, [first[0]])
    assert [[j.id for j in b] for b in await claim(db)] == [[a2]]


async def test_an_expired_lease_lets_another_worker_take_the_job(db: Database) -> None:
    (job,) = await enqueue(db, "a")
    assert [b[0].id for b in await claim(db, owner="dead")] == [job]
    assert await claim(db, now=NOW + 10, owner="w2") == []
    taken = await claim(db, now=NOW + 31, owner="w2")
    assert [b[0].id for b in taken] == [job]


async def test_a_retry_waits_for_its_time_and_counts_only_failures(db: Database) -> None:
    (job,) = await enqueue(db, "a")
    await claim(db)
    async with db.transaction() as tx:
        await tx.outbox.retry_later([job], not_before=NOW + 5, error="503", count=True)
    assert await claim(db, now=NOW + 4) == []
    (batch,) = await claim(db, now=NOW + 5)
    assert batch[0].attempts == 1
    async with db.transaction() as tx:
        await tx.outbox.retry_later([job], not_before=NOW + 6, error="429", count=False)
    (batch,) = await claim(db, now=NOW + 6)
    assert batch[0].attempts == 1


async def test_room_and_skipped_targets_keep_one_busy_target_from_taking_every_slot(db: Database) -> None:
    for lane in ("a", "b", "c"):
        await enqueue(db, lane, target="slack:BUSY")
    (quiet,) = await enqueue(db, "d", target="slack:QUIET")
    picked = await claim(db, room=lambda target: 1)
    assert sorted(b[0].target for b in picked) == ["slack:BUSY", "slack:QUIET"]
    assert await claim(db, skip_targets={"slack:BUSY"}) == []
    assert quiet in [b[0].id for b in picked]


async def test_a_backlog_of_the_same_kind_is_claimed_as_one_batch(db: Database) -> None:
    posts = await enqueue(db, "a", kind="post_inbound", n=3)
    (update,) = await enqueue(db, "a", kind="update_header")
    (batch,) = await claim(db, batchable_kinds={"post_inbound"}, max_batch=10)
    assert [j.id for j in batch] == posts
    await finish(db, [batch])
    assert [[j.id for j in b] for b in await claim(db, batchable_kinds={"post_inbound"}, max_batch=10)] == [[update]]


async def test_racing_workers_never_share_a_job_or_run_two_jobs_of_one_lane(db: Database) -> None:
    lanes = [f"lane-{i}" for i in range(15)]
    for lane in lanes:
        await enqueue(db, lane, n=3)
    seen: list[int] = []
    for _ in range(3):
        rounds = await asyncio.gather(*(claim(db, owner=f"w{i}", limit=5) for i in range(4)))
        claimed = [b for batches in rounds for b in batches]
        ids = [j.id for b in claimed for j in b]
        assert len(ids) == len(set(ids))
        assert len({b[0].lane for b in claimed}) == len(claimed)
        seen += ids
        await finish(db, claimed)
        for _ in range(5):  # drain what is left of this round
            rest = await claim(db, limit=50)
            if not rest:
                break
            seen += [j.id for b in rest for j in b]
            await finish(db, rest)
    assert len(seen) == len(set(seen)) == 45


async def test_prune_forgets_old_delivered_jobs_only(db: Database) -> None:
    old, recent = await enqueue(db, "a"), await enqueue(db, "b")
    (waiting,) = await enqueue(db, "c")
    batches = await claim(db)
    async with db.transaction() as tx:
        await tx.outbox.finish(old, now=datetime.now(UTC) - timedelta(days=8))
        await tx.outbox.finish(recent, now=datetime.now(UTC))
        await tx.outbox.retry_later([waiting], not_before=NOW, error="", count=False)
    assert len(batches) == 3
    async with db.transaction() as tx:
        assert await tx.outbox.prune(datetime.now(UTC) - timedelta(days=7)) == 1
        assert await tx.outbox.counts() == {"done": 1, "pending": 1}


async def test_a_dead_workers_batch_comes_back_whole_before_the_jobs_queued_behind_it(db: Database) -> None:
    first = await enqueue(db, "a", n=4)
    dead = await claim(db, owner="dead", batchable_kinds={"post"}, max_batch=20)
    assert [[j.id for j in b] for b in dead] == [first]
    later = await enqueue(db, "a", n=2)  # queued while the dead worker's lease still ran
    assert await claim(db, now=NOW + 10, owner="w2", batchable_kinds={"post"}, max_batch=20) == []
    taken = await claim(db, now=NOW + 31, owner="w2", batchable_kinds={"post"}, max_batch=20)
    assert [[j.id for j in b] for b in taken] == [first + later]  # in lane order, nothing skipped


async def test_prune_takes_the_oldest_delivered_jobs_one_short_batch_at_a_time(db: Database) -> None:
    ids = await enqueue(db, "a", n=7)
    (waiting,) = await enqueue(db, "b")
    async with db.transaction() as tx:
        for age, job in enumerate(ids):  # ids[0] finished most recently, ids[6] longest ago
            await tx.outbox.finish([job], now=datetime.now(UTC) - timedelta(days=8 + age))
    before = datetime.now(UTC) - timedelta(days=7)
    async with db.transaction() as tx:
        assert await tx.outbox.prune(before, limit=3) == 3
    async with db.transaction() as tx:
        left = (await tx.conn.execute(select(outbox.c.id).order_by(outbox.c.id))).scalars().all()
    assert left == [*ids[:4], waiting]  # the three finished longest ago went first; the queued job stays
    async with db.transaction() as tx:
        assert await tx.outbox.prune(before, limit=3) == 3
        assert await tx.outbox.prune(before, limit=3) == 1
        assert await tx.outbox.prune(before, limit=3) == 0
        assert await tx.outbox.counts() == {"pending": 1}


async def test_the_worker_prunes_every_old_delivered_job_in_batches(db: Database) -> None:
    ids = await enqueue(db, "a", n=12)
    async with db.transaction() as tx:
        await tx.outbox.finish(ids, now=datetime.now(UTC) - timedelta(days=8))
    worker = DeliveryWorker(db, {}, Pacer.unlimited(), owner="w1", settings=WorkerSettings(prune_batch=5))
    assert await worker.prune() == 12
    async with db.transaction() as tx:
        assert await tx.outbox.counts() == {}


def _plan(connection: Any, statement: Any) -> str:
    """The database's plan for ``statement``, as text; PostgreSQL is told to avoid a sequential scan whenever it
    can, so a table of a few rows still shows whether an index can serve the query at all."""
    compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "sqlite":
        return " ".join(str(row) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return " ".join(str(row) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))


async def test_the_claim_and_the_prune_read_only_their_partial_indexes(db: Database) -> None:
    """However many delivered jobs the queue keeps, a claim reads only the rows still to do and a prune only the
    delivered ones: both queries must be able to use the partial indexes (else: a scan of the whole table)."""
    await enqueue(db, "a", n=3)
    claim_query = claim_statement(now=NOW, limit=50)
    prune_query = prune_candidates(datetime.now(UTC), limit=500)
    async with db.transaction() as tx:
        claim_plan = await tx.conn.run_sync(_plan, claim_query)
        prune_plan = await tx.conn.run_sync(_plan, prune_query)
    for plan, index in ((claim_plan, "ix_outbox_unfinished"), (prune_plan, "ix_outbox_done")):
        assert index in plan, plan
        whole_table = re.search(r"SCAN outbox(?! USING)|Seq Scan on outbox|pk_outbox", plan)
        assert whole_table is None, plan


async def test_a_new_thread_takes_a_targets_free_room_before_older_posts(db: Database) -> None:
    """Five new customers at once in one channel: each header (with the opening words) goes before the earlier
    conversations' next posts, so the last customer's words do not wait behind every message before them."""
    (older_post,) = await enqueue(db, "a", kind="post")
    (opener,) = await enqueue(db, "b", kind="open_thread")
    (other_target,) = await enqueue(db, "c", kind="post", target="slack:C2")
    room = {"slack:C1": 1, "slack:C2": 1}
    plain = await claim(db, room=room.__getitem__)
    assert sorted(b[0].id for b in plain) == [older_post, other_target]  # by id: the older post wins C1's room
    async with db.transaction() as tx:
        await tx.outbox.release([b[0].id for b in plain], owner="w1")
    first = await claim(db, room=room.__getitem__, first_kinds={"open_thread"})
    assert sorted(b[0].id for b in first) == [opener, other_target]
    async with db.transaction() as tx:
        await tx.outbox.finish([b[0].id for b in first], now=datetime.now(UTC))
    assert [b[0].id for b in await claim(db, room=room.__getitem__, first_kinds={"open_thread"})] == [older_post]
