"""What the delivery worker and a job's handler promise each other (``bot.slack.delivery``,
``bot.delivery.customer`` and the other handlers implement it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.store.database import Transaction
from bot.store.outbox import Job

Record = Callable[[Transaction], Awaitable[None]]


@dataclass
class Delivered:
    """What a handler delivered: ``record`` stores the result in the same commit that finishes the jobs.

    ``job_ids`` says which jobs of the batch went out (default: all); the rest go back to their lane untouched.
    """

    record: Record | None = None
    job_ids: Sequence[int] | None = None


class JobHandler(Protocol):
    async def deliver(self, batch: list[Job]) -> Delivered: ...

    async def failed(self, tx: Transaction, batch: list[Job], reason: str) -> None: ...


class ReadsAhead(Protocol):
    """A handler whose deliveries start with a read: ``read_ahead`` does it in the transaction that queued the job
    when this worker adopts it, and ``deliver`` finds the result as ``job.ahead`` (None: it reads for itself)."""

    async def read_ahead(self, tx: Transaction, job: Job) -> Any: ...
