"""13. Commit latency and SQLite's checkpoints: what a commit costs when it also copies the log back (SQLite's
default: the commit that crosses 1,000 pages does it) against the bot's way (bot.store.checkpoints: a background
checkpoint every second, the commit's own threshold raised to a bound).

Both sides are the bot's SQLite settings (WAL, synchronous=FULL) on one file each, alternated: 20 commits a second
of about 15 pages each (a relayed message's size in the relay benchmark), 400 commits a round, two rounds each.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import check, log, ms, percentile, table, workdir
from bot.store.checkpoints import CHECKPOINT_EVERY, SAFETY_PAGES

NAME = "checkpoints"
TITLE = "Commits and checkpoints"
COMMITS = 400
RATE = 20.0
ROUNDS = 2
ROW_BYTES = 60_000  # about 15 pages of 4 KiB


def commit_seconds(path: Path, *, background: bool) -> list[float]:
    """Commit times (s) at RATE per second; with ``background``, the bot's threshold and a checkpoint thread."""
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES if background else 1000}")
    conn.execute("CREATE TABLE filler (data BLOB)")
    stop = threading.Event()

    def checkpoints() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        while not stop.wait(CHECKPOINT_EVERY):
            other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        other.close()

    thread = threading.Thread(target=checkpoints) if background else None
    if thread is not None:
        thread.start()
    took: list[float] = []
    try:
        for _ in range(COMMITS):
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO filler VALUES (randomblob(?))", (ROW_BYTES,))
            conn.execute("COMMIT")
            took.append(time.perf_counter() - started)
            time.sleep(max(0.0, 1 / RATE - took[-1]))
    finally:
        stop.set()
        if thread is not None:
            thread.join()
        conn.close()
    return took


def commit_figures(samples: list[float]) -> dict[str, Any]:
    return {
        "commits": len(samples),
        "p50_ms": ms(percentile(samples, 50)),
        "p99_ms": ms(percentile(samples, 99)),
        "max_ms": ms(max(samples)),
        "over_5ms": sum(1 for s in samples if s > 0.005),
    }


async def run(*, profile: bool = False) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"sqlite": [], "bot": []}
    with workdir("checkpoints") as tmp:
        for n in range(ROUNDS):
            for side in ("sqlite", "bot"):
                took = await asyncio.to_thread(commit_seconds, tmp / f"{side}.db", background=side == "bot")
                samples[side] += took
                log(f"checkpoints round {n + 1} {side}: p99 {ms(percentile(took, 99))} ms, max {ms(max(took))} ms")
    figures = {side: commit_figures(values) for side, values in samples.items()}
    labels = {"sqlite": "SQLite's own checkpoint (in the commit)", "bot": "background checkpoint (the bot)"}
    return {
        "title": TITLE,
        "how": (
            f"{ROUNDS} rounds, alternated, of {COMMITS} commits at {RATE:g}/s, each inserting {ROW_BYTES:,} bytes "
            "(about 15 pages), WAL with synchronous=FULL, a fresh file per round. Baseline: SQLite's default "
            f"(wal_autocheckpoint=1000: the commit that crosses 1,000 pages copies the log back). The bot: "
            f"wal_autocheckpoint={SAFETY_PAGES:,} and a PASSIVE checkpoint every {CHECKPOINT_EVERY:g} s on another "
            "connection (bot/store/checkpoints.py)."
        ),
        "checks": [
            check(
                "commit p99 with the background checkpoint",
                figures["bot"]["p99_ms"],
                "ms",
                baseline=figures["sqlite"]["p99_ms"],
                baseline_label="commit p99 with SQLite's own checkpoint, same run",
                target="below the baseline",
                met=figures["bot"]["p99_ms"] < figures["sqlite"]["p99_ms"],
                note=f"commits over 5 ms: {figures['bot']['over_5ms']} against {figures['sqlite']['over_5ms']}",
            )
        ],
        "tables": [
            table(
                "Commit times in ms (same run)",
                ["checkpoint", "commits", "p50", "p99", "max", "over 5 ms"],
                [[labels[side], *figures[side].values()] for side in ("sqlite", "bot")],
            )
        ],
        "notes": [],
        "raw": figures,
    }
