"""``python -m bot`` runs the bot; ``python -m bot check-config`` only checks the configuration;
``python -m bot export``, ``erase-customer ID``, ``backup FILE``, ``migrate-database --to URL`` and
``saved-replies export|import FILE`` work on the database alone (bot.cli)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from bot.config import Config, ConfigError, redact
from bot.deployment import load_deployment

_DATABASE_VERBS = ("export", "erase-customer", "backup", "migrate-database", "saved-replies")
_NOISY = ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic", "slack_bolt.AsyncApp", "aiohttp.access")


def _setup_logging(config: Config) -> None:
    """LOG_FORMAT's lines (text or JSON), with every secret of the configuration redacted, tracebacks included."""
    from bot.observability.logs import formatter

    handler = logging.StreamHandler()
    handler.setFormatter(formatter(config.settings.log_format, lambda line: redact(line, config)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.settings.log_level)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the client we give it wins,
    # which is what we want: a warning at every start would only teach operators to ignore warnings.
    logging.getLogger("slack_bolt.AsyncApp").addFilter(
        lambda record: "`token` will be unused" not in record.getMessage()
    )


async def _serve(config: Config) -> int:
    """Run until SIGTERM or SIGINT, which also cuts a start short (a platform that does not answer never keeps the
    bot from stopping)."""
    from bot.runtime import CannotListen, running, settle_heap
    from bot.store.engine import SchemaTooNew

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def run() -> None:
        async with running(config):
            settle_heap()
            await stop.wait()

    task = asyncio.create_task(run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        try:  # the drain has DRAIN_SECONDS for deliveries under way, and a few more to close everything
            await asyncio.wait_for(asyncio.shield(task), config.settings.drain_seconds + 10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    stopping.cancel()
    try:
        task.result()
    except asyncio.CancelledError:
        logging.getLogger("bot").warning("stopped before the start had finished")
    except CannotListen as exc:  # one line, not a traceback
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except SchemaTooNew as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("bot").info("stopped")
    return 0


def _database_verb(verb: str, argv: list[str]) -> int:
    from bot.cli import admin

    if verb == "backup":
        from bot.cli.backup import backup_main

        return backup_main(argv)
    if verb == "saved-replies":
        from bot.cli.saved_replies import saved_replies_main

        return saved_replies_main(argv)
    if verb == "migrate-database":
        from bot.cli.transfer import transfer_main

        return transfer_main(argv)
    return admin.export_main(argv) if verb == "export" else admin.erase_main(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="threadbridge: customers in Slack threads")
    parser.add_argument("command", nargs="?", default="run", choices=["run", "check-config", *_DATABASE_VERBS])
    parser.add_argument("--online", action="store_true", help="check-config: ask Slack and the channels, read-only")
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in _DATABASE_VERBS:  # these need only DATABASE_URL: no Slack or channel token
        return _database_verb(argv[0], argv[1:])
    args = parser.parse_args(argv)
    try:
        config = load_deployment()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config" and args.online:
        from bot.cli.online import online_main

        print(f"configuration OK; asking the platforms (read-only), {len(config.channels)} customer channel(s)")
        return online_main(config)
    if args.command == "check-config":
        categories = ", ".join(config.bot.categories) or "none"
        channels = "; ".join(settings.describe() for settings in config.channels.values())
        print(f"configuration OK: inbox {config.bot.inbox_channel}, categories: {categories}; channels: {channels}")
        return 0
    _setup_logging(config)
    return asyncio.run(_serve(config))


if __name__ == "__main__":
    sys.exit(main())
