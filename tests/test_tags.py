"""Tags on conversations, through the fakes: keyword rules as customers write (case aside, Korean inside words),
the tags menu on the thread's first message (a signed block_actions multi-select), the filters of /history and
/inquiries, and what a customer asked about on their profile."""

from __future__ import annotations

from typing import Any

from bot.config import ConfigError, parse_bot_config
from bot.slack.blocks import CLOSE
from bot.slack.toolkit_blocks import TAGS_SELECT
from tests.conftest import BOT_YAML, SIGNING_SECRET, STAFF, Bot, BotFactory, all_text, wait_until
from tests.customer_helpers import customer_writes, person, shown
from tests.fakes.slack_requests import post_signed, select_action_body

ANA, BO, CY = 8101, 8102, 8103
TAGS = {
    "list": ["billing", "shipping", "bug", "vip"],
    "rules": [
        {"tag": "billing", "keywords": ["refund", "환불"]},
        {"tag": "shipping", "name": "delivery-words", "keywords": ["Tracking", "배송"]},
    ],
}
YAML: dict[str, Any] = {**BOT_YAML, "tags": TAGS}


async def tags_of(bot: Bot, conversation_id: int) -> dict[str, str]:
    async with bot.rt.db.reading() as tx:
        return await tx.tags.of(conversation_id)


async def choose_tags(bot: Bot, conversation_id: int, *tags: str, block_id: str | None = None) -> None:
    body = select_action_body(
        TAGS_SELECT, block_id or f"tags:{conversation_id}", options=[(t, t) for t in tags], user=STAFF
    )
    response = await post_signed(
        bot.http, bot.events_url, body, SIGNING_SECRET, content_type="application/x-www-form-urlencoded"
    )
    assert response.status == 200, await response.text()
    await response.read()
    await bot.idle()


def tag_menu(bot: Bot, thread: tuple[str, str]) -> dict[str, Any]:
    message = bot.slack.message(*thread)
    assert message is not None
    return next(
        element
        for block in message["blocks"]
        if block["type"] == "actions" and block.get("block_id", "").startswith("tags:")
        for element in block["elements"]
    )


def header(bot: Bot, thread: tuple[str, str]) -> str:
    return all_text(bot.slack.message(*thread) or {})


async def test_keyword_rules_tag_as_customers_write_and_the_first_message_shows_it(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        thread = await customer_writes(bot, ANA, "환불이요, 주문 번호 12", person(ANA, "Ana"))  # inside a Korean word
        conversation_id = await bot.conversation_id_for(ANA)
        await bot.idle()
        assert await tags_of(bot, conversation_id) == {"billing": "rule:billing"}
        menu = tag_menu(bot, thread)
        assert menu["type"] == "multi_static_select"
        assert [o["value"] for o in menu["options"]] == ["billing", "shipping", "bug", "vip"]
        assert [o["value"] for o in menu["initial_options"]] == ["billing"]
        assert "*Tags:* billing (rule)" in header(bot, thread)

        await customer_writes(bot, ANA, "Any TRACKING number yet?", person(ANA, "Ana"))  # later, case aside
        await wait_until(lambda: "shipping (rule)" in header(bot, thread), what="the header refreshed")
        assert await tags_of(bot, conversation_id) == {"billing": "rule:billing", "shipping": "rule:delivery-words"}
        await customer_writes(bot, ANA, "refund please", person(ANA, "Ana"))  # already tagged: kept once
        await bot.idle()
        async with bot.rt.db.reading() as tx:
            tagged = [e.detail for e in await tx.archive.events_of(conversation_id) if e.kind == "tagged"]
        assert tagged == [{"added": ["billing"], "removed": []}, {"added": ["shipping"], "removed": []}]


async def test_staff_choose_tags_on_the_first_message_even_after_close(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        thread = await customer_writes(bot, BO, "the app shows an error", person(BO, "Bo"))
        conversation_id = await bot.conversation_id_for(BO)
        await bot.idle()
        await choose_tags(bot, conversation_id, "bug", "vip")
        assert await tags_of(bot, conversation_id) == {"bug": STAFF, "vip": STAFF}
        assert [o["value"] for o in tag_menu(bot, thread)["initial_options"]] == ["bug", "vip"]

        await bot.click(CLOSE, conversation_id)
        await bot.idle()
        await choose_tags(bot, conversation_id, "bug", "not-configured")  # vip off; an unknown value is ignored
        assert await tags_of(bot, conversation_id) == {"bug": STAFF}
        assert "*Tags:* bug" in header(bot, thread) and "vip" not in header(bot, thread).split("*Tags:*")[1][:20]
        await choose_tags(bot, conversation_id)  # everything cleared
        assert await tags_of(bot, conversation_id) == {}
        assert "initial_options" not in tag_menu(bot, thread)

        await choose_tags(bot, conversation_id, "bug", block_id="tags:999999999999999999999")  # not an id we write
        assert await tags_of(bot, conversation_id) == {}


async def test_history_and_inquiries_filter_by_tag_and_the_profile_shows_what_they_asked_about(
    bot_factory: BotFactory,
) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        await customer_writes(bot, ANA, "I want a refund for order 7", person(ANA, "Ana", username="ana_l"))
        await customer_writes(bot, CY, "order 7 arrived broken, I want a new one", person(CY, "Cy"))
        ana = await bot.conversation_id_for(ANA)
        cy = await bot.conversation_id_for(CY)
        await bot.idle()
        await choose_tags(bot, cy, "shipping")

        found = shown(await bot.command("/history", "order 7 tag:Billing"))  # the tag as configured, case aside
        assert "I want a refund for order 7" in found and "arrived broken" not in found
        found = shown(await bot.command("/history", "tag:shipping"))
        assert "arrived broken" in found and "refund" not in found
        assert "Nothing found for “tag:vip”." in shown(await bot.command("/history", "tag:vip"))

        listed = shown(await bot.command("/inquiries", "tag:billing"))
        assert "1 open inquiries" in listed and "Ana" in listed and "Cy" not in listed
        listed = shown(await bot.command("/inquiries", "unclaimed tag:shipping"))
        assert "Cy" in listed and "Ana" not in listed and "tag:shipping" in listed
        assert "No open inquiries (tag:vip)" in shown(await bot.command("/inquiries", "tag:vip"))

        await bot.click(CLOSE, ana)
        await bot.idle()
        await customer_writes(bot, ANA, "another refund question", person(ANA, "Ana", username="ana_l"))
        second = await bot.conversation_id_for(ANA)
        await bot.idle()
        await choose_tags(bot, second, "billing", "vip")
        profile = shown(await bot.command("/customer", "@ana_l"))
        assert "*Asked about:* billing (2), vip (1)" in profile


def test_tags_in_the_yaml_are_checked() -> None:
    config = parse_bot_config(YAML)
    assert config.tags.names == ("billing", "shipping", "bug", "vip")
    assert [(r.name, r.tag) for r in config.tags.rules] == [("billing", "billing"), ("delivery-words", "shipping")]
    assert parse_bot_config(BOT_YAML).tags.names == ()  # optional: no menu, no rules

    def error(tags: object) -> str:
        try:
            parse_bot_config({**BOT_YAML, "tags": tags})
        except ConfigError as exc:
            return str(exc)
        raise AssertionError("accepted")

    assert error({"list": ["a,b"]}).startswith("tags.list[0]: a tag of 1 to 63 characters")
    assert error({"list": ["a"], "rules": [{"tag": "b", "keywords": ["x"]}]}) == (
        "tags.rules[0].tag: one of tags.list (a)"
    )
    assert error({"list": ["a"], "rules": [{"tag": "a", "keywords": []}]}).startswith("tags.rules[0].keywords")
    assert error({"lists": []}).startswith("tags.lists: unknown key")


def test_rules_match_case_aside_and_korean_inside_words_in_any_unicode_form() -> None:
    import unicodedata

    from bot.domain.tagging import matching_rules, tag_name

    rules = parse_bot_config(YAML).tags.rules
    decomposed = unicodedata.normalize("NFD", "배송은 언제 되나요")  # as some keyboards send Hangul
    assert [r.tag for r in matching_rules(decomposed, rules)] == ["shipping"]
    assert [r.tag for r in matching_rules("REFUND and tracking", rules)] == ["billing", "shipping"]
    assert matching_rules("nothing to see", rules) == [] and matching_rules("   ", rules) == []
    assert tag_name("BILLING", ("billing",)) == "billing" and tag_name("retired", ("billing",)) == "retired"
