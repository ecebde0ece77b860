"""The website channel as the team and its visitors use it: the widget's files (small, no eval, served only when
the channel is on), categories as buttons, the acknowledgement, business hours and the email left for the answer,
page views, closed conversations, resends, missed replies, staff files, erasure, several tabs, several processes,
and the Slack side (/history, /customer, merging a Telegram customer with a website visitor)."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime

import pytest

from bot.config import ConfigError
from bot.connectors import registry
from bot.connectors.base import Outgoing
from bot.connectors.website import pages
from bot.connectors.website.texts import WIDGET_TEXTS
from bot.domain.activity import LEFT_CONTACT, VIEWED
from bot.domain.errors import PermanentFailure
from bot.domain.i18n import customer_texts
from bot.slack.customer_blocks import MERGE
from bot.usecases.crm import Customers
from tests.conftest import STAFF, Bot, BotFactory, all_text, wait_until
from tests.contract.suite import RecordedParts
from tests.customer_helpers import click, customer_writes, person, responses, shown
from tests.fakes.visitor import PAGE_ORIGIN
from tests.website_helpers import WEBSITE_ENV, signed_user, visitor, website, website_bot, website_yaml

WIDGET_BUDGET = 30 * 1024  # bytes, gzipped: everything a visitor's browser loads for the chat


async def test_the_widget_is_small_and_runs_under_a_strict_policy(bot_factory: BotFactory) -> None:
    async with website_bot(bot_factory) as bot:
        async with bot.http.get(f"{bot.rt.url}/website/frame", params={"origin": PAGE_ORIGIN}) as response:
            frame = await response.read()
        loaded = [frame] + [pages.asset(name) for name in pages.STATIC]
        sizes = [len(gzip.compress(body, 9)) for body in loaded]
        assert sum(sizes) <= WIDGET_BUDGET, sizes
        for name in ("widget.js", "frame.js"):
            code = pages.asset(name).decode()
            assert not re.search(r"\beval\s*\(|new Function|innerHTML|outerHTML|insertAdjacentHTML|document\.write",
                                 code), name  # fmt: skip
            assert not re.search(r"setAttribute\(\s*['\"](on\w+|style)['\"]", code), name
        async with bot.http.get(f"{bot.rt.url}/widget.js") as response:
            assert response.status == 200 and response.content_type == "application/javascript"


async def test_a_deployment_without_the_website_serves_none_of_it(bot: Bot) -> None:
    for path in ("/widget.js", "/website/frame", "/website/ws", "/website/frame.js"):
        async with bot.http.get(bot.rt.url + path) as response:
            assert response.status == 404, path


def test_every_text_of_the_widget_exists_in_korean_and_english() -> None:
    assert set(WIDGET_TEXTS) == {"ko", "en"} and WIDGET_TEXTS["ko"].keys() == WIDGET_TEXTS["en"].keys()
    for language, texts in WIDGET_TEXTS.items():
        for key, text in texts.items():
            assert text.strip(), (language, key)
            assert re.findall(r"\{\w+\}", text) == re.findall(r"\{\w+\}", WIDGET_TEXTS["en"][key]), (language, key)
    used = set(re.findall(r"T\.(\w+)", pages.asset("frame.js").decode()))
    assert used <= WIDGET_TEXTS["en"].keys(), used - WIDGET_TEXTS["en"].keys()


def test_the_settings_are_checked_and_the_secrets_come_from_the_environment() -> None:
    def load(section: dict, env: dict | None = None) -> str:
        try:
            registry.configure({"website": section}, WEBSITE_ENV if env is None else env)
        except ConfigError as exc:
            return str(exc)
        return "ok"

    good = {"allowed_origins": [PAGE_ORIGIN]}
    assert load(good) == "ok"
    assert load(good, {}).startswith("WEBSITE_TOKEN_SECRET: required for the website channel")
    assert load({}).startswith("channels.website.allowed_origins: a list of the origins")
    assert "is not an origin" in load({"allowed_origins": ["https://shop.example.com/pricing"]})
    assert load({**good, "colour": "blue"}) == 'channels.website.colour: a colour as "#RRGGBB", e.g. "#2f5bea"'
    assert load({**good, "after_hours": "sleep"}) == "channels.website.after_hours: one of: ask_email, notice, off"
    no_identity = {"WEBSITE_TOKEN_SECRET": WEBSITE_ENV["WEBSITE_TOKEN_SECRET"]}
    assert load({**good, "require_identity": True}, no_identity).startswith("WEBSITE_IDENTITY_SECRET: required when")
    assert load({**good, "max_file_mb": 500}) == "channels.website.max_file_mb: a number from 0.01 to 50"
    settings = registry.configure({"website": good}, WEBSITE_ENV)["website"]
    assert WEBSITE_ENV["WEBSITE_TOKEN_SECRET"] not in repr(settings) + settings.describe()


async def test_categories_come_as_buttons_after_the_acknowledgement_and_a_tap_routes(bot_factory: BotFactory) -> None:
    yaml = {**website_yaml(), "ask_category": True, "texts": {}}
    async with website_bot(bot_factory, yaml=yaml) as bot:
        v = visitor(bot)
        await v.connect()
        await v.say("a question about my bill")
        await v.sees(lambda: any(e.get("buttons") for e in v.entries.values()), "the category buttons")
        texts = v.team_texts()
        assert "Thanks, we've got your message!" in texts[0] and "What is your question about?" in texts[-1]
        buttons = next(e["buttons"] for e in v.entries.values() if e.get("buttons"))
        billing = next(b for row in buttons for b in row if b["label"] == "결제/환불")
        await v.send({"t": "pick", "data": billing["data"], "key": "tap-00000001"})
        await v.sees(lambda: any(f["t"] == "picked" for f in v.frames), "the tap answered")
        picked = next(f for f in v.frames if f["t"] == "picked")
        assert picked["status"] == "chosen" and picked["notice"]
        conversation = next(c for c in await bot.rt.service.open_inquiries() if c.channel == "website")
        assert conversation.category == "billing"
        await v.close()


async def test_each_visitor_reads_the_team_in_their_browser_s_language(bot_factory: BotFactory) -> None:
    yaml = {**website_yaml(), "ask_category": True, "texts": {}}  # the team's default language is English
    async with website_bot(bot_factory, yaml=yaml) as bot:
        korean, english = visitor(bot, lang="ko"), visitor(bot, lang="en")  # as the frame sends it
        for v in (korean, english):
            await v.connect()
            await v.say("a question about my bill")
            await v.sees(lambda v=v: any(e.get("buttons") for e in v.entries.values()), "the category buttons")
        assert customer_texts("ko").auto_reply in korean.team_texts()[0]
        assert customer_texts("ko").choose_category in korean.team_texts()[-1]
        assert customer_texts("en").auto_reply in english.team_texts()[0]
        languages = {c.address: c.language_code for c in await bot.rt.service.open_inquiries()}
        assert sorted(languages.values()) == ["en", "ko"]
        await korean.close()
        await english.close()


async def test_after_hours_the_widget_says_so_and_an_email_left_is_kept_and_told(bot_factory: BotFactory) -> None:
    night = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 23:00 in Seoul
    hours = {"default": {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}}}
    yaml = {**website_yaml(), "business_hours": hours}
    async with bot_factory(bot_yaml=yaml, clock=lambda: night, **WEBSITE_ENV) as bot:
        v = visitor(bot)
        welcome = await v.connect()
        assert welcome["hours"] == {"open": False, "opens_at": "2026-12-02T00:00:00+00:00", "timezone": "Asia/Seoul"}
        await v.say("are you there?")
        await v.sees(lambda: any("away right now" in t for t in v.team_texts()), "the after-hours reply")
        address = website(bot).signer.read(v.token).address
        thread = await bot.thread_for_address("website", address or "")
        await v.send({"t": "email", "email": "mina@example.com"})
        await v.sees(lambda: any(f["t"] == "email" for f in v.frames), "the email kept")
        await v.send({"t": "email", "email": "not an address"})
        await v.sees(lambda: v.errors("email_invalid"), "the bad address refused")
        said = await bot.thread_text(thread, "left an address to be answered at")
        assert "`mina@example.com`" in said
        conversation = next(c for c in await bot.rt.service.open_inquiries() if c.channel == "website")
        profile = await Customers(bot.rt.db, bot.rt.config.bot).profile(conversation.customer_id, STAFF, via="test")
        assert [e.kind for e in profile.timeline][:1] == [LEFT_CONTACT]
        await v.close()


async def test_page_views_show_on_the_thread_and_the_profile_and_can_be_switched_off(bot_factory: BotFactory) -> None:
    views = [{"vid": f"view-{n:06d}", "url": f"{PAGE_ORIGIN}{path}", "title": "Acme"}
             for n, path in enumerate(["/pricing", "/pricing", "/pricing", "/signup"])]  # fmt: skip
    async with website_bot(bot_factory) as bot:
        v = visitor(bot)
        await v.connect()
        await v.send({"t": "page", "vid": "view-early0", "url": f"{PAGE_ORIGIN}/faq"})  # not kept: never wrote
        await v.say("how do I sign up?", views=views)
        conversation = next(c for c in await bot.rt.service.open_inquiries() if c.channel == "website")
        thread = await bot.thread_for_address("website", conversation.address)
        header = all_text(bot.slack.message(*thread) or {})
        assert "*Before writing:* viewed /pricing 3×, then /signup" in header
        assert f"*Came from:* {PAGE_ORIGIN}/faq" in header  # the page they wrote from
        await v.send({"t": "page", "vid": "view-later0", "url": f"{PAGE_ORIGIN}/checkout"})
        customers = Customers(bot.rt.db, bot.rt.config.bot)

        async def checkout_kept() -> bool:
            profile = await customers.profile(conversation.customer_id, STAFF, via="test")
            return [e.text.split("\n")[0] for e in profile.timeline if e.kind == VIEWED][:1] == ["/checkout"]

        await wait_until(checkout_kept, what="the later view on the timeline")
        reply = await bot.command("/customer", f"#{conversation.customer_id}")
        assert "viewed /pricing 3×, then /signup, then /checkout" in shown(reply)
        await v.close()
    async with website_bot(bot_factory, page_events=False) as bot:
        v = visitor(bot)
        await v.connect()
        await v.say("no tracking here", views=views)
        async with bot.rt.db.reading() as tx:
            kept = await tx.conn.exec_driver_sql("SELECT count(*) FROM activities WHERE kind = 'viewed'")
            assert kept.scalar_one() == 5  # the first bot's five (same database); this one kept none
        await v.close()


async def test_a_closed_conversation_tells_the_visitor_and_the_next_message_opens_a_new_one(
    bot_factory: BotFactory,
) -> None:
    async with website_bot(bot_factory, resync_seconds=1) as bot:
        v = visitor(bot)
        await v.connect()
        await v.say("first question")
        first = next(c for c in await bot.rt.service.open_inquiries() if c.channel == "website")
        await bot.rt.service.close(first.id, STAFF)
        await v.sees(lambda: any(f["t"] == "state" and f["open"] is False for f in v.frames), "told it closed")
        again = visitor(bot, token=v.token)
        assert (await again.connect())["open"] is False
        await again.say("a new question")
        second = next(c for c in await bot.rt.service.open_inquiries() if c.channel == "website")
        assert second.id != first.id and second.previous_id == first.id
        for each in (v, again):
            await each.close()


async def test_a_resend_is_stored_once_and_missed_replies_come_once_in_order(bot_factory: BotFactory) -> None:
    async with website_bot(bot_factory) as bot:
        v = visitor(bot)
        await v.connect()
        await v.say("hello", cid="client-message-1")
        address = website(bot).signer.read(v.token).address or ""
        thread = await bot.thread_for_address("website", address)
        await bot.staff_reply(thread, "hi, how can I help?")
        await v.sees(lambda: "hi, how can I help?" in v.team_texts(), "the first reply")
        await v.drop()
        for n in range(3):
            await bot.staff_reply(thread, f"while you were away {n}")
        await bot.idle()
        back = visitor(bot, token=v.token)
        back.entries = dict(v.entries)  # the page still shows what it had
        await back.connect(after=v.cursors())
        again = await back.say("hello", cid="client-message-1")  # the ack was lost: the widget sends it again
        assert again["t"] == "ack" and again["duplicate"] is True
        assert back.team_texts() == ["hi, how can I help?"] + [f"while you were away {n}" for n in range(3)]
        await bot.idle()
        assert bot.slack_count(thread, "hello") == 1
        await back.close()


async def test_staff_files_reach_the_visitor_by_link_and_an_erased_visitor_gets_nothing(
    bot_factory: BotFactory,
) -> None:
    async with website_bot(bot_factory) as bot:
        v = visitor(bot)
        await v.connect()
        await v.say("send me the manual")
        address = website(bot).signer.read(v.token).address or ""
        thread = await bot.thread_for_address("website", address)
        manual = bot.slack.host_file("manual.pdf", b"%PDF-1.7 the manual", "application/pdf")
        await bot.staff_reply(thread, "here it is", files=[manual])
        await v.sees(lambda: b"%PDF-1.7 the manual" in v.files.values(), "the file")
        entry = next(e for e in v.entries.values() if e.get("file"))
        assert entry["file"]["name"] == "manual.pdf" and entry["author"] == "Jiwoo" and entry["from"] == "staff"
        # The widget shows the name beside the reply, so the words come without a "Jiwoo: " in front.
        assert "here it is" in v.team_texts() and not any("Jiwoo" in text for text in v.team_texts())
        conversation = next(c for c in await bot.rt.service.open_inquiries() if c.address == address)
        await Customers(bot.rt.db, bot.rt.config.bot).erase(conversation.customer_id, "cli:test")
        with pytest.raises(PermanentFailure):
            await website(bot).send(address, Outgoing(text="are you still there?"), RecordedParts())
        assert (await website(bot).inbox.transcript(address)).known is False  # type: ignore[union-attr]
        await v.close()


async def test_a_second_tab_sees_what_the_first_wrote_and_a_reply_from_another_process(
    bot_factory: BotFactory,
) -> None:
    async with website_bot(bot_factory, resync_seconds=1) as bot:
        tab1 = visitor(bot)
        await tab1.connect()
        tab2 = visitor(bot, token=tab1.token)
        await tab2.connect()
        await tab1.say("written in tab one")
        await tab2.sees(lambda: any(e.get("text") == "written in tab one" for e in tab2.entries.values()), "tab two")
        address = website(bot).signer.read(tab1.token).address or ""
        inbox = website(bot).inbox
        assert inbox is not None  # another process records a delivery; this one never pushes it
        await inbox.delivered(address, message_id=None, part=0, payload={"from": "staff", "author": "Sam",
                                                                          "text": "from the other process"})
        await tab1.sees(lambda: "from the other process" in tab1.team_texts(), "the resync")
        for tab in (tab1, tab2):
            await tab.close()


async def test_history_customer_and_a_merge_with_a_telegram_customer_work_the_same(bot_factory: BotFactory) -> None:
    async with website_bot(bot_factory) as bot:
        await customer_writes(bot, 8801, "환불 문의 from Telegram", person(8801, "Mina", "Kim", "mina_k"))
        v = visitor(bot, user=signed_user("mina-77"))
        await v.connect()
        await v.say("환불은 언제 되나요? asked on the website")
        await bot.thread_for_address("website", "user-mina-77")
        found = await bot.command("/history", "환불")
        assert "asked on the website" in shown(found) and "from Telegram" in shown(found)
        conversations = {c.channel: c.customer_id for c in await bot.rt.service.open_inquiries()}
        keep, other = conversations["telegram"], conversations["website"]
        profile = await bot.command("/customer", "#" + str(other))
        assert "Website: Kim Mina (mina@example.com, verified) · id `user-mina-77`" in shown(profile)
        await bot.command("/customer", f"merge #{keep} #{other}")
        rid = await click(bot, MERGE, f"{keep}:{other}", ephemeral=True)
        assert "Merged" in shown((await responses(bot, rid))[0])
        merged = shown(await bot.command("/customer", f"#{keep}"))
        assert "Telegram: Mina Kim (@mina_k)" in merged and "Website: Kim Mina" in merged
        await v.say("still me after the merge")
        await bot.thread_for_address("website", "user-mina-77")
        await v.close()
