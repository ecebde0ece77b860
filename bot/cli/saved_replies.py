"""``python -m bot saved-replies export FILE`` and ``saved-replies import FILE``: the library as JSON or YAML (by
the file's extension; ``-`` is standard output or input, JSON), so a team can keep it in review, move it between
workspaces or fix many replies at once. Needs only DATABASE_URL. An import adds the replies whose title is new and
changes those whose title exists, in one transaction, each change archived as made by ``cli:<login>``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.cli.admin import database_url
from bot.config import ConfigError
from bot.domain.saved_replies import entries_from


def _is_yaml(name: str) -> bool:
    return name.lower().endswith((".yaml", ".yml"))


def _write(name: str, replies: list[dict[str, Any]]) -> None:
    document = {"saved_replies": replies}
    if _is_yaml(name):
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    else:
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if name == "-":
        sys.stdout.write(text)
    else:
        Path(name).write_text(text, encoding="utf-8")


def _read(name: str) -> Any:
    text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    return yaml.safe_load(text) if _is_yaml(name) else json.loads(text)


def saved_replies_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot saved-replies", description="Export or import saved replies.")
    parser.add_argument("action", choices=["export", "import"])
    parser.add_argument("file", help="a .json, .yaml or .yml file; - for standard output / input (JSON)")
    args = parser.parse_args(argv)
    try:
        url = database_url()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    entries = None
    if args.action == "import":
        try:
            entries = entries_from(_read(args.file), Path(args.file).name)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            print(f"cannot import {args.file}: {exc}", file=sys.stderr)
            return 2

    async def run() -> str:
        from bot.config.model import BotConfig
        from bot.store.database import Database
        from bot.store.engine import create_engine, migrate
        from bot.usecases.saved_replies import SavedReplies

        engine = create_engine(url)
        try:
            await migrate(engine)
            config = BotConfig(inbox_channel="", language="ko", categories={}, default_category=None, greeting=None,
                               auto_reply=None, staff_channels=())  # fmt: skip
            library = SavedReplies(Database(engine), config)
            if entries is None:
                replies = await library.export()
                _write(args.file, replies)
                return f"exported {len(replies)} saved replies"
            counts = await library.import_entries(entries, f"cli:{getpass.getuser()}")
            return ", ".join(f"{n} {kind}" for kind, n in counts.items())
        finally:
            await engine.dispose()

    print(asyncio.run(run()), file=sys.stderr)
    return 0
