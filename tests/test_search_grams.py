"""Short search terms: one- and two-character terms, found or found nowhere, answered from an index on both
databases (SQLite: the gram tables of migration 0012, bot.store.grams; PostgreSQL: the gram indexes of 0003), kept
exact through every write path, and filled for an archive written before the index existed."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import event, text, update

from bot.store.engine import create_engine
from bot.store.grams import grams, term_token
from bot.store.schema import messages
from bot.usecases.crm import Customers
from tests.conftest import STAFF, Bot
from tests.customer_helpers import customer_of, customer_writes, person, shown
from tests.test_migrations import alembic_config
from tests.test_search import hits, snippets

MINA_CHAT, JOON_CHAT = 8101, 8102
MINA = person(MINA_CHAT, "Mina", "Kim", "mina_k")
JOON = person(JOON_CHAT, "준호", None, "joonho")


def test_a_gram_token_is_ascii_folded_like_like_and_never_spans_whitespace() -> None:
    tokens = set(grams("Ab 환불").split())
    assert tokens == {term_token(t) for t in ("a", "b", "ab", "환", "불", "환불")}
    assert term_token("AB") == term_token("ab")  # LIKE folds ASCII letters ...
    assert term_token("É") != term_token("é")  # ... and nothing else, so the index does the same
    assert term_token("b 환") is None and term_token("abc") is None and term_token("") is None
    assert grams("aa aa", None, "aa") == term_token("a") + " " + term_token("aa")  # each gram once
    assert all(token.isascii() and token.isalnum() for token in tokens)  # no tokenizer splits or drops one


async def _statements_of(bot: Bot, query: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The /history answer for ``query`` and every statement the bot ran to give it."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    engine = bot.rt.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        answer = await bot.command("/history", query)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return answer, seen


async def _scans(bot: Bot, statements: list[tuple[str, Any]]) -> list[str]:
    """SQLite: the full scans of searched tables in the plans of the search's statements."""
    found: list[str] = []
    async with bot.rt.db.reading() as tx:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = await tx.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            for row in plan.all():
                detail = str(row[-1])
                table = detail.split()[1] if detail.startswith("SCAN ") else ""
                if table in ("messages", "activities", "identities") and "VIRTUAL TABLE" not in detail:
                    found.append(detail)
    return found


async def _gram_rows(bot: Bot, gram_table: str, term: str) -> list[int]:
    async with bot.rt.db.reading() as tx:
        rows = await tx.conn.execute(
            text(f"SELECT rowid FROM {gram_table} WHERE {gram_table} MATCH :q"), {"q": term_token(term)}
        )
        return [r[0] for r in rows.all()]


async def test_short_terms_found_and_absent_come_from_the_index_through_every_write_path(bot: Bot) -> None:
    thread = await customer_writes(bot, MINA_CHAT, "환불 부탁해요 OK", MINA)
    await bot.staff_reply(thread, "답변 드려요")
    await customer_writes(bot, JOON_CHAT, "배송 문의", JOON)
    await bot.idle()
    mina = await customer_of(bot, MINA_CHAT)
    await Customers(bot.rt.db).add_note(mina, "메모 zq", STAFF)
    cases = {
        "환": {"환불 부탁해요 OK"},
        "Ok": {"환불 부탁해요 OK"},  # ASCII letters fold, as LIKE folds them
        "드려": {"답변 드려요"},
        "송 문": {"배송 문의"},  # two short terms, both required
        "zq": {"메모 zq"},  # a note
        "qz": set(),  # found nowhere
        "뷁": set(),
    }
    for query, expected in cases.items():
        answer, statements = await _statements_of(bot, query)
        assert set(snippets(answer)) == expected, query
        if bot.rt.db.dialect == "sqlite":
            assert await _scans(bot, statements) == [], query
            assert any("_grams MATCH" in s for s, _ in statements), query
    answer = await bot.command("/history", "준")
    assert "준호" in shown(answer)  # a customer's name

    async with bot.rt.db.transaction() as tx:  # a message's text changed in place
        await tx.conn.execute(update(messages).where(messages.c.text == "답변 드려요").values(text="고친 답변"))
    assert snippets(await bot.command("/history", "드려")) == []
    assert snippets(await bot.command("/history", "고친")) == ["고친 답변"]
    await Customers(bot.rt.db).erase(mina, "test")
    for gone in ("환", "Ok", "zq", "고친"):
        assert hits(await bot.command("/history", gone)) == [], gone
    if bot.rt.db.dialect == "sqlite":  # nothing stale is left in the index either
        for gram_table, term in (("messages_grams", "환"), ("messages_grams", "드려"), ("activities_grams", "zq")):
            assert await _gram_rows(bot, gram_table, term) == [], (gram_table, term)
        assert await _gram_rows(bot, "messages_grams", "배송") != []


async def test_an_archive_written_before_the_gram_index_is_found_by_short_terms_after_the_upgrade(
    bot: Bot, database_url: str
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:  # the database as the previous release left it
            await conn.run_sync(lambda connection: command.downgrade(alembic_config(connection), "0011_reports"))
        await customer_writes(bot, MINA_CHAT, "예전 환불 문의", MINA)  # written by that release: no gram index
        await bot.idle()
        async with engine.begin() as conn:
            await conn.run_sync(lambda connection: command.upgrade(alembic_config(connection), "head"))
    finally:
        await engine.dispose()
    assert snippets(await bot.command("/history", "예전")) == ["예전 환불 문의"]
    assert "Mina" in shown(await bot.command("/history", "Mi"))
    if bot.rt.db.dialect == "sqlite":
        assert await _gram_rows(bot, "messages_grams", "예전") != []
        assert await _gram_rows(bot, "identities_grams", "mi") != []
