"""Migrations and table definitions agree: a database built by Alembic is exactly what the code queries."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import bot.store.channel_schema
import bot.store.customer_schema
import bot.store.report_schema
import bot.store.routing_schema
import bot.store.toolkit_schema  # noqa: F401
from bot.store.engine import MIGRATIONS, READONLY, create_engine, migrate
from bot.store.schema import metadata


def _only_our_tables(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Search indexes live outside the table definitions (FTS5 tables, trigram indexes): compare the rest."""
    if type_ == "table":
        return name in metadata.tables
    if type_ == "index":
        return compare_to is not None or not reflected
    return True


def alembic_config(connection: Any = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


HEADS = ScriptDirectory.from_config(alembic_config()).get_heads()


def test_the_migrations_have_one_head() -> None:
    assert len(HEADS) == 1


def schema_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.store.engine"]


async def test_a_new_database_says_its_schema_was_created_then_that_it_is_up_to_date(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.engine")
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        await migrate(engine)
    finally:
        await engine.dispose()
    assert schema_lines(caplog) == [
        f"created the database schema (migrations 0001..{HEADS[0]})",
        f"database schema is up to date ({HEADS[0]})",
    ]


async def test_an_older_database_says_what_it_was_migrated_from(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:  # a database as the first release left it
            await conn.run_sync(lambda connection: command.upgrade(alembic_config(connection), "0001"))
        caplog.set_level(logging.INFO, logger="bot.store.engine")
        await migrate(engine)
    finally:
        await engine.dispose()
    assert schema_lines(caplog) == [f"migrated the database schema from 0001 to {HEADS[0]}"]


async def test_every_sqlite_connection_writes_ahead_and_flushes_each_commit(tmp_path: Path) -> None:
    """WAL, and synchronous=FULL (2): a commit is on disk when it returns, so an acknowledged message survives a
    power cut (with NORMAL, 1, the last commits may be lost). Checked on two connections open at once."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'durable.db'}")
    try:
        async with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                reading = await conn.execution_options(**{READONLY: True})  # no write lock: both may look at once
                assert (await reading.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
                assert (await reading.exec_driver_sql("PRAGMA synchronous")).scalar_one() == 2
    finally:
        await engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_a_migrated_database_matches_the_table_definitions(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        await migrate(engine)  # a second start finds nothing to do

        def differences(connection: Any) -> list[Any]:
            context = MigrationContext.configure(
                connection, opts={"include_object": _only_our_tables, "compare_type": True}
            )
            return compare_metadata(context, metadata)

        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []
