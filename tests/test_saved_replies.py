"""Saved replies as the team uses them in Slack: found by a Korean substring while typing, previewed for this
customer, edited and sent as the staff member's own reply; the library managed from the App Home with every change
archived; the YAML seed applied once; bad input refused in the modal; export and import on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.saved_replies import body_for, check_entry, fill
from bot.handlers.saved_replies import ADD, MANAGE
from bot.slack import saved_reply_views as views
from bot.store.saved_replies import SavedReplyStore, saved_reply_uses
from bot.store.schema import messages
from tests.conftest import BOT_YAML, SIGNING_SECRET, STAFF, Bot, BotFactory, wait_until
from tests.fakes.slack_requests import (
    app_home_opened_event,
    message_shortcut_body,
    post_signed,
    view_action_body,
    view_submission_body,
)
from tests.test_export import cli

CHAT = 5151
SEED = [
    {
        "title": "환불 안내",
        "body_ko": "{customer_name}님, 환불은 3일 안에 처리됩니다. 담당 {staff_name} (문의 #{conversation_id})",
        "body_en": "Hi {customer_name}, refunds take 3 days.",
        "tags": ["billing"],
    },
    {"title": "Delivery times", "body_en": "Delivery takes 2 days.", "tags": ["shipping"]},
]
YAML = {**BOT_YAML, "saved_replies": SEED, "app_home": {"refresh_seconds": 3600}}


async def post(bot: Bot, body: bytes) -> dict[str, Any]:
    """POST a signed interaction; returns what the bot answered in the HTTP response ({} for a bare ack)."""
    response = await post_signed(bot.http, bot.events_url, body, SIGNING_SECRET)
    assert response.status == 200, await response.text()
    text = await response.text()
    return json.loads(text) if text else {}


def radio_titles(view: dict[str, Any]) -> list[str]:
    for block in view["blocks"]:
        if block.get("block_id", "").startswith(f"{views.CHOICE}:"):
            return [option["text"]["text"] for option in block["element"]["options"]]
    return []


def choice(view: dict[str, Any], reply_id: int) -> dict[str, Any]:
    block = next(b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith(f"{views.CHOICE}:"))
    return {block: {views.CHOICE: {"type": "radio_buttons", "selected_option": {"value": str(reply_id)}}}}


async def open_search(bot: Bot, thread: tuple[str, str]) -> dict[str, Any]:
    before = len(bot.slack.views)
    first_message = {"user": "UBOT", "bot_id": "BBOT", "ts": thread[1], "text": "New inquiry"}
    await post(bot, message_shortcut_body(views.SHORTCUT, first_message, user=STAFF, channel=thread[0]))
    await wait_until(lambda: len(bot.slack.views) > before, what="the saved replies modal")
    return bot.slack.views[-1]["view"]


async def type_in(bot: Bot, view: dict[str, Any], query: str) -> dict[str, Any]:
    action = {"type": "plain_text_input", "action_id": views.QUERY, "block_id": views.QUERY, "value": query}
    entry = next(v for v in bot.slack.views if v["id"] == view["id"])
    await post(bot, view_action_body(action, view, user=STAFF))
    await wait_until(lambda: entry["view"]["hash"] != view["hash"], what="the results for what was typed")
    return entry["view"]


async def test_a_saved_reply_found_by_a_korean_substring_is_previewed_edited_and_sent(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        bot.slack.add_user(STAFF, name="sam", real_name="Sam Park", profile={"display_name": "sam"})
        bot.telegram.push_text(CHAT, "환불 문의합니다")  # a billing keyword: billing's replies come first
        thread = await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        view = await open_search(bot, thread)
        assert radio_titles(view) == ["환불 안내", "Delivery times"]

        view = await type_in(bot, view, "불은 3일")  # inside the Korean body, not a word of it
        assert radio_titles(view) == ["환불 안내"]
        assert radio_titles(await type_in(bot, view, "배송")) == []  # nothing holds it: said so
        view = await type_in(bot, bot.slack.views[-1]["view"], "환불")
        (refund,) = await bot.rt.toolkit.saved_replies.search("환불")

        answer = await post(bot, view_submission_body(
            views.SEARCH, choice(view, refund.id), user=STAFF, private_metadata=view["private_metadata"],
            view_id=view["id"],
        ))  # fmt: skip
        assert answer["response_action"] == "push" and bot.slack.view_errors(answer["view"]) is None
        preview = answer["view"]
        text_input = next(b for b in preview["blocks"] if b.get("block_id") == views.TEXT)["element"]
        filled = f"Min Kim님, 환불은 3일 안에 처리됩니다. 담당 sam (문의 #{conversation_id})"
        assert text_input["initial_value"] == filled  # the customer reads Korean (Telegram's language_code)

        edited = filled + " 감사합니다 <!channel>"
        values = {views.TEXT: {views.TEXT: {"type": "plain_text_input", "value": edited}}}
        answer = await post(bot, view_submission_body(
            views.SEND, values, user=STAFF, private_metadata=preview["private_metadata"]
        ))  # fmt: skip
        assert answer == {"response_action": "clear"}
        await wait_until(lambda: bot.telegram.sent_texts(CHAT) == [edited], what="the reply at the customer")

        posted = [m for m in bot.slack.thread(*thread) if "감사합니다" in m["text"]]
        assert len(posted) == 1 and posted[0]["username"] == "sam"
        assert "<!channel>" not in json.dumps(posted[0]["blocks"])  # escaped: the team is not pinged
        async with bot.rt.db.reading() as tx:
            row = (await tx.conn.execute(messages.select().where(messages.c.saved_reply_id == refund.id))).one()
            conversation = await tx.archive.conversation(conversation_id)
            now = datetime.now(UTC)
            uses = await saved_reply_uses(tx.conn, now - timedelta(hours=1), now + timedelta(hours=1))
            earlier = await saved_reply_uses(tx.conn, now - timedelta(days=2), now - timedelta(days=1))
        assert (row.direction, row.author_id, row.author_name, row.text) == ("outbound", STAFF, "sam", edited)
        assert conversation is not None and conversation.holder == STAFF  # like a typed first reply: it claims
        assert uses == [(refund.id, "환불 안내", 1)] and earlier == []
        assert (await bot.slack_event(app_home_opened_event(STAFF))).status == 200
        await wait_until(lambda: STAFF in bot.slack.home_views, what="the App Home")
        assert "sent 1× in 30 days" in json.dumps(bot.slack.home_views[STAFF][-1], ensure_ascii=False)


async def test_the_body_follows_the_customers_language_and_goes_out_even_in_explicit_mode(
    bot_factory: BotFactory,
) -> None:
    explicit = {**YAML, "replies": {"author": "none", "send": "explicit", "send_prefix": "send:"}}
    async with bot_factory(bot_yaml=explicit) as bot:
        bot.telegram.push_text(CHAT, "hello")
        thread = await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        replies = {r.title: r.id for r in await bot.rt.toolkit.saved_replies.search("")}

        async def preview(title: str) -> dict[str, Any]:
            view = await open_search(bot, thread)
            answer = await post(bot, view_submission_body(
                views.SEARCH, choice(view, replies[title]), user=STAFF, private_metadata=view["private_metadata"]
            ))  # fmt: skip
            return dict(answer["view"])

        def shown(view: dict[str, Any]) -> tuple[str, str]:
            note = next(b for b in view["blocks"] if b["type"] == "context")["elements"][0]["text"]
            text = next(b for b in view["blocks"] if b.get("block_id") == views.TEXT)["element"]["initial_value"]
            return note, text

        note, text = shown(await preview("Delivery times"))  # English only, for a customer who reads Korean
        assert text == "Delivery takes 2 days." and "the customer reads Korean, which this reply does not have" in note
        assert await bot.rt.service.set_language(conversation_id, "en", STAFF) == "set"
        view = await preview("환불 안내")
        assert shown(view) == ("In English.", "Hi Min Kim, refunds take 3 days.")
        values = {views.TEXT: {views.TEXT: {"type": "plain_text_input", "value": "Hi Min Kim, refunds take 3 days."}}}
        bot.slack.scopes.remove("chat:write.customize")  # an app installed before the scope was added
        await post(bot, view_submission_body(views.SEND, values, user=STAFF, private_metadata=view["private_metadata"]))
        await wait_until(
            lambda: bot.telegram.sent_texts(CHAT) == ["Hi Min Kim, refunds take 3 days."], what="the reply"
        )  # chosen and sent on purpose: no send prefix needed
        (posted,) = [m for m in bot.slack.thread(*thread) if "refunds take" in m["text"]]
        assert "username" not in posted and f"sent by <@{STAFF}>" in json.dumps(posted["blocks"])  # still says who


async def test_a_late_keystroke_never_overwrites_newer_results(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        bot.telegram.push_text(CHAT, "hello")
        thread = await bot.thread_for(CHAT)
        first = await open_search(bot, thread)
        newer = await type_in(bot, first, "Delivery")
        updates = len(bot.slack.calls_to("views.update"))
        action = {"type": "plain_text_input", "action_id": views.QUERY, "block_id": views.QUERY, "value": "환"}
        await post(bot, view_action_body(action, first, user=STAFF))  # answered after "Delivery", with the old hash
        await wait_until(lambda: len(bot.slack.calls_to("views.update")) > updates, what="the late update")
        assert radio_titles(bot.slack.views[-1]["view"]) == ["Delivery times"] == radio_titles(newer)


async def test_bad_input_gets_a_clear_error_in_the_modal(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        bot.telegram.push_text(CHAT, "hello")
        thread = await bot.thread_for(CHAT)
        header = bot.slack.message(*thread)
        assert header is not None and views.OPEN in json.dumps(header["blocks"])  # the button on the first message
        before = len(bot.slack.views)
        await bot.click(views.OPEN, await bot.conversation_id_for(CHAT))
        await wait_until(lambda: len(bot.slack.views) > before, what="the modal opened by the button")
        view = bot.slack.views[-1]["view"]
        assert radio_titles(view) == ["Delivery times", "환불 안내"]  # uncategorised: by title
        answer = await post(bot, view_submission_body(
            views.SEARCH, {}, user=STAFF, private_metadata=view["private_metadata"], view_id=view["id"]
        ))  # fmt: skip
        assert answer["response_action"] == "errors" and "Choose a saved reply" in str(answer["errors"])

        meta = json.dumps({"c": await bot.conversation_id_for(CHAT), "r": 1})
        blank = {views.TEXT: {views.TEXT: {"type": "plain_text_input", "value": "   "}}}
        answer = await post(bot, view_submission_body(views.SEND, blank, user=STAFF, private_metadata=meta))
        assert answer == {"response_action": "errors", "errors": {views.TEXT: "Write something to send."}}

        def form(title: str, ko: str = "", en: str = "") -> dict[str, Any]:
            return {k: {k: {"type": "plain_text_input", "value": v}} for k, v in
                    (("title", title), ("body_ko", ko), ("body_en", en), ("tags", ""))}  # fmt: skip

        empty = json.dumps({"r": None})
        cases = [
            (form("No body"), "body_ko", "Write the reply in Korean, in English, or both."),
            (form("Order", en="Your order {order_id}"), "body_en", "Unknown variable {order_id}"),
            (form("환불 안내", ko="다른 내용"), "title", "Another saved reply has this title."),
            (form("x" * 151, ko="내용"), "title", "at most 150 characters"),
        ]
        for values, field, problem in cases:
            answer = await post(bot, view_submission_body(views.SAVE, values, user=STAFF, private_metadata=empty))
            assert answer["response_action"] == "errors" and problem in answer["errors"][field], answer
        assert len(await bot.rt.toolkit.saved_replies.export()) == 2  # nothing was added
        assert bot.telegram.sent_texts(CHAT) == []


async def test_the_library_is_managed_from_the_app_home_and_every_change_archived(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        bot.slack.add_user(STAFF, name="sam")
        response = await bot.slack_event(app_home_opened_event(STAFF))
        assert response.status == 200
        await wait_until(lambda: STAFF in bot.slack.home_views, what="the App Home")
        home = bot.slack.home_views[STAFF][-1]
        assert "환불 안내" in json.dumps(home, ensure_ascii=False)

        before = len(bot.slack.views)
        await post(bot, view_action_body({"type": "button", "action_id": ADD, "block_id": "library"}, home, user=STAFF))
        await wait_until(lambda: len(bot.slack.views) > before, what="the form")
        form = bot.slack.views[-1]["view"]
        values = {
            "title": {"title": {"type": "plain_text_input", "value": "배송 지연"}},
            "body_ko": {"body_ko": {"type": "plain_text_input", "value": "{customer_name}님, 배송이 늦어집니다."}},
            "body_en": {"body_en": {"type": "plain_text_input", "value": None}},
            "tags": {"tags": {"type": "plain_text_input", "value": "shipping, delay"}},
        }
        assert await post(bot, view_submission_body(
            views.SAVE, values, user=STAFF, private_metadata=form["private_metadata"]
        )) == {}  # fmt: skip
        (added,) = await bot.rt.toolkit.saved_replies.search("배송이")
        assert added.tags == ("shipping", "delay")

        async def manage(option: str) -> dict[str, Any]:
            count = len(bot.slack.views)
            action = {"type": "overflow", "action_id": MANAGE, "block_id": f"reply:{added.id}",
                      "selected_option": {"value": option, "text": {"type": "plain_text", "text": option}}}  # fmt: skip
            await post(bot, view_action_body(action, home, user=STAFF))
            await wait_until(lambda: len(bot.slack.views) > count, what="the form")
            return bot.slack.views[-1]["view"]

        form = await manage(f"edit:{added.id}")
        values["body_en"] = {"body_en": {"type": "plain_text_input", "value": "Sorry {customer_name}, it is late."}}
        await post(bot, view_submission_body(views.SAVE, values, user="U1", private_metadata=form["private_metadata"]))
        confirm = await manage(f"delete:{added.id}")
        meta = confirm["private_metadata"]
        await post(bot, view_submission_body(views.DELETE, {}, user=STAFF, private_metadata=meta))
        assert await bot.rt.toolkit.saved_replies.search("배송이") == []

        async with bot.rt.db.reading() as tx:
            changes = await SavedReplyStore(tx.conn).changes(added.id)
        assert [(c.action, c.actor) for c in changes] == [("add", STAFF), ("edit", "U1"), ("delete", STAFF)]
        assert changes[1].before is not None and changes[1].before["body_en"] == ""
        assert changes[1].after is not None and changes[1].after["body_en"] == "Sorry {customer_name}, it is late."
        assert changes[2].after is None
        assert await bot.rt.toolkit.home.refresh() == 1  # the library changed: the open home is redrawn
        assert "배송 지연" not in json.dumps(bot.slack.home_views[STAFF][-1], ensure_ascii=False)


async def test_the_seed_is_applied_once_and_never_over_the_teams_edits(bot_factory: BotFactory) -> None:
    async with bot_factory(bot_yaml=YAML) as bot:
        library = bot.rt.toolkit.saved_replies
        (refund,) = await library.search("환불")
        (delivery,) = await library.search("Delivery")
        entry = check_entry("환불 안내 (new)", "새 안내", "", "billing")
        assert not isinstance(entry, dict)
        assert (await library.save(refund.id, entry, STAFF)).outcome == "edited"
        assert await library.delete(delivery.id, STAFF)
    async with bot_factory(bot_yaml=YAML) as bot:  # a restart with the same YAML
        replies = await bot.rt.toolkit.saved_replies.export()
        assert [(r["title"], r["body_ko"]) for r in replies] == [("환불 안내 (new)", "새 안내")]
        more = {**YAML, "saved_replies": [*SEED, {"title": "Opening hours", "body_en": "9 to 6."}]}
    async with bot_factory(bot_yaml=more) as bot:  # a new entry in the YAML is added, the rest left alone
        titles = [r["title"] for r in await bot.rt.toolkit.saved_replies.export()]
        assert titles == ["환불 안내 (new)", "Opening hours"]


async def test_export_and_import_on_the_command_line(
    bot_factory: BotFactory, database_url: str, tmp_path: Path
) -> None:
    async with bot_factory(bot_yaml=YAML):
        pass  # the seed is in the database
    target = tmp_path / "library.yaml"
    code, _, err = await cli(database_url, "saved-replies", "export", str(target))
    assert code == 0 and "exported 2 saved replies" in err
    text = target.read_text(encoding="utf-8")
    assert "환불 안내" in text  # YAML written as people read it, not escaped

    changed = {"saved_replies": [
        {"title": "환불 안내", "body_ko": "환불은 5일 걸립니다.", "body_en": "", "tags": ["billing"]},
        {"title": "Delivery times", "body_en": "Delivery takes 2 days.", "tags": ["shipping"]},
        {"title": "Opening hours", "body_en": "9 to 6, {customer_name}.", "tags": []},
    ]}  # fmt: skip
    source = tmp_path / "library.json"
    source.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    code, _, err = await cli(database_url, "saved-replies", "import", str(source))
    assert code == 0 and "1 added, 1 changed, 1 unchanged" in err, err

    source.write_text(json.dumps([{"title": "Broken", "body_en": "Hi {name}"}]), encoding="utf-8")
    code, _, err = await cli(database_url, "saved-replies", "import", str(source))
    assert code == 2 and "library.json[0].body_en: Unknown variable {name}" in err
    async with bot_factory(bot_yaml=YAML) as bot:
        replies = {r["title"]: r for r in await bot.rt.toolkit.saved_replies.export()}
        assert set(replies) == {"환불 안내", "Delivery times", "Opening hours"}
        assert replies["환불 안내"]["body_ko"] == "환불은 5일 걸립니다."
        async with bot.rt.db.reading() as tx:
            actors = {c.actor for c in await SavedReplyStore(tx.conn).changes() if c.action == "import"}
        assert len(actors) == 1 and actors.pop().startswith("cli:")


def test_which_body_a_customer_reads_and_how_variables_fill() -> None:
    assert body_for("한국어", "English", "en") == ("en", "English")
    assert body_for("한국어", "", "en") == ("ko", "한국어")  # the other variant when theirs is empty
    assert body_for("", "English", "ko") == ("en", "English")
    values = {"customer_name": "{staff_name}", "staff_name": "Sam"}
    assert fill("{customer_name} / {staff_name} / {unknown}", values) == "{staff_name} / Sam / {unknown}"
    entry = check_entry(" t ", "본문", "", "a, b  a")
    assert not isinstance(entry, dict) and (entry.title, entry.tags) == ("t", ("a", "b"))
