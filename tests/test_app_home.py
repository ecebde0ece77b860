"""The App Home as each person sees it: published when they open it, redrawn (debounced) when something changes
for them, paged so a thousand open inquiries stay within Block Kit's limits, and empty of customer data for anyone
outside the support team."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack.blocks import CLAIM, CLOSE, UNCLAIM
from bot.store.routing_schema import inquiry_state
from bot.store.schema import conversations, customers, identities
from tests.conftest import BOT_YAML, INBOX, OUTSIDER, SIGNING_SECRET, STAFF, Bot, BotFactory, wait_until
from tests.fakes.slack_requests import app_home_opened_event, post_signed, view_action_body

CHAT = 6161
OWNER = "U0BIZ"  # owns billing (tests.conftest)
GROUPED = "U0NEW"  # staff, made a member of billing's owner group S0BILLING here


def seen(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def open_home(bot: Bot, user: str) -> dict[str, Any]:
    before = len(bot.slack.home_views.get(user, []))
    assert (await bot.slack_event(app_home_opened_event(user))).status == 200
    await wait_until(lambda: len(bot.slack.home_views.get(user, [])) > before, what="the App Home")
    return bot.slack.home_views[user][-1]


async def turn_page(bot: Bot, user: str, value: str) -> dict[str, Any]:
    home = bot.slack.home_views[user][-1]
    before = len(bot.slack.home_views[user])
    action = {"type": "button", "action_id": "home_page:mine_next", "block_id": "page:mine", "value": value}
    response = await post_signed(bot.http, bot.events_url, view_action_body(action, home, user=user), SIGNING_SECRET)
    assert response.status == 200
    await response.read()
    await wait_until(lambda: len(bot.slack.home_views[user]) > before, what="the next page")
    return bot.slack.home_views[user][-1]


async def test_the_home_is_published_when_opened_and_refreshed_when_things_change(bot_factory: BotFactory) -> None:
    yaml = {**BOT_YAML, "app_home": {"refresh_seconds": 0.2}}
    async with bot_factory(bot_yaml=yaml) as bot:
        bot.slack.add_user(STAFF, name="sam")
        home = await open_home(bot, STAFF)
        assert "You hold no open inquiry" in seen(home) and "Today's team figures" in seen(home)
        bot.telegram.push_text(CHAT, "my invoice is wrong")  # billing: owned by OWNER, not by STAFF
        await bot.thread_for(CHAT)
        conversation_id = await bot.conversation_id_for(CHAT)
        await bot.click(CLAIM, conversation_id)
        await wait_until(lambda: "Min Kim" in seen(bot.slack.home_views[STAFF][-1]), what="the claim in the home")
        assert "1–1 of 1" in seen(bot.slack.home_views[STAFF][-1])
        await bot.click(CLOSE, conversation_id)
        await wait_until(
            lambda: "You hold no open inquiry" in seen(bot.slack.home_views[STAFF][-1]), what="the close in the home"
        )
        assert "*Closed today*\\n1" in seen(bot.slack.home_views[STAFF][-1])


async def test_a_burst_of_changes_redraws_each_concerned_home_once(bot_factory: BotFactory) -> None:
    yaml = {**BOT_YAML, "app_home": {"refresh_seconds": 3600}}  # the rounds are run here, not by the loop
    async with bot_factory(bot_yaml=yaml) as bot:
        bot.slack.add_usergroup("S0BILLING", [GROUPED])  # billing's other owner (tests.conftest)
        for user in (STAFF, OWNER, GROUPED, "U1"):
            bot.slack.add_user(user, name=user.lower())
            await open_home(bot, user)
        assert "(billing)" in seen(bot.slack.home_views[GROUPED][-1])  # owned through the group
        home = bot.rt.toolkit.home
        assert await home.refresh() == 0  # nothing changed since they opened it
        bot.telegram.push_text(CHAT, "환불 해주세요")  # a new inquiry in the category of OWNER and GROUPED
        await bot.thread_for(CHAT)
        assert await home.refresh() == 2 and len(bot.slack.home_views[OWNER]) == 2
        assert "Min Kim" in seen(bot.slack.home_views[OWNER][-1])  # unclaimed, in their category
        assert "Min Kim" in seen(bot.slack.home_views[GROUPED][-1])
        conversation_id = await bot.conversation_id_for(CHAT)
        for action in (CLAIM, UNCLAIM, CLAIM):
            await bot.click(action, conversation_id)
        assert await home.refresh() == 3  # STAFF (who acted and holds it) and the owners, once each; U1 not at all
        assert [len(bot.slack.home_views[u]) for u in (STAFF, OWNER, GROUPED, "U1")] == [2, 3, 3, 1]
        assert "Min Kim" in seen(bot.slack.home_views[STAFF][-1])
        assert "Nothing waits for you here" in seen(bot.slack.home_views[OWNER][-1])  # claimed, not overdue


async def _open_inquiries(bot: Bot, count: int, holder: str | None) -> None:
    """``count`` open billing inquiries written straight into the archive, the customer of the first waiting
    longest; the first hundred overdue."""
    now = datetime.now(UTC)
    base = 10_000
    people = [{"id": base + i, "display_name": f"Customer {i:04d}", "created_at": now} for i in range(count)]
    async with bot.rt.db.transaction() as tx:
        await tx.conn.execute(customers.insert(), people)
        await tx.conn.execute(identities.insert(), [
            {"id": base + i, "customer_id": base + i, "channel": "telegram", "external_id": str(base + i),
             "display_name": f"Customer {i:04d}", "created_at": now} for i in range(count)
        ])  # fmt: skip
        await tx.conn.execute(conversations.insert(), [
            {"id": base + i, "customer_id": base + i, "identity_id": base + i, "status": "open", "category": "billing",
             "holder": holder, "slack_channel": INBOX, "thread_ts": f"1700000000.{i:06d}", "opened_at": now,
             "last_message_at": now} for i in range(count)
        ])  # fmt: skip
        await tx.conn.execute(inquiry_state.insert(), [
            {"conversation_id": base + i, "category_source": "rules",
             "waiting_since": now - timedelta(minutes=count - i),
             "first_response_due": now - timedelta(minutes=1) if i < 100 else now + timedelta(hours=1)}
            for i in range(count)
        ])  # fmt: skip


async def test_a_thousand_open_inquiries_are_paged_within_block_kit_limits(bot_factory: BotFactory) -> None:
    yaml = {**BOT_YAML, "app_home": {"refresh_seconds": 3600}}
    async with bot_factory(bot_yaml=yaml) as bot:
        bot.slack.add_user(STAFF, name="sam")
        bot.slack.add_user(OWNER, name="biz")
        await _open_inquiries(bot, 1000, STAFF)
        home = await open_home(bot, STAFF)  # the fake refuses a view over 100 blocks or 3,000 characters a section
        assert len(home["blocks"]) < 100
        assert "1–10 of 1,000" in seen(home) and "Customer 0000" in seen(home) and "Customer 0010" not in seen(home)
        assert "*Waiting now*\\n1000" in seen(home) and "*Opened today*\\n1000" in seen(home)
        second = await turn_page(bot, STAFF, "mine:1")
        assert "11–20 of 1,000" in seen(second) and "Customer 0010" in seen(second)
        last = await turn_page(bot, STAFF, "mine:99")
        assert "991–1000 of 1,000" in seen(last) and "Customer 0999" in seen(last) and "Next" not in seen(last)
        assert "991–1000 of 1,000" in seen(await turn_page(bot, STAFF, "mine:500"))  # past the end: the last page

        owner_home = await open_home(bot, OWNER)  # held by STAFF, so only the overdue ones need OWNER
        assert "1–10 of 100" in seen(owner_home) and "overdue" in seen(owner_home)
        assert "You hold no open inquiry" in seen(owner_home)


async def test_someone_outside_the_team_sees_no_customer_data(bot_factory: BotFactory) -> None:
    async with bot_factory() as bot:
        bot.slack.add_user(OUTSIDER, name="guest")
        bot.telegram.push_text(CHAT, "hello")
        await bot.thread_for(CHAT)
        home = await open_home(bot, OUTSIDER)
        assert "only for the support team" not in seen(home) and "for the support team" in seen(home)
        assert "Min Kim" not in seen(home) and len(home["blocks"]) == 1
