"""Customers as the team's memory, through signed Slack requests and the fakes: /customer profiles, stage, tags,
notes and contact attempts, merges, the thread header's customer line, and who may look."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from sqlalchemy import select

from bot.domain.models import InboundMessage, Sender
from bot.slack.blocks import CLAIM, CLOSE, permalink
from bot.slack.customer_blocks import (
    CONTACT,
    CONTACT_VIEW,
    EARLIER,
    MERGE,
    MERGE_CANCEL,
    NOTE,
    NOTE_VIEW,
    PROFILE,
    STAGE,
    TAGS,
    TAGS_VIEW,
)
from bot.slack.staff import Access, StaffDirectory
from bot.store.customer_schema import customer_state, customer_tags
from bot.store.schema import conversations, events, identities
from bot.usecases.crm import Customers
from tests.conftest import BOT_YAML, INBOX, OUTSIDER, STAFF, STAFF2, Bot, BotFactory, all_text, wait_until
from tests.customer_helpers import (
    action_elements,
    assert_within_limits,
    audit_rows,
    click,
    customer_of,
    customer_writes,
    person,
    responses,
    select_stage,
    shown,
    submit,
    timeline_rows,
)
from tests.fakes.slack import FakeSlack

ANA_CHAT, BORIS_CHAT, JI_CHAT = 7001, 7002, 7003
ANA = person(ANA_CHAT, "Ana", "Lopez", "ana_l")
ANA2 = person(BORIS_CHAT, "Ana", "L.", "ana_second")
BORIS = person(BORIS_CHAT, "Boris", None, "boris")
JI = person(JI_CHAT, "김지민", None, None)
TEAM = "https://example.slack.com/"


def _value(blocks: list[dict], action_id: str) -> str:
    return next(e["value"] for e in action_elements(blocks) if e["action_id"] == action_id)


def _customer_block(message: dict, conversation_id: int) -> list[dict]:
    blocks = message.get("blocks") or []
    index = next(i for i, b in enumerate(blocks) if b.get("block_id") == f"customer:{conversation_id}")
    return blocks[index - 1 : index + 1]  # the context line and the buttons


async def _latest_view(bot: Bot, count: int) -> dict:
    await wait_until(lambda: len(bot.slack.views) >= count, what=f"{count} modal(s) opened")
    return bot.slack.views[-1]["view"]


# --- profiles ------------------------------------------------------------------------------------------------


async def test_customer_shows_a_profile_by_name_username_id_and_channel_id(bot: Bot) -> None:
    thread = await customer_writes(bot, ANA_CHAT, "Hello, I need help with my order", ANA)
    customer = await customer_of(bot, ANA_CHAT)
    link = permalink(TEAM, *thread)
    queries = ("Ana Lopez", "lopez", "@ana_l", "@ANA_L", str(customer), f"#{customer}", str(ANA_CHAT))
    for query in queries:
        answer = await bot.command("/customer", query)
        assert answer["response_type"] == "ephemeral"
        text = shown(answer)
        assert "*Ana Lopez* (@ana_l)" in text and f"customer #{customer}" in text, query
        assert f"Telegram: Ana Lopez (@ana_l) · id `{ANA_CHAT}`" in text  # the identity
        assert "*Stage:* new lead" in text and "*Tags:* none" in text  # the pipeline's first stage by default
        assert link in text and "open" in text  # the conversation, linked to its thread
        assert_within_limits(bot, answer["blocks"])
        assert [e["action_id"] for e in action_elements(answer["blocks"])] == [STAGE, NOTE, CONTACT, TAGS]
        stage_select = action_elements(answer["blocks"])[0]
        assert [o["value"] for o in stage_select["options"]] == [
            "new lead",
            "contacting",
            "contacted",
            "qualified",
            "closed",
        ]
        assert stage_select["initial_option"]["value"] == "new lead"
    views = await audit_rows(bot, "profile")
    assert [(v.actor, v.target, v.detail["via"]) for v in views] == [(STAFF, str(customer), "command")] * len(queries)
    assert all(v.created_at.tzinfo is not None for v in views)


async def test_several_matches_are_listed_and_nothing_found_says_so(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "first", ANA)
    await customer_writes(bot, BORIS_CHAT, "second", ANA2)
    listed = await bot.command("/customer", "Ana")
    assert "2 customers" in shown(listed) and "Ana Lopez" in shown(listed) and "Ana L." in shown(listed)
    assert_within_limits(bot, listed["blocks"])
    buttons = [e for e in action_elements(listed["blocks"]) if e["action_id"] == PROFILE]
    assert len(buttons) == 2
    lookups = await audit_rows(bot, "lookup")
    assert lookups[-1].target == "Ana" and len(lookups[-1].detail["customers"]) == 2

    rid = await click(bot, PROFILE, buttons[0]["value"], ephemeral=True)  # the list is replaced by the profile
    body = (await responses(bot, rid))[0]
    assert body["replace_original"] is True and "customer #" in shown(body)

    nothing = await bot.command("/customer", "Zed Nobody")
    assert "No customer matches “Zed Nobody”" in nothing["text"]
    usage = await bot.command("/customer", "")
    assert "Usage" in usage["text"]


async def test_stage_tags_notes_and_contact_attempts_from_the_profile(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "Do you ship to Busan?", ANA)
    customer = await customer_of(bot, ANA_CHAT)
    value = f"customer:{customer}"

    rid = await click(bot, STAGE, "", ephemeral=True, block_id=f"crm:{customer}", element=select_stage("contacting"))
    refreshed = (await responses(bot, rid))[0]
    assert refreshed["replace_original"] is True and "*Stage:* contacting" in shown(refreshed)
    select_menu = next(e for e in action_elements(refreshed["blocks"]) if e["action_id"] == STAGE)
    assert select_menu["initial_option"]["value"] == "contacting"

    rid = await click(bot, TAGS, value, ephemeral=True)
    view = await _latest_view(bot, 1)
    assert view["callback_id"] == TAGS_VIEW and "Ana Lopez" in all_text({"blocks": view["blocks"]})
    tags = {"tags": {"text": {"type": "plain_text_input", "value": "VIP,  wholesale , vip, 서울"}}}
    assert await submit(bot, TAGS_VIEW, tags, view["private_metadata"]) is None  # saved: the modal closes
    refreshed = (await responses(bot, rid))[0]
    assert "*Tags:* vip, wholesale, 서울" in shown(refreshed)

    rid = await click(bot, NOTE, value, ephemeral=True)
    view = await _latest_view(bot, 2)
    note = {"note": {"text": {"type": "plain_text_input", "value": "Prefers calls after 6pm; <!channel> at home"}}}
    assert await submit(bot, NOTE_VIEW, note, view["private_metadata"]) is None
    refreshed = (await responses(bot, rid))[0]
    assert "note: Prefers calls after 6pm; &lt;!channel&gt; at home" in shown(refreshed)  # escaped: pings nobody

    rid = await click(bot, CONTACT, value, ephemeral=True)
    view = await _latest_view(bot, 3)
    assert view["callback_id"] == CONTACT_VIEW
    method = {"method": {"method": {"type": "static_select", "selected_option": {"value": "call"}}}}
    empty = await submit(bot, CONTACT_VIEW, {**method, "outcome": {"text": {"value": "  "}}}, view["private_metadata"])
    assert empty is not None and empty["response_action"] == "errors" and "came of it" in empty["errors"]["outcome"]
    saved = await submit(
        bot, CONTACT_VIEW, {**method, "outcome": {"text": {"value": "called, no answer"}}}, view["private_metadata"]
    )
    assert saved is None
    refreshed = (await responses(bot, rid))[0]
    assert "call: called, no answer" in shown(refreshed)

    timeline = await timeline_rows(bot, customer)
    assert [(t.kind, t.actor) for t in timeline] == [
        ("stage", STAFF),
        ("tags", STAFF),
        ("note", STAFF),
        ("contact", STAFF),
    ]
    assert timeline[0].detail == {"from": "new lead", "to": "contacting"}
    assert timeline[1].detail == {"added": ["vip", "wholesale", "서울"], "removed": []}
    assert timeline[3].detail == {"method": "call"} and timeline[3].text == "called, no answer"

    profile = shown(await bot.command("/customer", "@ana_l"))
    assert "stage: new lead → contacting" in profile and "tags: +vip +wholesale +서울" in profile
    assert profile.index("call: called, no answer") < profile.index("stage: new lead")  # newest first

    found = shown(await bot.command("/history", "no answer"))  # the timeline is searched too
    assert "called, no answer" in found and "timeline contact attempt" in found
    found = shown(await bot.command("/history", "6pm"))
    assert "Prefers calls after 6pm" in found


async def test_the_same_stage_twice_changes_nothing_and_unknown_stages_are_refused(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "hi", ANA)
    customer = await customer_of(bot, ANA_CHAT)
    for stage in ("qualified", "qualified"):
        rid = await click(bot, STAGE, "", ephemeral=True, block_id=f"crm:{customer}", element=select_stage(stage))
        await responses(bot, rid)
    rid = await click(bot, STAGE, "", ephemeral=True, block_id=f"crm:{customer}", element=select_stage("won big"))
    refusal = (await responses(bot, rid))[0]
    assert "is not a stage of the pipeline" in refusal["text"]
    assert [t.kind for t in await timeline_rows(bot, customer)] == ["stage"]


async def test_a_configured_pipeline_replaces_the_default_stages(bot_factory: BotFactory) -> None:
    stages = ["lead", "demo booked", "trial", "paying", "lost"]
    async with bot_factory(bot_yaml={**BOT_YAML, "crm": {"stages": stages}}) as bot:
        await customer_writes(bot, ANA_CHAT, "interested in a demo", ANA)
        answer = await bot.command("/customer", "@ana_l")
        select_menu = next(e for e in action_elements(answer["blocks"]) if e["action_id"] == STAGE)
        assert [o["value"] for o in select_menu["options"]] == stages
        assert "*Stage:* lead" in shown(answer)


# --- the thread's first message ----------------------------------------------------------------------------


async def test_a_new_conversation_says_how_many_came_before_and_lists_them(bot: Bot) -> None:
    threads = []
    conversation_ids = []
    for n, text in enumerate(("first time: 배송 문의", "second time: 환불 문의", "third time")):
        threads.append(await customer_writes(bot, JI_CHAT, text, JI))
        conversation_ids.append(await bot.conversation_id_for(JI_CHAT))
        await bot.idle()
        header = bot.slack.message(*threads[-1])
        assert header is not None
        line = _customer_block(header, conversation_ids[-1])
        expected = ["first conversation", "1 earlier conversation", "2 earlier conversations"][n]
        assert expected in all_text({"blocks": line})
        buttons = [e["action_id"] for e in line[1]["elements"]]
        assert buttons == ([PROFILE, NOTE, CONTACT] + ([EARLIER] if n else []))
        assert_within_limits(bot, header["blocks"])
        if n < 2:
            await bot.click(CLOSE, conversation_ids[-1])

    rid = await click(bot, EARLIER, str(conversation_ids[2]))  # on the header, which everybody sees
    answer = (await responses(bot, rid))[0]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    text = shown(answer)
    assert "2 earlier conversations" in text
    assert permalink(TEAM, *threads[0]) in text and permalink(TEAM, *threads[1]) in text
    assert "second time: 환불 문의" in text and text.index("second time") < text.index("first time")  # newest first
    assert_within_limits(bot, answer["blocks"])
    earlier_views = await audit_rows(bot, "profile")
    assert earlier_views[-1].detail["via"] == "earlier" and earlier_views[-1].actor == STAFF

    rid = await click(bot, PROFILE, f"conversation:{conversation_ids[2]}")
    profile = (await responses(bot, rid))[0]
    assert profile["replace_original"] is False and "*Conversations* (3)" in shown(profile)


async def test_a_note_and_a_contact_attempt_from_the_thread_header_are_tied_to_the_conversation(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "Can someone call me back?", ANA)
    conversation_id = await bot.conversation_id_for(ANA_CHAT)
    customer = await customer_of(bot, ANA_CHAT)

    rid = await click(bot, NOTE, f"conversation:{conversation_id}")
    view = await _latest_view(bot, 1)
    note = {"note": {"text": {"type": "plain_text_input", "value": "asked for a callback"}}}
    assert await submit(bot, NOTE_VIEW, note, view["private_metadata"], user=STAFF2) is None
    confirmation = (await responses(bot, rid))[0]
    assert confirmation["response_type"] == "ephemeral" and "Note saved" in confirmation["text"]

    rid = await click(bot, CONTACT, f"conversation:{conversation_id}")
    view = await _latest_view(bot, 2)
    values = {
        "method": {"method": {"type": "static_select", "selected_option": {"value": "call"}}},
        "outcome": {"outcome": {}, "text": {"value": "called back, left a voicemail"}},
    }
    assert await submit(bot, CONTACT_VIEW, values, view["private_metadata"]) is None
    await responses(bot, rid)
    timeline = await timeline_rows(bot, customer)
    assert [(t.kind, t.conversation_id, t.actor) for t in timeline] == [
        ("note", conversation_id, STAFF2),
        ("contact", conversation_id, STAFF),
    ]


# --- merging -----------------------------------------------------------------------------------------------


async def test_merge_moves_identities_conversations_tags_and_notes_and_is_archived(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "order from my first account", ANA)
    await customer_writes(bot, BORIS_CHAT, "order from my second account", ANA2)
    keep, other = await customer_of(bot, ANA_CHAT), await customer_of(bot, BORIS_CHAT)
    for opened, (customer, tags) in enumerate(((keep, "vip"), (other, "wholesale, vip")), start=1):
        rid = await click(bot, TAGS, f"customer:{customer}", ephemeral=True)
        view = await _latest_view(bot, opened)
        await submit(bot, TAGS_VIEW, {"tags": {"text": {"value": tags}}}, view["private_metadata"])
        await responses(bot, rid)
    rid = await click(bot, STAGE, "", ephemeral=True, block_id=f"crm:{other}", element=select_stage("qualified"))
    await responses(bot, rid)

    preview = await bot.command("/customer", "merge @ana_l @ana_second")
    text = shown(preview)
    assert f"(#{other})" in text and f"(#{keep})" in text and "*into*" in text
    assert_within_limits(bot, preview["blocks"])
    assert _value(preview["blocks"], MERGE) == f"{keep}:{other}"
    async with bot.rt.db.transaction() as tx:  # a preview changes nothing
        assert (await tx.customers.customer(other)).merged_into is None  # type: ignore[union-attr]

    rid = await click(bot, MERGE, f"{keep}:{other}", ephemeral=True)
    merged = (await responses(bot, rid))[0]
    assert merged["replace_original"] is True and "Merged" in shown(merged) and "1 identities" in shown(merged)

    async with bot.rt.db.transaction() as tx:
        owners = {r.customer_id for r in await tx.conn.execute(select(identities.c.customer_id))}
        conversation_owners = {r.customer_id for r in await tx.conn.execute(select(conversations.c.customer_id))}
        tags = {(r.customer_id, r.tag) for r in await tx.conn.execute(select(customer_tags))}
        state = (await tx.conn.execute(select(customer_state).where(customer_state.c.customer_id == other))).one()
        kept_stage = (await tx.customers.customer(keep)).stage  # type: ignore[union-attr]
        merge_events = (await tx.conn.execute(select(events).where(events.c.kind == "customer_merged"))).all()
    assert owners == {keep} and conversation_owners == {keep}
    assert tags == {(keep, "vip"), (keep, "wholesale")}
    assert state.merged_into == keep and kept_stage == "qualified"  # the only stage set came along
    assert len(merge_events) == 1 and merge_events[0].actor == STAFF
    assert merge_events[0].detail["from"] == other and merge_events[0].detail["into"] == keep
    assert merge_events[0].detail["conversations"] == 1
    assert [(r.action, r.target) for r in await audit_rows(bot, "merge")] == [("merge", str(keep))]
    kinds = [t.kind for t in await timeline_rows(bot, keep)]
    assert kinds[-1] == "merge" and kinds.count("tags") == 2 and "stage" in kinds  # the other's timeline came too

    profile = shown(await bot.command("/customer", f"#{other}"))  # the old id opens the survivor
    assert f"customer #{keep}" in profile and f"#{other} was merged into this customer" in profile
    assert "Ana L. (@ana_second)" in profile and "Ana Lopez (@ana_l)" in profile and "*Conversations* (2)" in profile
    found = shown(await bot.command("/history", f"account customer:#{keep}"))
    assert "order from my first account" in found and "order from my second account" in found

    bot.telegram.push_text(BORIS_CHAT, "and one more thing", user=ANA2)  # the merged identity keeps writing
    await wait_until(lambda: _has_text(bot, "and one more thing"), what="the new message archived under the survivor")
    found = shown(await bot.command("/history", f"customer:#{keep} thing"))
    assert "and one more thing" in found

    again = await bot.command("/customer", f"merge #{keep} #{other}")
    assert "same customer" in again["text"]


async def _has_text(bot: Bot, text: str) -> bool:
    page = await Customers(bot.rt.db, bot.rt.config.bot).search(text, "test")
    return any(h.text == text for h in page.hits)


async def test_merge_can_be_cancelled_and_ambiguous_names_are_refused(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "one", ANA)
    await customer_writes(bot, BORIS_CHAT, "two", ANA2)
    await customer_writes(bot, JI_CHAT, "three", JI)
    ambiguous = await bot.command("/customer", "merge Ana 김지민")
    assert "matches 2 customers" in ambiguous["text"]
    unknown = await bot.command("/customer", "merge @nobody 김지민")
    assert "No customer matches “@nobody”" in unknown["text"]
    preview = await bot.command("/customer", 'merge "Ana Lopez" 김지민')
    assert "Merge" in shown(preview)
    rid = await click(bot, MERGE_CANCEL, "cancel", ephemeral=True)
    assert "cancelled" in (await responses(bot, rid))[0]["text"]
    async with bot.rt.db.transaction() as tx:
        assert len({r.customer_id for r in await tx.conn.execute(select(identities.c.customer_id))}) == 3
    assert await audit_rows(bot, "merge") == []


# --- who may look ------------------------------------------------------------------------------------------


async def test_outsiders_are_refused_politely_see_nothing_and_are_recorded(bot: Bot) -> None:
    await customer_writes(bot, ANA_CHAT, "my secret order 4242", ANA)
    customer = await customer_of(bot, ANA_CHAT)
    conversation_id = await bot.conversation_id_for(ANA_CHAT)
    for command, text in (("/history", "secret"), ("/customer", "Ana"), ("/inquiries", ""), ("/history", "")):
        answer = await bot.command(command, text, user=OUTSIDER)
        assert answer["response_type"] == "ephemeral" and "only for the support team" in answer["text"], command
        assert "blocks" not in answer and "secret" not in json.dumps(answer) and "Ana" not in json.dumps(answer)

    for action_id, value in ((PROFILE, f"customer:{customer}"), (CLAIM, str(conversation_id))):
        rid = await click(bot, action_id, value, user=OUTSIDER)
        refusal = (await responses(bot, rid))[0]
        assert "only for the support team" in refusal["text"] and "Ana" not in json.dumps(refusal)
    conversation = await bot.rt.service.conversation(conversation_id)
    assert conversation is not None and conversation.holder is None  # the click changed nothing

    meta = json.dumps({"c": customer, "v": None, "r": None, "e": False})
    answer = await submit(bot, NOTE_VIEW, {"note": {"text": {"value": "sneaky"}}}, meta, user=OUTSIDER)
    assert answer is not None and answer["response_action"] == "update"
    assert await timeline_rows(bot, customer) == []

    await wait_until(lambda: _count_refused(bot, 7), what="seven refusals recorded")  # 4 commands, 2 clicks, a form
    rows = await audit_rows(bot)
    assert {r.action for r in rows if r.actor == OUTSIDER} == {"refused"}
    assert all(r.actor != OUTSIDER for r in rows if r.action in ("search", "profile", "lookup"))


async def _count_refused(bot: Bot, expected: int) -> bool:
    return len(await audit_rows(bot, "refused")) == expected


async def test_members_of_a_staff_user_group_may_look_and_membership_is_cached(bot_factory: BotFactory) -> None:
    yaml = {**BOT_YAML, "slack": {"inbox_channel": INBOX, "staff_groups": ["S0SUPPORT"]}}
    async with bot_factory(bot_yaml=yaml) as bot:
        bot.slack.add_usergroup("S0SUPPORT", ["U0GROUPIE"])
        await customer_writes(bot, ANA_CHAT, "where is my parcel", ANA)
        answer = await bot.command("/history", "parcel", user="U0GROUPIE")
        assert "where is my parcel" in shown(answer)
        calls = len(bot.slack.calls_to("conversations.members")) + len(bot.slack.calls_to("usergroups.users.list"))
        assert len(bot.slack.calls_to("usergroups.users.list")) == 1
        for user in (STAFF, "U0GROUPIE", OUTSIDER):  # all answered from the cache, the outsider too (asked just now)
            await bot.command("/history", "parcel", user=user)
        after = len(bot.slack.calls_to("conversations.members")) + len(bot.slack.calls_to("usergroups.users.list"))
        assert after == calls


async def test_when_slack_cannot_say_who_is_staff_nobody_is_let_in(bot: Bot) -> None:
    bot.slack.fail(["conversations.members", "usergroups.users.list"], status=503, times=None)
    answer = await bot.command("/history", "anything")
    assert "could not check with Slack" in answer["text"] and "blocks" not in answer


async def test_staff_directory_sees_joiners_after_a_short_while_and_keeps_its_answer_through_an_outage(
    slack: FakeSlack,
) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    now = [1000.0]
    slack.set_members("C0TEAM", [f"U{n:04d}" for n in range(250)])  # three pages of members
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    staff = StaffDirectory(client, ["C0TEAM", "C0GONE"], ttl=60, miss_refresh=10, clock=lambda: now[0])
    assert await staff.check("U0249") == Access.STAFF  # on the last page; C0GONE (not found) is skipped
    assert len(slack.calls_to("conversations.members")) == 3  # two pages of 200, and the missing channel
    assert await staff.check("U0NEWBIE") == Access.REFUSED
    slack.set_members("C0TEAM", [*slack.channel_members["C0TEAM"], "U0NEWBIE"])
    now[0] += 5
    assert await staff.check("U0NEWBIE") == Access.REFUSED  # asked 5 s ago: not again yet
    now[0] += 6
    assert await staff.check("U0NEWBIE") == Access.STAFF  # a miss after 10 s asks Slack again
    slack.set_down(True)
    now[0] += 120
    assert await staff.check("U0001") == Access.STAFF  # Slack is down: the last answer stands
    fresh = StaffDirectory(client, ["C0TEAM"], clock=lambda: now[0])
    assert await fresh.check("U0001") == Access.UNKNOWN  # no answer at all: nobody is let in
    slack.set_down(False)


async def test_a_bot_left_out_of_its_staff_channels_asks_slack_once_for_a_burst_of_commands(slack: FakeSlack) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    now = [1000.0]
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    staff = StaffDirectory(client, ["C0GONE1", "C0GONE2"], retry_after_failure=2, clock=lambda: now[0])
    answers = await asyncio.gather(*(staff.check(STAFF) for _ in range(20)))  # twenty commands at once
    assert set(answers) == {Access.UNKNOWN}
    assert len(slack.calls_to("conversations.members")) == 2  # one attempt, each channel once, for all twenty
    now[0] += 1
    assert await staff.check(STAFF) == Access.UNKNOWN
    assert len(slack.calls_to("conversations.members")) == 2  # a failure is not repeated at once
    slack.set_members("C0GONE1", [STAFF])  # the bot was invited
    now[0] += 1.5
    assert await staff.check(STAFF) == Access.STAFF
    assert len(slack.calls_to("conversations.members")) == 4


def test_tag_lists_are_normalised_and_bounded() -> None:
    import pytest

    from bot.usecases.crm import CrmError, normalize_tags

    assert normalize_tags(" VIP , vip,  Wholesale  Buyer ,,서울") == ["vip", "wholesale buyer", "서울"]
    with pytest.raises(CrmError):
        normalize_tags(",".join(f"t{n}" for n in range(21)))
    with pytest.raises(CrmError):
        normalize_tags("x" * 65)


def test_profile_blocks_stay_within_block_kit_limits_with_long_texts() -> None:
    from types import SimpleNamespace

    from bot.slack.customer_blocks import profile_blocks
    from bot.store.customers import CustomerRow
    from bot.usecases.crm import Profile
    from tests.fakes.slack import FakeSlack as Fake

    now = datetime.now(UTC)
    long_name = "<!channel> " + "이름" * 200
    row = CustomerRow(1, long_name, "u" * 256, now, None, None, None)
    identity = SimpleNamespace(channel="telegram", display_name=long_name, username="u" * 256, external_id="9" * 128)
    conv = SimpleNamespace(
        id=1, status="open", category="c" * 64, slack_channel="C1", thread_ts="1.2", opened_at=now, channel="telegram"
    )
    entry = SimpleNamespace(kind="note", actor="U0STAFF", text="가" * 3000, detail={}, created_at=now)
    profile = Profile(
        row, "new lead", ("new lead",), [identity] * 30, [conv] * 10, 99, ["t" * 64] * 20, [entry] * 10, 1
    )
    blocks = profile_blocks(profile, TEAM)
    assert Fake()._check_blocks(blocks) is None
    assert "<!channel>" not in json.dumps(blocks, ensure_ascii=False)


def test_the_pipeline_and_staff_groups_are_configured_strictly() -> None:
    import pytest

    from bot.config import DEFAULT_STAGES, ConfigError, parse_bot_config

    base = {"slack": {"inbox_channel": "C0INBOX"}}
    plain = parse_bot_config(base)
    assert plain.crm_stages == DEFAULT_STAGES == ("new lead", "contacting", "contacted", "qualified", "closed")
    assert plain.staff_groups == ()
    custom = parse_bot_config(
        {
            "slack": {"inbox_channel": "C0INBOX", "staff_groups": ["S0SUPPORT", "S0SUPPORT"]},
            "crm": {"stages": [" a ", "b"]},
        }
    )
    assert custom.crm_stages == ("a", "b") and custom.staff_groups == ("S0SUPPORT",)
    for bad, message in (
        ({"crm": ["a"]}, "crm: a mapping with stages"),
        ({"crm": {"pipeline": ["a"]}}, "crm.pipeline: unknown key (expected one of: stages)"),
        ({"crm": {"stages": []}}, "crm.stages: a list of 1 to 50 stage names"),
        ({"crm": {"stages": ["Lead", "lead"]}}, 'crm.stages[1]: a stage named once only ("lead" repeats)'),
        ({"crm": {"stages": ["x" * 76]}}, "crm.stages[0]: a non-empty text of at most 75 characters"),
        ({"slack": {"inbox_channel": "C0INBOX", "staff_groups": ["U0PERSON"]}}, "slack.staff_groups[0]: a Slack"),
        ({"slack": {"inbox_channel": "C0INBOX", "staff_groups": "S0X"}}, "slack.staff_groups: a list"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_bot_config({**base, **bad})
        assert str(info.value).startswith(message), str(info.value)


async def test_a_message_arriving_during_a_merge_lands_with_the_surviving_customer(bot: Bot) -> None:
    """The merge holds the identity it moves; a message from that identity waits and then opens its conversation
    under the customer it was merged into, never under the one merged away."""

    def message(chat: int, text: str, n: int) -> InboundMessage:
        return InboundMessage(
            channel="telegram",
            address=str(chat),
            sender=Sender(str(chat), f"Customer {chat}"),
            text=text,
            source_key=f"telegram:{chat}:{n}",
            sent_at=datetime.now(UTC),
            external_message_id=str(n),
        )

    service = bot.rt.service
    intake = bot.rt.intake
    keep = (await intake.receive(message(9001, "first", 1))).conversation_id
    other = (await intake.receive(message(9002, "second", 1))).conversation_id
    assert keep is not None and other is not None
    keep_conversation, other_conversation = await service.conversation(keep), await service.conversation(other)
    assert keep_conversation is not None and other_conversation is not None
    await service.close(other, "U0STAFF")

    async with bot.rt.db.transaction() as tx:
        await tx.customers.merge(keep_conversation.customer_id, other_conversation.customer_id, datetime.now(UTC))
        arriving = asyncio.create_task(intake.receive(message(9002, "during the merge", 2)))
        await asyncio.sleep(0.5)
        assert not arriving.done()  # it waits for the merge to commit
    receipt = await arriving
    assert receipt.opened and receipt.conversation_id is not None
    opened = await service.conversation(receipt.conversation_id)
    assert opened is not None and opened.customer_id == keep_conversation.customer_id
