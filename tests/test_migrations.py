"""Migrations and table definitions agree: a database built by Alembic is exactly what the code queries."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import bot.store.channel_schema
import bot.store.customer_schema
import bot.store.routing_schema  # noqa: F401
from bot.store.engine import MIGRATIONS, create_engine, migrate
from bot.store.schema import metadata


def _only_our_tables(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Search indexes live outside the table definitions (FTS5 tables, trigram indexes): compare the rest."""
    if type_ == "table":
        return name in metadata.tables
    if type_ == "index":
        return compare_to is not None or not reflected
    return True


def test_the_migrations_have_one_head() -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


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
