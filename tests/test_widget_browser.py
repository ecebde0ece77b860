"""The widget in a real browser (Debian's chromium, driven by Playwright): a team's page with a strict CSP embeds the
one-line snippet; the visitor opens the launcher, writes, reads staff replies live, reloads, loses and gets back the
network, uploads, signs in (or fails to), and uses a phone; the team reads and answers in the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, FrameLocator, Page, async_playwright, expect

from bot.domain.models import Conversation
from tests.conftest import Bot, BotFactory, all_text, wait_until
from tests.fakes.host_page import HostPage
from tests.website_helpers import WEBSITE_ENV, signed_user, website, website_bot, website_yaml

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser of its own here (.ci/run)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
FRAME = "iframe[src*='/website/frame']"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201"
    "5b1b9e2a0000000049454e44ae426082"
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def site(bot_factory: BotFactory) -> AsyncIterator[tuple[Bot, HostPage]]:
    async with HostPage() as host:
        bot_running = website_bot(bot_factory, allowed_origins=[host.origin], max_file_mb=0.05)
        async with bot_running as bot:
            host.bot_url = bot.rt.url
            yield bot, host


class Console:
    """What the page and its frames said: errors and CSP refusals must stay empty."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


async def visit(browser: Browser, host: HostPage, path: str = "shop/pricing", **context: Any) -> tuple[Page, Console]:
    page = await (await browser.new_context(**context)).new_page()
    console = Console(page)
    await page.goto(f"{host.origin}/{path}")
    return page, console


async def open_chat(page: Page) -> FrameLocator:
    chat = page.frame_locator(FRAME)
    await chat.get_by_role("button", name="Open chat").click()
    await expect(chat.get_by_role("dialog")).to_be_visible()
    return chat


async def write(chat: FrameLocator, *lines: str) -> None:
    box = chat.get_by_role("textbox", name="Write a message…")
    for k, line in enumerate(lines):
        if k:
            await box.press("Shift+Enter")
        await box.type(line)
    await box.press("Enter")


async def website_conversation(bot: Bot) -> Conversation:
    found: list[Conversation] = []

    async def check() -> bool:
        found[:] = [c for c in await bot.rt.service.open_inquiries() if c.channel == "website" and c.thread_ts]
        return bool(found)

    await wait_until(check, what="a website conversation with its thread")
    return found[-1]


def thread_of(conversation: Conversation) -> tuple[str, str]:
    assert conversation.thread_ts is not None
    return conversation.slack_channel, conversation.thread_ts


async def test_a_visitor_writes_from_the_page_and_reads_the_staff_reply_live(
    site: tuple[Bot, HostPage], browser: Browser
) -> None:
    bot, host = site
    page, console = await visit(browser, host)
    chat = await open_chat(page)
    await expect(chat.get_by_text("How can we help?")).to_be_visible()
    await write(chat, "Do you ship to Busan?", "<!channel> <https://evil.example|your bank>")
    conversation = await website_conversation(bot)
    thread = thread_of(conversation)
    said = await bot.thread_text(thread, "Do you ship to Busan?")
    assert "Do you ship to Busan?\n&lt;!channel&gt; &lt;https://evil.example|your bank&gt;" in said
    header = all_text(bot.slack.message(*thread) or {})
    assert "(not verified) via Website" in header
    assert f"*Came from:* {host.origin}/shop/pricing" in header
    assert "*Before writing:* viewed /shop/pricing" in header

    await bot.staff_reply(thread, "Yes, *both* ship free: see https://example.com/shipping")
    reply = chat.locator(".tb-msg", has_text="ship free")
    await expect(reply).to_be_visible()
    await expect(reply.locator(".tb-who")).to_have_text("Jiwoo")
    await expect(reply.locator("strong")).to_have_text("both")
    link = reply.get_by_role("link", name="https://example.com/shipping")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    mine = chat.locator(".tb-mine", has_text="Busan")
    await expect(mine).to_contain_text("<!channel>")  # the visitor's own words, as text
    assert await chat.locator(".tb-body script, .tb-body iframe").count() == 0

    await chat.get_by_role("button", name="Close chat").click()
    await bot.staff_reply(thread, "Anything else?")
    await expect(chat.locator(".tb-badge")).to_have_text("1")
    await expect(chat.get_by_role("button", name="Open chat, 1 new messages")).to_be_visible()
    assert console.errors == [] and host.violations == []


async def test_a_returning_visitor_sees_the_conversation_after_a_reload(
    site: tuple[Bot, HostPage], browser: Browser
) -> None:
    bot, host = site
    page, _ = await visit(browser, host)
    chat = await open_chat(page)
    await write(chat, "first visit")
    thread = thread_of(await website_conversation(bot))
    await bot.staff_reply(thread, "welcome back any time")
    await expect(chat.get_by_text("welcome back any time")).to_be_visible()
    await page.goto(f"{host.origin}/account")
    chat = await open_chat(page)
    await expect(chat.get_by_text("first visit")).to_have_count(1)
    await expect(chat.get_by_text("welcome back any time")).to_have_count(1)


async def test_messages_typed_offline_go_once_and_missed_replies_arrive_in_order(
    site: tuple[Bot, HostPage], browser: Browser
) -> None:
    bot, host = site
    page, _ = await visit(browser, host)
    chat = await open_chat(page)
    await write(chat, "before the tunnel")
    thread = thread_of(await website_conversation(bot))
    await bot.thread_text(thread, "before the tunnel")

    await page.context.set_offline(True)
    for socket in list(website(bot)._open):
        await socket.close(1012, "network gone")
    await write(chat, "typed in the tunnel 1")
    await write(chat, "typed in the tunnel 2")
    await expect(chat.get_by_text("Connection lost")).to_be_visible()
    await bot.staff_reply(thread, "missed reply one")
    await bot.staff_reply(thread, "missed reply two")
    await bot.idle()

    await page.context.set_offline(False)
    await bot.thread_text(thread, "typed in the tunnel 1", "typed in the tunnel 2")
    await expect(chat.get_by_text("missed reply two")).to_be_visible()
    await bot.idle()
    assert [bot.slack_count(thread, f"typed in the tunnel {n}") for n in (1, 2)] == [1, 1]
    said = "\n".join(all_text(m) for m in bot.slack.thread(*thread))  # words sent together may share one post
    assert said.index("typed in the tunnel 1") < said.index("typed in the tunnel 2")
    texts = await chat.locator(".tb-body").all_inner_texts()
    assert texts.count("missed reply one") == 1 and texts.count("missed reply two") == 1
    assert texts.index("missed reply one") < texts.index("missed reply two")


async def test_a_visitor_uploads_an_image_within_the_limit_shown_before_upload(
    site: tuple[Bot, HostPage], browser: Browser
) -> None:
    bot, host = site
    page, _ = await visit(browser, host)
    chat = await open_chat(page)
    await expect(chat.locator(".tb-hint")).to_contain_text("Images and files up to 51 KB")
    await write(chat, "here is my receipt")
    thread = thread_of(await website_conversation(bot))
    picker = chat.locator("input[type=file]")
    await picker.set_input_files({"name": "too-big.pdf", "mimeType": "application/pdf", "buffer": b"x" * 60_000})
    await expect(chat.get_by_text("too-big.pdf is larger than 51 KB, so it was not sent.")).to_be_visible()
    await picker.set_input_files({"name": "receipt.png", "mimeType": "image/png", "buffer": PNG})
    await expect(chat.locator("img.tb-img[alt='receipt.png']")).to_be_visible()
    await wait_until(lambda: any(u.get("filename") == "receipt.png" for u in bot.slack.uploads), what="the upload")
    upload = next(u for u in bot.slack.uploads if u.get("filename") == "receipt.png")
    assert upload["content"] == PNG and upload.get("thread_ts") == thread[1]
    assert not any(u.get("filename") == "too-big.pdf" for u in bot.slack.uploads)


async def test_a_signed_in_user_is_verified_and_a_wrong_hash_chats_on_as_a_guest(
    site: tuple[Bot, HostPage], browser: Browser
) -> None:
    bot, host = site
    host.user = signed_user("42")
    page, _ = await visit(browser, host)
    chat = await open_chat(page)
    await write(chat, "I am signed in")
    conversation = await website_conversation(bot)
    assert conversation.address == "user-42"
    header = all_text(bot.slack.message(*thread_of(conversation)) or {})
    assert "*Kim Mina* (mina@example.com, verified) via Website" in header

    host.user = {**signed_user("43", name="Mallory"), "hash": "0" * 64}
    page, _ = await visit(browser, host)
    chat = await open_chat(page)
    await expect(chat.get_by_text("couldn't confirm your login")).to_be_visible()
    await write(chat, "I pretend to be 43")
    guests: list[Conversation] = []

    async def guest_wrote() -> bool:
        guests[:] = [c for c in await bot.rt.service.open_inquiries() if c.address.startswith("v-") and c.thread_ts]
        return bool(guests)

    await wait_until(guest_wrote, what="the guest's conversation")
    assert guests[0].customer_name.startswith("Visitor ") and guests[0].customer_verified is False
    assert not [c for c in await bot.rt.service.open_inquiries() if c.address == "user-43"]
    header = all_text(bot.slack.message(*thread_of(guests[0])) or {})
    assert "(not verified) via Website" in header and "Mallory" not in header


async def test_on_a_phone_the_chat_fills_the_screen(site: tuple[Bot, HostPage], browser: Browser) -> None:
    _, host = site
    page, _ = await visit(browser, host, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    closed = await page.locator(FRAME).bounding_box()
    assert closed is not None and closed["width"] < 100
    await open_chat(page)
    box = await page.locator(FRAME).bounding_box()
    assert box is not None and (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)


async def test_a_site_not_on_the_allow_list_gets_no_chat(site: tuple[Bot, HostPage], browser: Browser) -> None:
    _, host = site
    page = await (await browser.new_context()).new_page()
    await page.goto(f"http://localhost:{host.port}/shop")  # the same page under an origin the team did not allow
    chat = page.frame_locator(FRAME)
    await expect(chat.locator("body")).to_contain_text("not enabled for this site")
    assert await chat.get_by_role("button", name="Open chat").count() == 0


async def test_the_widget_is_usable_by_keyboard_alone(site: tuple[Bot, HostPage], browser: Browser) -> None:
    bot, host = site
    page, _ = await visit(browser, host)
    chat = page.frame_locator(FRAME)
    launcher = chat.get_by_role("button", name="Open chat")
    await launcher.focus()
    await page.keyboard.press("Enter")
    box = chat.get_by_role("textbox", name="Write a message…")
    await expect(box).to_be_focused()
    await page.keyboard.type("typed with the keyboard")
    await page.keyboard.press("Enter")
    await bot.thread_text(thread_of(await website_conversation(bot)), "typed with the keyboard")
    await page.keyboard.press("Escape")
    await expect(chat.get_by_role("dialog")).to_be_hidden()
    await expect(launcher).to_be_focused()
    await expect(chat.locator(".tb-log")).to_have_attribute("aria-live", "polite")


async def test_the_snippet_s_data_attributes_set_language_colour_and_corner(
    site: tuple[Bot, HostPage], browser: Browser
) -> None:
    _, host = site
    host.data = {"language": "ko", "colour": "#0a7d5a", "position": "left", "title": "스텔라랩 상담"}
    page, console = await visit(browser, host)
    chat = page.frame_locator(FRAME)
    launcher = chat.get_by_role("button", name="채팅 열기")
    await expect(launcher).to_have_css("background-color", "rgb(10, 125, 90)")
    box = await page.locator(FRAME).bounding_box()
    assert box is not None and box["x"] < 100  # the left corner
    await launcher.click()
    await expect(chat.get_by_role("dialog", name="스텔라랩 상담")).to_be_visible()
    await expect(chat.get_by_role("textbox", name="메시지를 입력하세요…")).to_be_visible()
    assert console.errors == [] and host.violations == []


async def test_after_hours_the_widget_says_when_the_team_is_back_and_takes_an_email(
    bot_factory: BotFactory, browser: Browser
) -> None:
    night = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 23:00 in Seoul, a Tuesday
    hours = {"default": {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}}}
    async with HostPage() as host:
        yaml = {**website_yaml(allowed_origins=[host.origin]), "business_hours": hours}
        async with bot_factory(bot_yaml=yaml, clock=lambda: night, **WEBSITE_ENV) as bot:
            host.bot_url = bot.rt.url
            page, console = await visit(browser, host)
            chat = await open_chat(page)
            await expect(chat.locator(".tb-status")).to_contain_text("We're away right now. We'll answer from")
            await write(chat, "is anyone there?")
            await expect(chat.get_by_text("Our team is away right now")).to_be_visible()  # the after-hours reply
            email = chat.get_by_role("textbox", name="Email address")
            await email.fill("not an address")
            await chat.get_by_role("button", name="Leave it").click()
            await expect(chat.get_by_text("That doesn't look like an email address.")).to_be_visible()
            await email.fill("mina@example.com")
            await chat.get_by_role("button", name="Leave it").click()
            await expect(chat.get_by_text("Thanks! We'll answer at mina@example.com too.")).to_be_visible()
            await expect(email).to_be_hidden()
            thread = thread_of(await website_conversation(bot))
            await bot.thread_text(thread, "left an address to be answered at: `mina@example.com`")
            assert console.errors == [] and host.violations == []
