"""``python -m bench.bare_relay``: the baseline for relay latency, a minimal relay with no archive and no queue.

It makes the same API calls as the bot with the same client libraries (slack_sdk's AsyncWebClient,
python-telegram-bot's Bot over httpx), on the same aiohttp server, configured from the same environment
variables: a Telegram webhook update becomes a chat.postMessage in the customer's thread (the first one also posts
the thread's parent), and a signed Slack thread reply becomes a sendMessage to that customer. The only state is a
dict from thread to chat, in memory. Nothing is stored, so nothing survives a crash: that is what the bot pays for.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import signal
import sys
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot, Update
from telegram.request import HTTPXRequest

from bot.slack.text import escape


async def _serve() -> None:
    env = os.environ
    inbox = env.get("BARE_RELAY_CHANNEL", "C0INBOX")
    session = aiohttp.ClientSession()
    slack = AsyncWebClient(
        token=env["SLACK_BOT_TOKEN"], base_url=env["SLACK_API_URL"], session=session, retry_handlers=[]
    )
    telegram = Bot(
        env["TELEGRAM_BOT_TOKEN"],
        base_url=env["TELEGRAM_API_URL"],
        base_file_url=env["TELEGRAM_FILE_URL"],
        request=HTTPXRequest(connection_pool_size=32),
    )
    await telegram.initialize()
    verifier = SignatureVerifier(env["SLACK_SIGNING_SECRET"])
    secret = env.get("TELEGRAM_WEBHOOK_SECRET", "")
    parents: dict[int, str] = {}
    chats: dict[str, int] = {}

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"ok": False}, status=403)
        update = Update.de_json(await request.json(), telegram)
        message = update.message if update else None
        if message is None or message.from_user is None:
            return web.json_response({"ok": True})
        chat_id = message.chat.id
        parent = parents.get(chat_id)
        if parent is None:
            opened = await slack.chat_postMessage(channel=inbox, text=escape(message.from_user.full_name))
            parent = parents[chat_id] = str(opened["ts"])
            chats[parent] = chat_id
        text = escape(message.text or "")
        await slack.chat_postMessage(
            channel=inbox,
            thread_ts=parent,
            text=text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            unfurl_links=False,
            unfurl_media=False,
        )
        return web.json_response({"ok": True})

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.read()
        if not verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401)
        data: dict[str, Any] = json.loads(body)
        if data.get("type") == "url_verification":
            return web.json_response({"challenge": data.get("challenge")})
        event = data.get("event") or {}
        chat_id = chats.get(str(event.get("thread_ts")))
        if chat_id is not None and not event.get("bot_id"):
            await telegram.send_message(chat_id, event.get("text") or "")
        return web.Response(text="")

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/telegram/webhook", webhook)
    app.router.add_post("/slack/events", slack_events)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(env["PORT"])).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await telegram.shutdown()
        await session.close()


if __name__ == "__main__":
    asyncio.run(_serve())
    sys.exit(0)
