"""A customer edits a message: its Slack copy is updated in place (chat.update), every post of it, marked edited;
every version is archived and searchable; nothing opens or resurfaces because of an edit."""

from __future__ import annotations

from dataclasses import replace

from bot.connectors.base import Received
from bot.slack.blocks import CLOSE
from bot.store.search_results import Filters
from tests.conftest import Bot, BotFactory, all_text, wait_until
from tests.fakes.memory_channel import MemoryConnector, MemorySettings

CHAT = 4242


async def found(bot: Bot, word: str) -> list[str]:
    async with bot.rt.db.reading() as tx:
        return [hit.text for hit in await tx.search.messages([word], Filters())]


async def test_an_edit_updates_the_slack_copy_in_place_and_every_version_is_kept(bot: Bot) -> None:
    update_id = bot.telegram.push_text(CHAT, "I ordered the blue 재킷 yesterday")
    thread = await bot.thread_for(CHAT)
    await bot.thread_text(thread, "blue 재킷")
    await bot.idle()
    (post,) = bot.slack.thread(*thread)
    message_id = bot.telegram.update(update_id)["message"]["message_id"]

    edit = bot.telegram.push_edited_text(CHAT, message_id, "I ordered the green 재킷 yesterday")
    await bot.thread_text(thread, "(edited) I ordered the green 재킷 yesterday")
    bot.telegram.push_duplicate(edit)  # the same update again
    await bot.idle()
    assert [m["ts"] for m in bot.slack.thread(*thread)] == [post["ts"]]  # the same post, changed: nothing added
    versions = bot.slack.message_versions[(thread[0], post["ts"])]
    assert [all_text(v) for v in versions] == [
        "I ordered the blue 재킷 yesterday", "(edited) I ordered the green 재킷 yesterday"
    ]  # fmt: skip
    assert await found(bot, "blue") == ["I ordered the blue 재킷 yesterday"]  # every version is searchable
    assert await found(bot, "green") == ["I ordered the green 재킷 yesterday"]
    assert len(await found(bot, "재킷")) == 2
    answer = await bot.command("/history", "blue")  # what staff search finds: the words the customer took back
    assert all_text(answer).endswith(">I ordered the blue 재킷 yesterday")


async def test_an_edit_in_a_combined_post_changes_only_its_own_words(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "first")
    thread = await bot.thread_for(CHAT)
    await bot.thread_text(thread, "first")
    bot.slack.rate_limit("chat.postMessage", retry_after=2)  # the thread waits two seconds: a backlog builds up
    updates = [bot.telegram.push_text(CHAT, f"backlog {i}") for i in range(3)]
    await bot.thread_text(thread, "backlog 2")
    await bot.idle()
    combined = bot.slack.thread(*thread)[-1]
    assert all(f"backlog {i}" in all_text(combined) for i in range(3))

    middle = bot.telegram.update(updates[1])["message"]["message_id"]
    bot.telegram.push_edited_text(CHAT, middle, "backlog one, corrected")
    await wait_until(lambda: "corrected" in all_text(bot.slack.message(thread[0], combined["ts"]) or {}), what="edit")
    shown = all_text(bot.slack.message(thread[0], combined["ts"]) or {})
    assert "backlog 0" in shown and "(edited) backlog one, corrected" in shown and "backlog 2" in shown
    assert "backlog 1" not in shown and len(bot.slack.thread(*thread)) == 2


async def test_a_long_message_edited_short_updates_its_first_post_and_deletes_the_rest(
    bot_factory: BotFactory,
) -> None:
    async with bot_factory(channels={"memory": MemorySettings()}) as bot:
        channel = bot.rt.connectors["memory"]
        assert isinstance(channel, MemoryConnector)
        item = channel.message("visitor-1", " ".join(f"word{i:05d}" for i in range(3000)), key="memory:visitor-1:7")
        await channel.receive(item)
        thread = await bot.thread_for_address("memory", "visitor-1")
        await bot.idle()
        posts = [m["ts"] for m in bot.slack.thread(*thread)]
        assert len(posts) >= 3
        edited = replace(item.message, text="never mind, all good", edited=True, source_key="memory:visitor-1:7:edit")
        await channel.receive(Received(edited))
        await bot.idle()
        assert [m["ts"] for m in bot.slack.thread(*thread) if not m.get("deleted")] == posts[:1]
        assert all_text(bot.slack.message(thread[0], posts[0]) or {}) == "(edited) never mind, all good"
        assert {m["ts"] for m in bot.slack.deleted} == set(posts[1:])


async def test_a_caption_edit_and_an_edit_of_an_unknown_message_are_posted_marked_edited(bot: Bot) -> None:
    update_id = bot.telegram.push_photo(CHAT, b"\xff\xd8\xff\xe0 a photo", caption="the broken part")
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    photo = bot.telegram.update(update_id)["message"]["message_id"]
    bot.telegram.push_edited_text(CHAT, photo, "the broken part, left side")  # a caption lives in the file's comment
    await bot.thread_text(thread, "(edited) the broken part, left side")
    bot.telegram.push_edited_text(CHAT, 999_999, "from before the map")  # the archive has no such message
    await bot.thread_text(thread, "(edited) from before the map")
    await bot.idle()
    assert len(bot.slack.uploads) == 1  # the photo is not uploaded again


async def test_an_edit_after_close_changes_the_closed_thread_and_opens_nothing(bot: Bot) -> None:
    update_id = bot.telegram.push_text(CHAT, "my order number is 1234")
    thread = await bot.thread_for(CHAT)
    await bot.idle()
    conversation_id = await bot.conversation_id_for(CHAT)
    await bot.click(CLOSE, conversation_id)
    await bot.idle()
    message_id = bot.telegram.update(update_id)["message"]["message_id"]
    bot.telegram.push_edited_text(CHAT, message_id, "my order number is 1243")
    await bot.thread_text(thread, "(edited) my order number is 1243")
    await bot.idle()
    assert await bot.rt.service.open_inquiries() == []  # an edit is no new inquiry
    assert len([m for m in bot.slack.channel_messages(thread[0]) if not m.get("thread_ts")]) == 1
