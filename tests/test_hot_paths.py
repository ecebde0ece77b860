"""What runs on every relayed message must not search the disk: an import that fails (a module that is not
installed) is looked up on sys.path again at every call, a stat() per path entry each time."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import AsyncIterator, Sequence
from types import ModuleType

import pytest
import telegram

from tests.fakes import FakeTelegram


class _Lookups(importlib.abc.MetaPathFinder):
    """Notes every module the import system had to look for (a module already imported is never looked for)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        self.names.append(fullname)
        return None  # the usual finders go on


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_a_telegram_send_looks_for_no_module(tg: FakeTelegram) -> None:
    # httpcore asks sniffio which async library runs on each connection's locks; without sniffio installed
    # that is a failed import per request (about 0.4 ms of a staff reply's delivery, docs/BENCHMARKS.md relay)
    async with telegram.Bot(tg.token, base_url=tg.base_url, base_file_url=tg.file_base_url) as bot:
        await bot.send_message(5001, "warm-up: the first call may import what it needs once")
        lookups = _Lookups()
        sys.meta_path.insert(0, lookups)
        try:
            for n in range(3):
                await bot.send_message(5001, f"reply {n}")
        finally:
            sys.meta_path.remove(lookups)
    assert tg.sent_texts(5001)[1:] == ["reply 0", "reply 1", "reply 2"]
    assert lookups.names == []
