"""``python -m bot`` runs the bot; ``python -m bot check-config`` only checks the configuration;
``python -m bot export`` and ``python -m bot erase-customer ID`` work on the database alone (see bot.cli.admin)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from bot.config import Config, ConfigError, Settings, load_config, redact


class _RedactingFilter(logging.Filter):
    """Secrets never reach a log line, whoever formats them."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.settings)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter(settings))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic", "slack_bolt.AsyncApp", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the client we give it wins,
    # which is what we want: a warning at every start would only teach operators to ignore warnings.
    logging.getLogger("slack_bolt.AsyncApp").addFilter(
        lambda record: "`token` will be unused" not in record.getMessage()
    )


async def _serve(config: Config) -> None:
    from bot.runtime import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(config):
        await stop.wait()
    logging.getLogger("bot").info("stopped")


_DATABASE_VERBS = ("export", "erase-customer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="threadbridge: customers in Slack threads")
    parser.add_argument("command", nargs="?", default="run", choices=["run", "check-config", *_DATABASE_VERBS])
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in _DATABASE_VERBS:  # these need only DATABASE_URL: no Slack or Telegram token
        from bot.cli import admin

        return admin.export_main(argv[1:]) if argv[0] == "export" else admin.erase_main(argv[1:])
    args = parser.parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        categories = ", ".join(config.bot.categories) or "none"
        print(f"configuration OK: inbox {config.bot.inbox_channel}, categories: {categories}")
        return 0
    _setup_logging(config.settings)
    asyncio.run(_serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
