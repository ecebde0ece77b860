"""What runs on every relayed message must not search the disk: an import that fails (a module that is not
installed) is looked up on sys.path again at every call, a stat() per path entry each time."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType

from bot.connectors.base import Outgoing
from bot.domain.richtext import Run
from tests.conftest import Bot
from tests.contract.suite import RecordedParts


class _Lookups(importlib.abc.MetaPathFinder):
    """Notes every module the import system had to look for (a module already imported is never looked for)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        self.names.append(fullname)
        return None  # the usual finders go on


def _reply(n: int) -> Outgoing:
    return Outgoing(text=f"reply {n}", rich=(Run("reply "), Run(str(n), frozenset({"b"}))), author="Jisoo")


async def test_a_staff_reply_sent_to_telegram_looks_for_no_module(bot: Bot) -> None:
    # httpcore asks sniffio which async library runs on each connection's locks; without sniffio installed
    # that is a failed import per request (about 0.4 ms of a staff reply's delivery, docs/BENCHMARKS.md relay)
    connector = bot.rt.connectors["telegram"]  # the channel as the running bot built it
    await connector.send("5001", _reply(0), RecordedParts())  # the first send may import what it needs, once
    lookups = _Lookups()
    sys.meta_path.insert(0, lookups)
    try:
        for n in (1, 2, 3):
            await connector.send("5001", _reply(n), RecordedParts())
    finally:
        sys.meta_path.remove(lookups)
    assert bot.telegram.sent_texts(5001) == ["reply 0", "reply 1", "reply 2", "reply 3"]
    assert lookups.names == []
