"""``/history`` over the whole archive, through signed slash commands and the fakes: Korean by substring, one- and
two-character queries, names, usernames and ids, notes, filters, paging through response_url, the audit trail,
and an index that stays exact through every write path."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text, update

from bot.slack.customer_blocks import HISTORY_MORE
from bot.store import search as search_module
from bot.store.schema import messages
from tests.conftest import BILLING, INBOX, STAFF, STAFF2, Bot, wait_until
from tests.customer_helpers import (
    action_elements,
    assert_within_limits,
    audit_rows,
    click,
    customer_of,
    customer_writes,
    person,
    responses,
    shown,
)

ANA_CHAT, BORIS_CHAT = 8001, 8002
ANA = person(ANA_CHAT, "Ana", "Lopez", "ana_l")
BORIS = person(BORIS_CHAT, "박보리", None, "boris_p")


def hits(answer: dict) -> list[str]:
    """The result lines (customer · channel · date · role · link, then the snippet) of one page."""
    return [
        b["text"]["text"]
        for b in answer.get("blocks") or []
        if b["type"] == "section" and "\n>" in b["text"]["text"] and " · " in b["text"]["text"]
    ]


def snippets(answer: dict) -> list[str]:
    return [line.split("\n>", 1)[1] for line in hits(answer)]


async def _archive_says(bot: Bot, *texts: str, chat: int = ANA_CHAT, user: dict | None = None) -> None:
    for t in texts:
        await customer_writes(bot, chat, t, user or ANA)


async def test_korean_is_found_by_substring_and_short_queries_work(bot: Bot) -> None:
    await _archive_says(
        bot, "환불이 필요해요", "환불해 주세요", "전액환불 부탁드립니다", "배송은 언제 오나요?", "Refund please"
    )
    cases = {
        "환불": {"환불이 필요해요", "환불해 주세요", "전액환불 부탁드립니다"},  # two characters: inside words too
        "환불이": {"환불이 필요해요"},
        "불": {"환불이 필요해요", "환불해 주세요", "전액환불 부탁드립니다"},  # one character
        "해": {"환불이 필요해요", "환불해 주세요"},
        "refund": {"Refund please"},
        "REFUND": {"Refund please"},  # case-insensitive
        "re": {"Refund please"},
        "환불 주세요": {"환불해 주세요"},  # every word, anywhere
        '"부탁드립니다"': {"전액환불 부탁드립니다"},
        "환불증명서": set(),
    }
    for query, expected in cases.items():
        answer = await bot.command("/history", query)
        assert answer["response_type"] == "ephemeral"
        assert set(snippets(answer)) == expected, query
        assert_within_limits(bot, answer["blocks"])
        if not expected:
            assert f"Nothing found for “{query}”" in shown(answer)


async def test_a_result_shows_customer_channel_date_snippet_and_thread_link(bot: Bot) -> None:
    thread = await customer_writes(bot, ANA_CHAT, "결제가 두 번 됐어요 <!channel>", ANA)
    await bot.staff_reply(thread, "확인해 보겠습니다, 결제 내역을 봤어요")
    await bot.idle()
    answer = await bot.command("/history", "결제")
    lines = hits(answer)
    assert len(lines) == 2
    reply, inbound = lines  # newest first
    assert inbound.startswith("*Ana Lopez* (@ana_l) · Telegram · <!date^")
    assert "· customer · <https://example.slack.com/archives/" in inbound and thread[0] in inbound
    assert inbound.endswith(">결제가 두 번 됐어요 &lt;!channel&gt;")  # escaped: it pings nobody
    assert "· reply by Jiwoo ·" in reply
    long = "앞부분 " * 400 + "찾는말" + " 뒷부분" * 400
    await customer_writes(bot, ANA_CHAT, long, ANA)
    answer = await bot.command("/history", "찾는말")
    (only,) = snippets(answer)
    assert only.startswith("…") and only.endswith("…") and "찾는말" in only and len(only) < 300


async def test_names_usernames_ids_and_notes_are_searched(bot: Bot) -> None:
    thread = await customer_writes(bot, ANA_CHAT, "first message from Ana", ANA)
    await customer_writes(bot, BORIS_CHAT, "보리의 문의입니다", BORIS)
    await bot.staff_reply(thread, "note: 환불 처리 완료, 다음 주 재확인")
    ana = await customer_of(bot, ANA_CHAT)

    for query in ("@ana_l", "Lopez", str(ANA_CHAT)):
        answer = await bot.command("/history", query)
        text = shown(answer)
        assert "*Customers*" in text and f"*Ana Lopez* (@ana_l) · #{ana}" in text, query
        assert "first message from Ana" in text and "보리" not in text, query  # and that customer's messages
        assert_within_limits(bot, answer["blocks"])
    assert "보리의 문의입니다" in shown(await bot.command("/history", "박보리"))
    await wait_until(lambda: _has_note(bot), what="the thread note archived")
    note = await bot.command("/history", "처리 완료")
    assert len(hits(note)) == 1 and "· note by Jiwoo ·" in hits(note)[0]
    from bot.usecases.crm import Customers

    await Customers(bot.rt.db).add_note(ana, "VIP: 선물 포장 요청함", STAFF2)
    timeline = await bot.command("/history", "포장")
    assert len(hits(timeline)) == 1 and f"timeline note by <@{STAFF2}>" in hits(timeline)[0]


async def _has_note(bot: Bot) -> bool:
    async with bot.rt.db.transaction() as tx:
        found = await tx.conn.execute(text("SELECT 1 FROM messages WHERE direction = 'note'"))
        return found.first() is not None


@pytest.mark.parametrize("window", [search_module.RECENT_WINDOW, 1])
async def test_filters_by_customer_category_channel_and_dates(
    bot: Bot, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RECENT_WINDOW", window)  # 1: PostgreSQL's candidates through the index
    monkeypatch.setattr(search_module, "CANDIDATES", 1)  # one at a time, so the filters drop whole batches
    await customer_writes(bot, ANA_CHAT, "결제 오류가 났어요", ANA)  # billing, by its keyword
    await customer_writes(bot, BORIS_CHAT, "결제 문의입니다", BORIS)
    thread = await bot.thread_for(BORIS_CHAT)
    assert thread[0] == BILLING
    boris = await customer_of(bot, BORIS_CHAT)

    def found(answer: dict) -> set[str]:
        return set(snippets(answer))

    assert found(await bot.command("/history", "결제 customer:@ana_l")) == {"결제 오류가 났어요"}
    assert found(await bot.command("/history", f"결제 customer:#{boris}")) == {"결제 문의입니다"}
    assert found(await bot.command("/history", 'customer:"박보리"')) == {"결제 문의입니다"}  # no words: everything
    both = {"결제 오류가 났어요", "결제 문의입니다"}
    assert found(await bot.command("/history", "결제 category:billing")) == both
    assert found(await bot.command("/history", "결제 category:결제/환불")) == both  # by its label too
    assert found(await bot.command("/history", "결제 category:bugs")) == set()
    assert found(await bot.command("/history", "결제 channel:telegram")) == both
    assert found(await bot.command("/history", "결제 channel:web")) == set()

    async with bot.rt.db.transaction() as tx:  # one message from last January
        await tx.conn.execute(
            update(messages)
            .where(messages.c.text == "결제 오류가 났어요")
            .values(created_at=datetime(2025, 1, 15, 9, 30, tzinfo=UTC))
        )
    assert found(await bot.command("/history", "결제 from:2025-01-01 to:2025-01-31")) == {"결제 오류가 났어요"}
    assert found(await bot.command("/history", "결제 from:2025-01-16")) == {"결제 문의입니다"}
    assert found(await bot.command("/history", "결제 to:2025-01")) == {"결제 오류가 났어요"}
    assert found(await bot.command("/history", "결제 to:2024")) == set()

    bad = await bot.command("/history", "결제 from:yesterday")
    assert "“yesterday” is not a date" in shown(bad) and "Usage" in shown(bad)
    unknown = await bot.command("/history", "결제 customer:@nobody")
    assert "No customer matches “customer:@nobody”" in shown(unknown)
    assert "10:30" in shown(await bot.command("/history", "10:30"))  # a colon that is no filter is a word


@pytest.mark.parametrize("window", [search_module.RECENT_WINDOW, 3])
async def test_more_results_page_through_response_url_without_gaps_or_repeats(
    bot: Bot, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RECENT_WINDOW", window)  # 3: PostgreSQL's second phase on every page
    texts = [f"주문 번호 {n:02d}" for n in range(23)]
    for t in texts[:-1]:
        bot.telegram.push_text(ANA_CHAT, t, user=ANA)
    await customer_writes(bot, ANA_CHAT, texts[-1], ANA)
    ana = await customer_of(bot, ANA_CHAT)
    from bot.usecases.crm import Customers

    crm = Customers(bot.rt.db)
    for n in range(4):  # timeline notes mixed in by time
        await crm.add_note(ana, f"주문 메모 {n}", STAFF)
    await customer_writes(bot, BORIS_CHAT, "다른 고객의 주문", BORIS)

    answer = await bot.command("/history", "주문")
    pages = [answer]
    while True:
        more = [e for e in action_elements(pages[-1]["blocks"]) if e["action_id"] == HISTORY_MORE]
        if not more:
            break
        assert len(hits(pages[-1])) == 10
        rid = await click(bot, HISTORY_MORE, more[0]["value"], ephemeral=True)
        page = (await responses(bot, rid))[0]
        assert page["response_type"] == "ephemeral" and page["replace_original"] is False
        assert_within_limits(bot, page["blocks"])
        pages.append(page)
    seen = [s for p in pages for s in snippets(p)]
    expected = {*texts, *(f"주문 메모 {n}" for n in range(4)), "다른 고객의 주문"}
    assert len(seen) == len(expected) == 28 and set(seen) == expected  # each once
    assert [len(hits(p)) for p in pages] == [10, 10, 8]
    assert seen.index("다른 고객의 주문") < seen.index("주문 메모 3") < seen.index(texts[-1])  # newest first
    assert seen.index(texts[10]) < seen.index(texts[9])
    searches = await audit_rows(bot, "search")
    assert [(s.actor, s.target, s.detail["page"]) for s in searches[-3:]] == [(STAFF, "주문", p) for p in (1, 2, 3)]
    assert [s.detail["results"] for s in searches[-3:]] == [10, 10, 8]


async def test_every_search_is_recorded_with_who_what_and_when(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "hello", ANA)
    before = datetime.now(UTC)
    await bot.command("/history", "hello", user=STAFF)
    await bot.command("/history", "nothing here", user=STAFF2)
    rows = await audit_rows(bot, "search")
    assert [(r.actor, r.target, r.detail["results"]) for r in rows] == [
        (STAFF, "hello", 1),
        (STAFF2, "nothing here", 0),
    ]
    assert all(r.created_at >= before.replace(microsecond=0) for r in rows)


async def test_the_index_is_used_and_stays_exact_through_every_write_path(bot: Bot) -> None:
    thread = await customer_writes(bot, ANA_CHAT, "unique 고유단어 first", ANA)
    await bot.staff_reply(thread, "reply with 답변고유")
    await customer_writes(bot, BORIS_CHAT, "보리 고유단어 second", BORIS)
    await bot.idle()
    ana, boris = await customer_of(bot, ANA_CHAT), await customer_of(bot, BORIS_CHAT)
    from bot.usecases.crm import Customers

    crm = Customers(bot.rt.db)
    await crm.add_note(ana, "노트고유 memo", STAFF)
    await crm.merge(ana, boris, STAFF)
    assert set(snippets(await bot.command("/history", f"고유단어 customer:#{ana}"))) == {
        "unique 고유단어 first",
        "보리 고유단어 second",
    }
    await crm.erase(ana, "test")
    for word in ("고유단어", "답변고유", "노트고유", "Lopez", "ana_l", "박보리", str(ANA_CHAT), "고유"):
        answer = await bot.command("/history", word)
        assert hits(answer) == [] and "Customers" not in shown(answer), word

    async with bot.rt.db.transaction() as tx:
        if bot.rt.db.dialect == "sqlite":
            for fts in ("messages_fts", "activities_fts", "identities_fts"):
                # an external-content index checked against its table: a stale entry would fail this
                await tx.conn.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))
            stale = await tx.conn.execute(
                text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q"), {"q": '"고유단어"'}
            )
            assert stale.all() == []
            plan = await tx.conn.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q ORDER BY rowid"),
                {"q": '"주문"'},
            )
            assert any("VIRTUAL TABLE INDEX" in str(r) for r in plan.all())
        else:
            await tx.conn.execute(text("SET LOCAL enable_seqscan = off"))
            for condition, index in (
                ("text ILIKE '%환불이%'", "ix_messages_text_trgm"),
                ("threadbridge_grams(text) @> ARRAY['환불']", "ix_messages_text_grams"),
            ):
                plan = await tx.conn.execute(text(f"EXPLAIN SELECT id FROM messages WHERE {condition}"))
                assert index in json.dumps([str(r) for r in plan.all()]), condition


async def test_messages_of_many_customers_stay_findable_by_name(bot: Bot) -> None:
    """A name shared by more than a page of customers is a name search: they are listed, not all their messages."""
    for n in range(7):
        await customer_writes(bot, 9000 + n, f"message {n}", person(9000 + n, "Kim", f"N{n}"))
    answer = await bot.command("/history", "Kim")
    text = shown(answer)
    assert text.count("• *Kim N") == 5 and "More customers match" in text  # the customer lines
    assert len(hits(answer)) == 7  # seven customers: few enough to show their messages too
    assert INBOX in json.dumps(answer)
