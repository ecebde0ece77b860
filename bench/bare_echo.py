"""``python -m bench.bare_echo``: the baseline for the widget benchmark, a bare aiohttp WebSocket echo server.

The same server library and event loop as the bot, nothing else: each text frame comes straight back. What the
bot's widget connection costs beyond this (memory per connection, latency) is what the archive, the queue and the
Slack side cost. ``/healthz`` answers 200 so the benchmark starts it like the bot.
"""

from __future__ import annotations

import asyncio
import os
import signal

from aiohttp import WSMsgType, web


async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=25.0)
    await ws.prepare(request)
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _serve() -> None:
    app = web.Application()
    app.router.add_get("/ws", _echo)
    app.router.add_get("/healthz", _healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["PORT"])).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(_serve())
