"""Background loops (polling, timers, the digest, App Home refreshes) stop the same way everywhere."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancelled(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background loop and wait until it has stopped, so nothing of it runs after its owner's stop."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
