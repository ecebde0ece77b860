"""Screenshots of the widget for the docs, taken with the browser the tests use:
``.venv/bin/python -m tests.screenshots`` writes docs/widget-desktop.png and docs/widget-phone.png.

It runs the real bot against the local fake Slack and Telegram, on a temporary SQLite database, and a local page
that embeds the snippet; nothing leaves this machine."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from playwright.async_api import FrameLocator, Page, async_playwright, expect

from bot.runtime import running
from tests.conftest import BOT_TOKEN, FAST_WORKER, SIGNING_SECRET, STAFF, fast_pacer, make_config
from tests.fakes.host_page import HostPage
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_requests import event_body, message_event, post_signed
from tests.fakes.telegram import FakeTelegram
from tests.test_widget_browser import CHROMIUM, CHROMIUM_ARGS, FRAME
from tests.website_helpers import WEBSITE_ENV, website_yaml

DOCS = Path(__file__).resolve().parents[1] / "docs"


async def write(chat: FrameLocator, text: str) -> None:
    box = chat.locator("textarea")
    await box.type(text)
    await box.press("Enter")


async def conversation(page: Page, bot_url: str, slack: FakeSlack, http: aiohttp.ClientSession, lang: str) -> None:
    chat = page.frame_locator(FRAME)
    await chat.locator(".tb-launcher").click()
    words = {
        "en": ("Hi! Do you ship to Busan?", "Yes, we do: orders over ₩30,000 ship free. Details: "
               "https://example.com/shipping", "Great, thank you!"),
        "ko": ("안녕하세요! 부산으로도 배송되나요?", "네, 가능해요. 3만 원 이상 주문은 무료 배송이에요. 자세한 안내: "
               "https://example.com/shipping", "감사합니다!"),
    }[lang]
    await write(chat, words[0])
    for _ in range(200):
        if slack.messages:
            break
        await asyncio.sleep(0.05)
    thread = next(m for m in slack.messages if m.get("thread_ts") is None)
    event = message_event(thread["channel"], STAFF, words[1], thread_ts=thread["ts"])
    await post_signed(
        http, f"{bot_url}/slack/events", event_body(event), SIGNING_SECRET, content_type="application/json"
    )
    await expect(chat.locator(".tb-msg", has_text="example.com/shipping")).to_be_visible(timeout=15000)
    await write(chat, words[2])
    await expect(chat.locator(".tb-pending")).to_have_count(0)
    await chat.locator("textarea").blur()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite+aiosqlite:///{folder}/shots.db"
        async with FakeSlack(bot_token=BOT_TOKEN) as slack, FakeTelegram(token="123456:TEST") as telegram:
            slack.add_user(STAFF, name="jiwoo", real_name="Jiwoo Park", profile={"display_name": "Jiwoo"})
            async with HostPage() as host, aiohttp.ClientSession() as http:
                config = make_config(database, slack, telegram, bot_yaml=website_yaml(allowed_origins=[host.origin]),
                                     **WEBSITE_ENV)  # fmt: skip
                async with running(config, host="127.0.0.1", port=0, worker_settings=FAST_WORKER, pacer=fast_pacer(),
                                   poll_timeout=1, api_timeout=5.0, clock=lambda: datetime.now(UTC)) as rt:  # fmt: skip
                    host.bot_url = rt.url
                    async with async_playwright() as playwright:
                        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                        for name, lang, viewport in (("desktop", "en", (1280, 800)), ("phone", "ko", (390, 844))):
                            host.settings = {"language": lang}
                            context = await browser.new_context(
                                viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=2 if
                                name == "phone" else 1, is_mobile=name == "phone", locale="ko-KR" if lang == "ko"
                                else "en-US",
                            )  # fmt: skip
                            page = await context.new_page()
                            await page.goto(f"{host.origin}/pricing")
                            slack.messages.clear()
                            await conversation(page, rt.url, slack, http, lang)
                            await page.locator(FRAME).wait_for()
                            await page.screenshot(path=str(DOCS / f"widget-{name}.png"))
                            await context.close()
                        await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
