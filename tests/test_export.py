"""The data belongs to the team: ``python -m bot export`` (JSON lines and CSV, streaming, filtered) and
``python -m bot erase-customer`` (personal data gone, counts and timings kept, no trace in search), run as the
operator runs them: a separate process that is given DATABASE_URL and nothing else."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import tempfile
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update

from bot.cli.admin import CSV_COLUMNS, TABLES, export_archive, reading_engine
from bot.store.customer_schema import activities, audit_log, customer_state, customer_tags
from bot.store.engine import create_engine, migrate
from bot.store.schema import conversations, customers, events, identities, messages, outbox, seen_keys
from bot.usecases.crm import Customers
from tests.conftest import STAFF, Bot, all_text, wait_until
from tests.customer_helpers import customer_of, customer_writes, person, shown
from tests.fakes.slack_requests import message_changed_event
from tests.process import child_env

ANA_CHAT, BORIS_CHAT = 9101, 9102
ANA = person(ANA_CHAT, "Ana", "Lopez", "ana_l")
BORIS = person(BORIS_CHAT, "박보리", None, "boris_p")


async def cli(database_url: str, *args: str) -> tuple[int, str, str]:
    """``python -m bot …`` with DATABASE_URL as its only setting: no Slack or Telegram token exists for it. It runs
    in a folder of its own (no `.env` there) and is killed if it has not finished in two minutes."""
    with tempfile.TemporaryDirectory(prefix="threadbridge-cli-") as workdir:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=workdir,
            env=child_env(DATABASE_URL=database_url),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 120)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _seed(bot: Bot) -> tuple[int, int]:
    """Two customers, messages both ways, a thread note, timeline entries, tags, a stage and a merge event."""
    thread = await customer_writes(bot, ANA_CHAT, '첫 주문 문의 {"json": "in text"}, "quoted"\nnew line', ANA)
    await bot.staff_reply(thread, "확인해 볼게요, Ana")
    await bot.staff_reply(thread, "note: 주소는 서울시 강남구")
    await customer_writes(bot, BORIS_CHAT, "보리의 결제 문의", BORIS)
    ana, boris = await customer_of(bot, ANA_CHAT), await customer_of(bot, BORIS_CHAT)
    crm = Customers(bot.rt.db, bot.rt.config.bot)
    await crm.add_note(ana, "VIP, 선물 포장", STAFF)
    await crm.log_contact(ana, "call", "no answer", STAFF)
    await crm.set_tags(ana, "vip, 서울", STAFF)
    await crm.set_stage(ana, "contacted", STAFF)
    await bot.idle()
    return ana, boris


async def _rows(bot: Bot) -> dict[str, list[dict[str, Any]]]:
    """Every archived row, as the database holds it, by record type, in primary key order."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with bot.rt.db.transaction() as tx:
        for kind, table in TABLES:
            key = list(table.primary_key.columns)
            out[kind] = [dict(r._mapping) for r in await tx.conn.execute(select(table).order_by(*key))]
    return out


def _same(exported: Any, stored: Any) -> bool:
    if isinstance(stored, datetime):
        return datetime.fromisoformat(exported) == stored
    return bool(exported == stored)


def _from_csv(value: str, stored: Any) -> Any:
    if stored is None:
        return None if value == "" else value
    if isinstance(stored, dict | list):
        return json.loads(value)
    if isinstance(stored, int):
        return int(value)
    return value


async def test_jsonl_export_round_trips_every_row_to_stdout_or_a_file(
    bot: Bot, database_url: str, tmp_path: Path
) -> None:
    await _seed(bot)
    stored = await _rows(bot)
    code, out, err = await cli(database_url, "export", "--format", "jsonl")
    assert code == 0, err
    target = tmp_path / "archive.jsonl"
    code, _, err = await cli(database_url, "export", "--output", str(target))  # jsonl is the default
    assert code == 0, err
    assert target.read_text(encoding="utf-8") == out
    records = [json.loads(line) for line in out.splitlines()]
    for kind, rows in stored.items():
        exported = [r for r in records if r["type"] == kind]
        assert len(exported) == len(rows), kind
        for got, row in zip(exported, rows, strict=True):
            assert set(got) == {"type", *row}, kind
            assert all(_same(got[k], v) for k, v in row.items()), (kind, got, row)
    assert {r["type"] for r in records} >= {"customer", "identity", "conversation", "message", "event", "activity"}
    assert "exported" in err and "message" in err


async def test_csv_export_round_trips_every_row(bot: Bot, database_url: str, tmp_path: Path) -> None:
    await _seed(bot)
    stored = await _rows(bot)
    target = tmp_path / "archive.csv"
    code, _, err = await cli(database_url, "export", "--format", "csv", "--output", str(target))
    assert code == 0, err
    with target.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        records = list(reader)
    for kind, rows in stored.items():
        exported = [r for r in records if r["type"] == kind]
        assert len(exported) == len(rows), kind
        for got, row in zip(exported, rows, strict=True):
            assert all(_same(_from_csv(got[k], v), v) for k, v in row.items()), (kind, got, row)
            assert all(got[c] == "" for c in CSV_COLUMNS if c not in row and c != "type")
    assert any("\n" in r["text"] and '"quoted"' in r["text"] for r in records if r["type"] == "message")


async def test_export_of_one_customer_or_of_what_changed_since_a_date(bot: Bot, database_url: str) -> None:
    ana, boris = await _seed(bot)
    code, out, err = await cli(database_url, "export", "--customer", str(boris))
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["id"] for r in records if r["type"] == "customer"} == {boris}
    assert {r["text"] for r in records if r["type"] == "message"} == {"보리의 결제 문의"}
    assert all(r["customer_id"] == boris for r in records if r["type"] in ("identity", "conversation", "activity"))

    async with bot.rt.db.transaction() as tx:  # Ana's whole history happened last year
        last_year = datetime.now(UTC) - timedelta(days=400)
        for table, column in (
            (messages, "created_at"),
            (events, "created_at"),
            (activities, "created_at"),
            (customer_tags, "created_at"),
        ):
            owned = (
                table.c.conversation_id.in_(select(conversations.c.id).where(conversations.c.customer_id == ana))
                if "conversation_id" in table.c and table is not activities
                else table.c.customer_id == ana
            )
            await tx.conn.execute(update(table).where(owned).values({column: last_year}))
        await tx.conn.execute(
            update(conversations).where(conversations.c.customer_id == ana).values(last_message_at=last_year)
        )
        await tx.conn.execute(update(customers).where(customers.c.id == ana).values(created_at=last_year))
        await tx.conn.execute(update(identities).where(identities.c.customer_id == ana).values(created_at=last_year))
        await tx.conn.execute(
            update(customer_state).where(customer_state.c.customer_id == ana).values(updated_at=last_year)
        )
    since = (date.today() - timedelta(days=30)).isoformat()
    code, out, err = await cli(database_url, "export", "--since", since)
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["id"] for r in records if r["type"] == "customer"} == {boris}
    assert {r["text"] for r in records if r["type"] == "message"} == {"보리의 결제 문의"}
    assert not [r for r in records if r["type"] in ("activity", "customer_tag", "customer_state")]
    code, _, err = await cli(database_url, "export", "--since", "last week")
    assert code == 2 and "not a date" in err


async def test_export_streams_in_constant_memory(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    now = datetime.now(UTC)

    async def seed(first: int, count: int) -> None:
        async with engine.begin() as conn:
            if first == 0:
                await conn.execute(insert(customers).values(id=1, display_name="Load", created_at=now))
                await conn.execute(
                    insert(identities).values(
                        id=1, customer_id=1, channel="telegram", external_id="1", display_name="Load", created_at=now
                    )
                )
                await conn.execute(
                    insert(conversations).values(
                        id=1, customer_id=1, identity_id=1, status="open", slack_channel="C1", opened_at=now,
                        last_message_at=now,
                    )
                )  # fmt: skip
            rows = [
                {
                    "conversation_id": 1, "direction": "inbound", "author_id": "telegram:1", "author_name": "Load",
                    "channel": "telegram", "text": f"메시지 {n} " + "가나다라마바사 " * 30, "attachments": [],
                    "source_key": f"load:{n}", "external_message_ids": [str(n)], "delivery": "delivered",
                    "created_at": now,
                }
                for n in range(first, first + count)
            ]  # fmt: skip
            await conn.execute(insert(messages), rows)

    async def peak() -> tuple[int, int]:
        reader = reading_engine(database_url)
        written = [0]

        class Sink(io.TextIOBase):  # counts what it is given and keeps none of it
            def write(self, s: str) -> int:
                written[0] += len(s)
                return len(s)

        try:
            tracemalloc.start()
            counts = await export_archive(reader, Sink(), fmt="jsonl")
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            await reader.dispose()
        assert written[0] > counts["message"] * 200  # everything went through the sink
        return top, counts["message"]

    try:
        await seed(0, 2_000)
        small, n_small = await peak()
        await seed(2_000, 18_000)
        large, n_large = await peak()
    finally:
        await engine.dispose()
    assert (n_small, n_large) == (2_000, 20_000)
    # ten times the rows, about the same memory: rows are fetched and written a batch at a time
    print(f"export peak memory: {small} bytes for 2,000 messages, {large} bytes for 20,000")
    assert large < small * 1.5 + 1_000_000, (small, large)


async def test_erase_customer_removes_personal_data_keeps_counts_and_leaves_no_trace_in_search(
    bot: Bot, database_url: str
) -> None:
    ana, _boris = await _seed(bot)
    thread = await bot.thread_for(ANA_CHAT)
    reply = next(m for m in (await _rows(bot))["message"] if m["direction"] == "outbound")
    edit = message_changed_event(
        *thread[:1], reply["slack_ts"], "Ana, 강남구로 보낼게요", user=STAFF, thread_ts=thread[1]
    )
    assert (await bot.slack_event(edit)).status == 200
    await bot.idle()
    before = await _rows(bot)
    edited_version = next(m for m in before["message"] if m["edit_of"] == reply["id"])  # every version is archived
    assert "강남구로" in edited_version["text"]
    ana_messages = [m for m in before["message"] if m["conversation_id"] in _conversations_of(before, ana)]
    assert len(ana_messages) == 4

    code, out, err = await cli(database_url, "erase-customer", str(ana))
    assert code == 0, err
    assert f"erased customer #{ana}: 1 identities, 1 conversations, 4 message texts, 4 timeline entries" in out
    assert "2 tags" in out and "counts and timings are kept" in out

    after = await _rows(bot)
    assert len(after["message"]) == len(before["message"]) and len(after["conversation"]) == len(before["conversation"])
    erased = {m["id"]: m for m in after["message"]}
    for m in ana_messages:
        kept = erased[m["id"]]
        assert kept["text"] == "" and kept["raw_text"] is None and kept["attachments"] == []
        assert kept["created_at"] == m["created_at"] and kept["direction"] == m["direction"]  # timings stay
        assert str(ANA_CHAT) not in json.dumps(kept, default=str)
    (identity,) = [i for i in after["identity"] if i["customer_id"] == ana]
    assert identity["display_name"] == "[erased]" and identity["username"] is None
    assert str(ANA_CHAT) not in identity["external_id"]
    assert next(c for c in after["customer"] if c["id"] == ana)["display_name"] == "[erased]"
    assert not [t for t in after["customer_tag"] if t["customer_id"] == ana]
    assert all(a["text"] == "" for a in after["activity"] if a["customer_id"] == ana and a["kind"] != "erase")
    assert "보리의 결제 문의" in {m["text"] for m in after["message"]}  # nobody else is touched
    (edited,) = [e for e in after["event"] if e["kind"] == "staff_edited"]  # who and when stay, the words go
    assert edited["actor"] == STAFF and not edited["detail"].get("text")
    assert "강남구" not in json.dumps([e["detail"] for e in after["event"]], ensure_ascii=False)
    assert "강남구" not in json.dumps(after["message"], ensure_ascii=False, default=str)
    assert not [p for p in after.get("message_part", []) if p["message_id"] in {m["id"] for m in ana_messages}]

    async with bot.rt.db.transaction() as tx:
        audit = (await tx.conn.execute(select(audit_log).where(audit_log.c.action == "erase"))).one()
        event = (await tx.conn.execute(select(events).where(events.c.kind == "customer_erased"))).one()
        state = (await tx.conn.execute(select(customer_state).where(customer_state.c.customer_id == ana))).one()
        leftovers = (await tx.conn.execute(select(outbox).where(outbox.c.lane == f"telegram:chat:{ANA_CHAT}"))).all()
        keys = (await tx.conn.execute(select(seen_keys).where(seen_keys.c.key.like(f"telegram:{ANA_CHAT}:%")))).all()
    assert audit.actor.startswith("cli:") and audit.target == str(ana) and audit.detail["messages"] == 4
    assert event.detail["customer"] == ana and state.erased_at is not None
    assert leftovers == [] and keys == []
    conversation = await bot.rt.service.conversation(next(iter(_conversations_of(after, ana))))
    assert conversation is not None and conversation.status == "closed"  # nobody is left to answer

    for word in ("강남구", "첫 주문", "Ana", "ana_l", str(ANA_CHAT), "선물", "no answer", "서울"):
        answer = await bot.command("/history", word)
        assert "Results" not in shown(answer) and "Customers" not in shown(answer), word
    assert "보리의 결제 문의" in shown(await bot.command("/history", "결제"))
    assert "No customer matches" in (await bot.command("/customer", "@ana_l"))["text"]
    profile = shown(await bot.command("/customer", f"#{ana}"))
    assert "[erased]" in profile and "Personal data erased" in profile and "Lopez" not in profile

    await wait_until(  # the running bot refreshes the thread's first message, which showed the name
        lambda: "[erased]" in all_text(bot.slack.message(*thread) or {}), what="the header without the name"
    )
    assert "Lopez" not in all_text(bot.slack.message(*thread) or {})
    if bot.rt.db.dialect == "sqlite":
        async with bot.rt.db.transaction() as tx:
            for fts in ("messages_fts", "activities_fts", "identities_fts"):
                await tx.conn.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))
            for phrase in ('"강남구"', '"Lopez"', f'"{ANA_CHAT}"'):
                found = await tx.conn.execute(
                    text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q UNION ALL "
                         "SELECT rowid FROM identities_fts WHERE identities_fts MATCH :q UNION ALL "
                         "SELECT rowid FROM activities_fts WHERE activities_fts MATCH :q"),
                    {"q": phrase},
                )  # fmt: skip
                assert found.all() == [], phrase

    code, _, err = await cli(database_url, "erase-customer", "999999")
    assert code == 1 and "no customer #999999" in err


def _conversations_of(rows: dict[str, list[dict[str, Any]]], customer: int) -> set[int]:
    return {c["id"] for c in rows["conversation"] if c["customer_id"] == customer}
