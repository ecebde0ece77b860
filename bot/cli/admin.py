"""Command-line verbs that need only the database: ``export`` and ``erase-customer``.

The data belongs to the team: ``export`` writes the archive as JSON lines or CSV, streaming rows from a server-side
cursor so a large archive exports in constant memory. ``erase-customer`` removes a customer's personal data on
request. Neither needs Slack or Telegram credentials, only ``DATABASE_URL`` (from the environment or ``.env``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import ColumnElement, Select, Table, inspect, make_url, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.config import ConfigError, normalize_database_url
from bot.domain.ids import parse_id
from bot.store.customer_schema import activities, customer_state, customer_tags
from bot.store.schema import (
    conversations,
    customers,
    dead_letters,
    events,
    identities,
    message_parts,
    messages,
    origins,
)

BATCH = 1000
"""Rows fetched per round trip: what an export holds in memory at once, whatever the archive's size."""

TABLES: tuple[tuple[str, Table], ...] = (
    ("customer", customers),
    ("identity", identities),
    ("conversation", conversations),
    ("message", messages),
    ("event", events),
    ("customer_state", customer_state),
    ("customer_tag", customer_tags),
    ("activity", activities),
    ("dead_letter", dead_letters),
    ("origin", origins),
    ("message_part", message_parts),
)
CSV_COLUMNS: tuple[str, ...] = ("type", *dict.fromkeys(c.name for _, t in TABLES for c in t.columns))
"""One CSV for every record type: ``type`` says which, the columns are the union of the tables' columns."""


def database_url() -> str:
    """DATABASE_URL as the bot reads it (``.env`` never overrides the environment)."""
    dotenv_path = Path.cwd() / ".env"
    if dotenv_path.is_file():
        from dotenv import load_dotenv

        load_dotenv(dotenv_path, override=False)
    return normalize_database_url(os.environ.get("DATABASE_URL"))


def reading_engine(url: str) -> AsyncEngine:
    """An engine for a long read: on SQLite without the bot's BEGIN IMMEDIATE, so the running bot keeps writing."""
    if make_url(url).get_backend_name() == "sqlite":
        return create_async_engine(url, connect_args={"timeout": 30})
    return create_async_engine(url)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _statements(tables: set[str], *, since: datetime | None, customer: int | None) -> list[tuple[str, Select[Any]]]:
    """One query per record type, filtered by ``since`` (rows created or changed since) and ``customer``."""
    people = None
    if customer is not None:
        merged = select(customer_state.c.customer_id).where(customer_state.c.merged_into == customer)
        people = or_(customers.c.id == customer, customers.c.id.in_(merged))
    person_ids = select(customers.c.id).where(people) if people is not None else None
    own_conversations = None
    if person_ids is not None:
        own_conversations = select(conversations.c.id).where(conversations.c.customer_id.in_(person_ids))
    recent_conversations: ColumnElement[bool] = true()
    if since is not None:
        recent_conversations = or_(conversations.c.last_message_at >= since, conversations.c.closed_at >= since)
    out: list[tuple[str, Select[Any]]] = []
    for kind, table in TABLES:
        if table.name not in tables:
            continue
        stmt = select(table)
        if kind == "customer":
            if people is not None:
                stmt = stmt.where(people)
            if since is not None:
                active = select(conversations.c.customer_id).where(recent_conversations)
                stmt = stmt.where(or_(customers.c.created_at >= since, customers.c.id.in_(active)))
        elif kind == "identity":
            if person_ids is not None:
                stmt = stmt.where(identities.c.customer_id.in_(person_ids))
            if since is not None:
                active = select(conversations.c.customer_id).where(recent_conversations)
                stmt = stmt.where(or_(identities.c.created_at >= since, identities.c.customer_id.in_(active)))
        elif kind == "conversation":
            if person_ids is not None:
                stmt = stmt.where(conversations.c.customer_id.in_(person_ids))
            if since is not None:
                stmt = stmt.where(recent_conversations)
        elif kind == "origin":
            if person_ids is not None:
                own_identities = select(identities.c.id).where(identities.c.customer_id.in_(person_ids))
                stmt = stmt.where(origins.c.identity_id.in_(own_identities))
            if since is not None:
                stmt = stmt.where(origins.c.created_at >= since)
        elif kind == "message_part":  # the message ids on both sides, of the messages exported
            if own_conversations is not None:
                own_messages = select(messages.c.id).where(messages.c.conversation_id.in_(own_conversations))
                stmt = stmt.where(message_parts.c.message_id.in_(own_messages))
            if since is not None:
                stmt = stmt.where(message_parts.c.created_at >= since)
        elif kind in ("message", "event"):
            if own_conversations is not None:
                stmt = stmt.where(table.c.conversation_id.in_(own_conversations))
            if since is not None:
                stmt = stmt.where(table.c.created_at >= since)
        elif kind == "dead_letter":  # belongs to no customer: only a whole export carries it
            if person_ids is not None:
                continue
            if since is not None:
                stmt = stmt.where(table.c.created_at >= since)
        else:  # the customer's own tables
            if person_ids is not None:
                stmt = stmt.where(table.c.customer_id.in_(person_ids))
            if since is not None:
                stamp = table.c.updated_at if kind == "customer_state" else table.c.created_at
                stmt = stmt.where(stamp >= since)
        key = list(table.primary_key.columns)
        out.append((kind, stmt.order_by(*key)))
    return out


async def _present_tables(conn: AsyncConnection) -> set[str]:
    return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def archive_records(
    engine: AsyncEngine, *, since: datetime | None = None, customer: int | None = None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Every archived row as (record type, column values), streamed ``BATCH`` rows at a time."""
    async with engine.connect() as conn:
        tables = await _present_tables(conn)
        for kind, stmt in _statements(tables, since=since, customer=customer):
            result = await conn.stream(stmt.execution_options(yield_per=BATCH))
            async for row in result:
                yield kind, dict(row._mapping)


async def export_archive(
    engine: AsyncEngine,
    out: IO[str],
    *,
    fmt: str,
    since: datetime | None = None,
    customer: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write the archive to ``out`` as ``jsonl`` (one object per line, with ``type``) or ``csv``; returns counts."""
    counts: dict[str, int] = {}
    writer = None
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="raise", lineterminator="\n")
        writer.writeheader()
    async for kind, values in archive_records(engine, since=since, customer=customer):
        if writer is not None:
            row: dict[str, Any] = {"type": kind}
            for name, value in values.items():
                if value is None:
                    row[name] = ""
                elif isinstance(value, dict | list):
                    row[name] = json.dumps(value, ensure_ascii=False)
                else:
                    row[name] = _plain(value)
            writer.writerow(row)
        else:
            out.write(json.dumps({"type": kind, **{k: _plain(v) for k, v in values.items()}}, ensure_ascii=False))
            out.write("\n")
        counts[kind] = counts.get(kind, 0) + 1
        if progress is not None and counts[kind] % 100_000 == 0:
            progress(kind, counts[kind])
    out.flush()
    return counts


def _since(value: str) -> datetime:
    from bot.usecases.crm import CrmError, parse_day

    try:
        return parse_day(value)
    except CrmError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _customer_id(value: str) -> int:
    number = parse_id(value.lstrip("#"))
    if number is None:
        raise argparse.ArgumentTypeError(f"{value[:40]!r} is not a customer's id (a number such as 12)")
    return number


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot export", description="Write the archive out, streaming.")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--since", type=_since, help="only what was created or changed since this date (UTC)")
    parser.add_argument("--customer", type=_customer_id, help="only this customer (and customers merged into them)")
    parser.add_argument("--output", type=Path, help="a file to write (default: standard output)")
    return parser


def export_main(argv: list[str]) -> int:
    args = _export_parser().parse_args(argv)
    try:
        url = database_url()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2

    async def run() -> dict[str, int]:
        engine = reading_engine(url)
        try:
            if args.output is None:
                return await export_archive(
                    engine, sys.stdout, fmt=args.format, since=args.since, customer=args.customer
                )
            with args.output.open("w", encoding="utf-8", newline="") as out:
                return await export_archive(engine, out, fmt=args.format, since=args.since, customer=args.customer)
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing"
    print(f"exported {summary}", file=sys.stderr)
    return 0


def erase_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot erase-customer",
        description="Remove a customer's personal data and message texts for good (counts and timings stay).",
    )
    parser.add_argument("customer_id", type=_customer_id)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation on a terminal")
    args = parser.parse_args(argv)
    try:
        url = database_url()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        from bot.store.database import Database
        from bot.store.engine import create_engine, migrate
        from bot.usecases.crm import CrmError, Customers

        engine = create_engine(url)
        try:
            await migrate(engine)
            customers_ = Customers(Database(engine))
            actor = f"cli:{getpass.getuser()}"
            if sys.stdin.isatty() and not args.yes:
                found = await customers_.find(str(args.customer_id), actor)
                if not found:
                    print(f"there is no customer #{args.customer_id}", file=sys.stderr)
                    return 1
                question = f"Erase customer #{found[0].id} ({found[0].name}) for good? [y/N] "
                answer = await asyncio.to_thread(input, question)
                if answer.strip().lower() not in ("y", "yes"):
                    print("nothing erased", file=sys.stderr)
                    return 1
            try:
                report = await customers_.erase(args.customer_id, actor)
            except CrmError as exc:
                print(str(exc), file=sys.stderr)
                return 1
        finally:
            await engine.dispose()
        c = report.counts
        print(
            f"erased customer #{report.customer_id}: {c.identities} identities, {c.conversations} conversations, "
            f"{c.messages} message texts, {c.activities} timeline entries, {c.tags} tags, "
            f"{c.deliveries} queued deliveries, in {report.seconds:.2f} s; counts and timings are kept"
        )
        return 0

    return asyncio.run(run())
