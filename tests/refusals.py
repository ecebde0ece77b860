"""The database refusing to archive one customer message, as a failing disk would, until the platform is told."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bot.connectors.base import Received
from tests.conftest import Bot


def _values(parameters: Any) -> Iterable[Any]:
    """A statement's parameter values, however the driver is handed them (one row, many rows, by name)."""
    rows = parameters if isinstance(parameters, list) else [parameters]
    for row in rows:
        yield from (row.values() if isinstance(row, dict) else row)


def refuse_archiving(bot: Bot, marker: str) -> list[str]:
    """Every statement writing the message whose text is ``marker`` fails with a disk error (not contention, which
    runs the whole transaction again: tests/test_contention.py), on every path a message takes into the archive,
    until a caller that offered it has been answered with the failure; offered again, it is stored. Returns the
    markers whose callers were told, in order."""
    told: list[str] = []

    def refuse(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if not told and statement.lstrip().upper().startswith("INSERT INTO MESSAGES") and marker in _values(parameters):
            raise OperationalError(statement, parameters, Exception("disk I/O error"))

    event.listen(bot.rt.db.engine.sync_engine, "before_cursor_execute", refuse)
    intake = bot.rt.intake
    real_submit = intake.submit

    async def submit(channel: str, items: Any, cursor: Any = None) -> Any:
        try:
            return await real_submit(channel, items, cursor)
        except Exception:
            if not told and any(isinstance(i, Received) and i.message.text == marker for i in items):
                told.append(marker)
            raise

    intake.submit = submit  # type: ignore[method-assign]
    return told
