"""10. The pacer's memory after 100,000 distinct chats have written.

Each customer chat is a pacing target with its own token bucket. A subprocess imports the bot (``bot.runtime`` and
its libraries), builds the production ``Pacer`` with the Telegram limits the connector declares, and lets 100,000
distinct chats write once each at Telegram's overall 30 messages a second (a clock the benchmark moves: an hour of
traffic in a few seconds), each call booked with ``reserve`` and marked with ``called`` as the worker does; then
its RSS (VmRSS) and the targets the pacer still remembers. Baseline, alternated with it in the same run: the same
subprocess with a pacer that never forgets (the behaviour before idle buckets were evicted).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from bench.common import PYTHON, ROOT, check, log, table

NAME = "pacer"
TITLE = "Pacer memory"
CHATS = 100_000
ROUNDS = 2
TARGET_MB = 150.0


def _child(evict: bool) -> dict[str, Any]:
    """Runs in the subprocess: the figures as JSON on stdout."""
    import bot.runtime  # noqa: F401  (the bot's modules and libraries, as a running bot has them)
    from bot.connectors.telegram.connector import limits
    from bot.connectors.telegram.settings import TelegramSettings
    from bot.delivery.pacing import Pacer, rates_for

    declared = limits(TelegramSettings(bot_token="bench"))

    class Clock:
        now = 1_000.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    pacer = Pacer(*rates_for(1.0, {"telegram": declared}), clock=clock)
    if not evict:
        pacer._forget_idle = lambda now: None  # type: ignore[method-assign]  # the pacer as it was: never forgets
    step = 1 / declared.overall.per_second if declared.overall else 1 / 30
    for chat in range(CHATS):  # one message each, at the overall rate: every reservation is due at once
        target = f"telegram:{7_000_000 + chat}"
        pacer.reserve(target)
        pacer.called(target)
        clock.now += step
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return {"rss_kib": rss, "tracked": pacer.tracked()}


async def _measure(evict: bool) -> dict[str, Any]:
    code = f"import json; from bench.pacer import _child; print(json.dumps(_child({evict})))"
    proc = await asyncio.create_subprocess_exec(
        PYTHON, "-c", code, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(err.decode(errors="replace")[-2000:])
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def run(*, profile: bool = False) -> dict[str, Any]:
    rows = []
    evicting: list[dict[str, Any]] = []
    keeping: list[dict[str, Any]] = []
    for round_ in range(ROUNDS):  # alternated: with eviction, then without, and again
        evicting.append(await _measure(True))
        keeping.append(await _measure(False))
        rows.append([round_ + 1, round(evicting[-1]["rss_kib"] / 1024, 1), evicting[-1]["tracked"],
                     round(keeping[-1]["rss_kib"] / 1024, 1), keeping[-1]["tracked"]])  # fmt: skip
        log(f"pacer round {round_ + 1}: {rows[-1]}")
    rss = max(r["rss_kib"] for r in evicting) / 1024
    base = max(r["rss_kib"] for r in keeping) / 1024
    return {
        "title": TITLE,
        "how": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip() + f" ({sys.version.split()[0]})",
        "checks": [
            check(
                f"RSS after {CHATS:,} distinct chats wrote (bot imported, production pacer)",
                round(rss, 1),
                "MB",
                baseline=round(base, 1),
                baseline_label="the same with a pacer that never forgets",
                target=f"< {TARGET_MB:g} MB",
                met=rss < TARGET_MB,
                note=f"targets remembered: {evicting[-1]['tracked']} (never forgetting: {keeping[-1]['tracked']:,})",
            )
        ],
        "tables": [
            table(
                "RSS in MB and targets remembered, alternated (same run)",
                ["round", "evicting: RSS", "evicting: targets", "never forgetting: RSS", "never forgetting: targets"],
                rows,
            )
        ],
    }
