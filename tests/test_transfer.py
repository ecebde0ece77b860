"""``python -m bot migrate-database --to postgresql://…``: a team's SQLite archive moved to PostgreSQL, every table,
ids kept, counts verified; the bot then runs on PostgreSQL as if nothing happened."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.runtime import running
from bot.slack.blocks import CLAIM
from bot.store.schema import conversations, messages
from tests.conftest import (
    BOT_YAML,
    FAST_WORKER,
    Bot,
    fast_pacer,
    make_config,
    reset_schema,
    scratch_postgres_error,
    wait_until,
)  # fmt: skip
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.process import ROOT, bot_env

FIRST, SECOND = 6101, 6202


@asynccontextmanager
async def bot_on(url: str, slack: FakeSlack, telegram: FakeTelegram, **env: str) -> AsyncIterator[Bot]:
    """The bot on a database of the test's choosing (the suite's own may be either kind)."""
    config = make_config(url, slack, telegram, **env)
    async with aiohttp.ClientSession() as http, running(
        config, host="127.0.0.1", port=0, worker_settings=FAST_WORKER, pacer=fast_pacer(), poll_timeout=1,
        api_timeout=5.0,
    ) as rt:  # fmt: skip
        await wait_until(lambda: all(c.health().state == "ok" for c in rt.connectors.values()), what="connected")
        yield Bot(rt=rt, slack=slack, telegram=telegram, http=http)


def migrate_database(env: dict[str, str], target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "migrate-database", "--to", target, "--batch", "2"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip


async def test_an_archive_moves_from_sqlite_to_postgresql_whole_and_the_bot_goes_on_there(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, scratch_postgres: str | None
) -> None:
    if scratch_postgres is None:  # the move is to PostgreSQL: it needs one
        pytest.skip(f"no PostgreSQL reachable for the move: {scratch_postgres_error}")
    await reset_schema(scratch_postgres)
    source = f"sqlite+aiosqlite:///{tmp_path / 'team.db'}"
    async with bot_on(source, slack, telegram) as bot:
        bot.telegram.push_text(FIRST, "a refund please")
        bot.telegram.push_text(SECOND, "hello")
        thread = await bot.thread_for(FIRST)
        await bot.thread_for(SECOND)
        await bot.staff_reply(thread, "on it")
        await bot.staff_reply(thread, "note: checked the invoice")
        await bot.click(CLAIM, await bot.conversation_id_for(FIRST))
        await wait_until(lambda: bot.telegram.sent_texts(FIRST) == ["on it"], what="the reply delivered")
        await bot.idle()
        before = {c.address: c.id for c in await bot.rt.service.open_inquiries()}

    env = bot_env(tmp_path, slack, telegram, source, BOT_YAML)
    moved = await asyncio.to_thread(migrate_database, env, scratch_postgres)
    assert moved.returncode == 0, moved.stderr
    report = moved.stdout.strip().splitlines()
    assert report[-1].startswith("moved ") and "every count verified" in report[-1]
    for table in ("customers", "identities", "conversations", "messages", "events", "outbox", "inquiry_state",
                  "settings_kv", "seen_keys"):  # fmt: skip
        line = next(line for line in report if line.split()[1] == f"{table}:")
        assert line.startswith("OK  "), line
    rows = {line.split()[1].rstrip(":"): int(line.split()[2]) for line in report[:-1]}
    assert rows["messages"] >= 4 and rows["conversations"] == 2

    again = await asyncio.to_thread(migrate_database, env, scratch_postgres)
    assert again.returncode == 1 and "the target already holds data" in again.stderr

    engine = create_async_engine(scratch_postgres)
    try:
        async with engine.connect() as conn:
            copied = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
            ids = dict((await conn.execute(select(conversations.c.id, conversations.c.holder))).all())
    finally:
        await engine.dispose()
    assert copied == rows["messages"] and sorted(ids) == sorted(before.values()) and "U0STAFF" in ids.values()

    async with bot_on(scratch_postgres, slack, telegram) as bot:  # the same threads, the same customers
        after = {c.address: c.id for c in await bot.rt.service.open_inquiries()}
        assert after == before
        await bot.staff_reply(thread, "from PostgreSQL")
        await wait_until(lambda: bot.telegram.sent_texts(FIRST) == ["on it", "from PostgreSQL"], what="the reply")
        bot.telegram.push_text(6303, "a new customer")  # new rows get ids after the copied ones
        await bot.thread_for(6303)
        newest = next(c.id for c in await bot.rt.service.open_inquiries() if c.address == "6303")
        assert newest > max(before.values())
        await bot.idle()
