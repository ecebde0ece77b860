"""``.venv/bin/python -m bench [NAME ...]``: run benchmarks, write docs/BENCHMARKS.md and docs/benchmarks.json."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import shlex
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from bench import report
from bench.common import log, machine_info, postgres_version

BENCHMARKS: dict[str, str] = {
    "relay": "customer→Slack and staff→Telegram latency p50/p99 at 20 and 200 msg/s vs a bare relay",
    "inbound": "customer messages archived per second, sustained, on SQLite and PostgreSQL",
    "memory": "resident memory of `python -m bot` idle and with 10,000 open conversations",
    "startup": "launch of `python -m bot` to a healthy /healthz on SQLite",
    "burst": "drain of 1,000 messages over 50 conversations into one channel limited to 1 post/s",
    "search": "/history latency p50/p95 over 1,000,000 messages and 50,000 customers",
    "outbox": "delivery queue claim and prune with 0, 100k and 1M delivered jobs kept, SQLite and PostgreSQL",
    "newthread": "a new customer's words in Slack after the thread's first post; five new customers at once",
    "pacer": "RSS with the production pacer after 100,000 distinct chats wrote, vs a pacer that never forgets",
    "widget": "1,000 concurrent widget connections: memory per connection, visitor→Slack and reply→visitor p99 vs echo",
    "reports": "/report over 90 days of a 1,000,000-message archive: p95 on SQLite and PostgreSQL vs one COUNT",
    "acks": "Slack event and slash-command acknowledgements while 50 customers and 20 staff threads are busy",
    "checkpoints": "commit latency with SQLite's own checkpoint vs the bot's background checkpoint",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="any of: " + ", ".join(BENCHMARKS) + " (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="attach py-spy during the measured phases and write docs/profiles/; the figures are not recorded",
    )
    parser.add_argument("--no-write", action="store_true", help="print the results only")
    args = parser.parse_args(argv)
    if args.list:
        for name, what in BENCHMARKS.items():
            print(f"{name:8} {what}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if n in args.names] if args.names else list(BENCHMARKS)
    command = ("python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])).strip()
    machine = machine_info()  # before the run: the code measured, even if a commit lands meanwhile
    results: dict[str, dict[str, Any]] = {}
    suite_started = time.monotonic()
    failed = False
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        log(f"== {name}: {BENCHMARKS[name]}")
        started = time.monotonic()
        ran_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        try:
            result = asyncio.run(module.run(profile=args.profile))
        except Exception:
            failed = True
            result = {"title": module.TITLE, "error": traceback.format_exc(limit=8)}
            log(f"{name} failed:\n{result['error']}")
        result["ran_at"] = ran_at
        result["seconds"] = round(time.monotonic() - started, 1)
        results[name] = result
        for c in result.get("checks", []):
            verdict = "-" if c["met"] is None else ("MET" if c["met"] else "MISSED")
            log(f"   {c['figure']}: {c['value']} {c['unit']} (baseline {c['baseline']}; {c['target']}) {verdict}")
        log(f"== {name} took {result['seconds']} s")
    seconds = time.monotonic() - suite_started
    log(f"suite took {seconds:.1f} s")
    if args.profile or args.no_write:
        return 1 if failed else 0
    machine["postgres"] = asyncio.run(postgres_version())
    data = report.merge(results, machine, command, seconds, full=set(names) == set(BENCHMARKS))
    report.write(data)
    log(f"wrote {report.MD_PATH} and {report.JSON_PATH}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
