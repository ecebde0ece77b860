"""A new inquiry's header quotes the customer's opening words, so the channel shows them the moment the thread
appears (the first post in the thread can only follow a paced second later); an edit of those words updates the
quote; the message itself still goes into the thread once, and the header costs no extra post."""

from __future__ import annotations

from tests.conftest import Bot, all_text, wait_until

CHAT = 4242


def header_text(bot: Bot, thread: tuple[str, str]) -> str:
    message = bot.slack.message(*thread)
    assert message is not None
    return all_text(message)


def posts(bot: Bot) -> int:
    return len(bot.slack.calls_to("chat.postMessage"))


async def test_the_header_itself_carries_the_opening_words_escaped_and_adds_no_post(bot: Bot) -> None:
    bot.telegram.push_text(CHAT, "my parcel <!channel> never came, order #1243")
    thread = await bot.thread_for(CHAT)
    words = "my parcel &lt;!channel&gt; never came, order #1243"
    header = bot.slack.message(*thread)
    assert header is not None
    assert f"> {words}" in all_text(header)  # in the post that opens the thread: no wait for the next slot
    assert words in header["text"]  # and in its notification
    assert "<!channel>" not in all_text(header) and "<!channel>" not in header["text"]  # never a ping
    await bot.thread_text(thread, words)
    await bot.idle()
    assert bot.slack_count(thread, words) == 1  # the message itself, once, in the thread
    assert posts(bot) == 2  # the header and the message: as many posts (and rate-limit slots) as before


async def test_only_the_opening_words_are_quoted_and_an_edit_of_them_updates_the_quote(bot: Bot) -> None:
    update_id = bot.telegram.push_text(CHAT, "is the blue jacket in stock? " + "details " * 100)
    thread = await bot.thread_for(CHAT)
    bot.telegram.push_text(CHAT, "second thought")
    await bot.thread_text(thread, "second thought")
    shown = header_text(bot, thread)
    assert "is the blue jacket in stock?" in shown and "…" in shown  # a long opening is cut short
    assert "second thought" not in shown  # only the first message is quoted
    message_id = bot.telegram.update(update_id)["message"]["message_id"]

    bot.telegram.push_edited_text(CHAT, message_id, "is the green jacket in stock?")
    await wait_until(lambda: "green jacket" in header_text(bot, thread), what="the edited words on the header")
    await bot.idle()
    assert "blue jacket" not in header_text(bot, thread)
    assert "(edited) is the green jacket in stock?" in await bot.thread_text(thread, "green jacket")
