"""The suite is hermetic: nothing of the caller's reaches the bot under test, and no process outlives its test.

Whatever the bot or its libraries would read from the environment (SLACK_*, TELEGRAM_*, DATABASE_URL, ..., proxies)
is removed for the session and every setting a test needs is given explicitly; child processes get an environment
built from nothing and run in the test's own folder, never beside a developer's `.env` (tests/process.py). The
fixtures here are used by every test (tests/conftest.py imports them).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections.abc import AsyncIterator, Iterable, Iterator

import pytest

CALLER_PREFIXES = ("SLACK_", "TELEGRAM_")  # the bot's own variables, and Bolt's (SLACK_CLIENT_ID turns on OAuth)
CALLER_NAMES = ("DATABASE_URL", "BOT_CONFIG", "PORT", "LOG_LEVEL", "WORKER_ID")
PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")  # slack_sdk, aiohttp and httpx obey these


def leaking_variables(names: Iterable[str]) -> list[str]:
    """The caller's variables that would change what the bot under test does."""
    exact = {*CALLER_NAMES, *PROXY_NAMES, *(n.lower() for n in PROXY_NAMES)}
    return sorted(n for n in names if n.startswith(CALLER_PREFIXES) or n in exact)


@pytest.fixture(scope="session", autouse=True)
def hermetic_session() -> Iterator[None]:
    """Take the caller's settings out of the environment for the whole run, and check at the end that every
    ``python -m bot`` the run started is gone (a bot left behind is killed and the run fails)."""
    from tests.process import bot_processes_of_this_run

    # A full garbage collection of everything imported so far (pytest, Bolt, PTB, SQLAlchemy, the fakes) stops the
    # one event loop that runs the bot and the fakes together for 0.1-0.7 s on a loaded machine, long enough to
    # bunch up calls that a timing test measures in milliseconds. What is frozen here lives as long as the run.
    gc.collect()
    gc.freeze()
    with pytest.MonkeyPatch.context() as patch:
        for name in leaking_variables(os.environ):
            patch.delenv(name)
        yield
    gc.unfreeze()
    left = bot_processes_of_this_run()
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"bot processes outlived the test run (killed now): {left}"


@pytest.fixture(autouse=True)
async def no_process_left_behind() -> AsyncIterator[None]:
    """Whatever a test did or failed to do, the bot processes it started are stopped when it ends."""
    from tests.process import stop_all

    yield
    await stop_all()
