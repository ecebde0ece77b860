"""``python -m bench.botproc``: the bot exactly as ``python -m bot`` runs it, but with proactive pacing switched off.

Only the relay-latency benchmark uses it. ``python -m bot`` can raise the per-channel and per-chat rates through
SLACK_POSTS_PER_SECOND / TELEGRAM_MESSAGES_PER_SECOND (at most 100), but not Telegram's 30 messages/second
across all chats, and at a steady 200 staff replies per second that cap, not the bot's overhead, would decide the
latency. Everything else (configuration from the environment, database, worker settings, HTTP server) is the
production code path: ``bot.runtime.running``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.config import ConfigError
from bot.delivery.pacing import Pacer
from bot.deployment import load_deployment
from bot.runtime import running, settle_heap


async def _serve() -> None:
    config = load_deployment()  # the environment, the YAML file and its customer channels, as `python -m bot`
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(config, host="127.0.0.1", pacer=Pacer.unlimited()):
        settle_heap()
        await stop.wait()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "slack_bolt.AsyncApp", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        asyncio.run(_serve())
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
