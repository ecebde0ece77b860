"""1. Relay latency: customer message -> Slack API call, staff reply -> Telegram API call, at a steady 20 and 200/s.

Both the bot and the baseline (``bench.bare_relay``, no archive, no queue) run as their own process against the
same fakes, fed by the same open-loop generator from this process. A customer message starts its clock when the
benchmark sends the Telegram webhook request and stops it when the fake Slack receives the chat.postMessage that
carries it; a staff reply starts when the signed Slack event is sent and stops when the fake Telegram receives the
sendMessage. Clocks are time.monotonic(), which is one clock for every process on Linux.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.checkpoints import COMMITS, RATE, commit_figures, commit_seconds
from bench.common import (
    WEBHOOK_HEADERS,
    BotProcess,
    Counter,
    Fakes,
    bot_env,
    check,
    collector_paused,
    free_port,
    log,
    ms,
    params_text,
    percentile,
    sqlite_url,
    staff_reply_request,
    table,
    telegram_update,
    wait_for,
    workdir,
    write_bot_yaml,
)
from bench.profiling import Profile

NAME = "relay"
TITLE = "Relay latency"
TARGET_MS = 10.0
CHATS = 200
CHANNELS = 100  # 20 messages/s round-robin over 200 chats: each channel gets one every 5 s, each chat one every 10 s
PACED_RATE = 20  # phases at this rate or below run `python -m bot` with its production pacing on
PHASES = (("customer", 20, 8.0), ("staff", 20, 8.0), ("customer", 200, 3.0), ("staff", 200, 3.0))
WARMUP_SECONDS = 0.5
SETTLE_SECONDS = 3.0  # before each phase: longer than any paced bucket takes to refill
DRAIN_TIMEOUT = 20.0
_WHAT = {"customer": "customer messages to Slack", "staff": "staff replies to Telegram"}
_MARK = re.compile(r"q(\d+)x(\d+)z")


@dataclass
class Target:
    """One relay under test (the bot or the bare relay) and what the fakes saw of it."""

    label: str
    proc: BotProcess
    fakes: Fakes
    http: aiohttp.ClientSession
    threads: dict[int, tuple[str, str]] = field(default_factory=dict)
    arrivals: dict[tuple[int, int], float] = field(default_factory=dict)
    slack_seen: int = 0
    telegram_seen: int = 0
    update_id: int = 1_000
    message_ids: dict[int, int] = field(default_factory=dict)

    def scan(self) -> None:
        """Note when each marker first reached the fake APIs (calls are appended in answer order)."""
        calls = self.fakes.slack.calls
        for call in calls[self.slack_seen :]:
            if call.method == "chat.postMessage" and call.status == 200:
                for run, seq in _MARK.findall(params_text(call.params)):
                    self.arrivals.setdefault((int(run), int(seq)), call.at)
        self.slack_seen = len(calls)
        calls = self.fakes.telegram.calls
        for call in calls[self.telegram_seen :]:
            if call.method.lower() == "sendmessage" and call.status == 200:
                for run, seq in _MARK.findall(str(call.params.get("text", ""))):
                    self.arrivals.setdefault((int(run), int(seq)), call.at)
        self.telegram_seen = len(calls)

    async def customer_message(self, chat_id: int, text: str) -> tuple[float, int]:
        self.update_id += 1
        self.message_ids[chat_id] = self.message_ids.get(chat_id, 0) + 1
        update = telegram_update(self.update_id, chat_id, self.message_ids[chat_id], text)
        started = time.monotonic()
        async with self.http.post(f"{self.proc.url}/telegram/webhook", json=update, headers=WEBHOOK_HEADERS) as r:
            await r.read()
            return started, r.status

    async def staff_reply(self, chat_id: int, text: str) -> tuple[float, int]:
        channel, thread_ts = self.threads[chat_id]
        body, headers = staff_reply_request(channel, thread_ts, text)
        started = time.monotonic()
        async with self.http.post(f"{self.proc.url}/slack/events", data=body, headers=headers) as r:
            await r.read()
            return started, r.status


async def _open_loop(
    target: Target, direction: str, run: int, rate: float, count: int, chats: list[int], *, first: int = 0
) -> tuple[dict[tuple[int, int], float], list[float], Counter]:
    """Send ``count`` messages at ``rate`` per second whatever the answers take, round-robin over the chats from
    ``first`` on; returns send times and ack times."""
    sent: dict[tuple[int, int], float] = {}
    acks: list[float] = []
    counter = Counter()

    async def one(seq: int) -> None:
        chat_id = chats[(first + seq) % len(chats)]
        text = f"benchmark message q{run}x{seq}z from {chat_id}"
        try:
            if direction == "customer":
                started, status = await target.customer_message(chat_id, text)
            else:
                started, status = await target.staff_reply(chat_id, text)
        except (aiohttp.ClientError, TimeoutError) as exc:
            counter.failure(f"{type(exc).__name__}: {exc}")
            return
        sent[(run, seq)] = started
        acks.append(time.monotonic() - started)
        if status == 200:
            counter.ok += 1
        else:
            counter.failure(f"HTTP {status}")

    tasks = []
    start = time.monotonic() + 0.05
    for seq in range(count):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(seq)))
    await asyncio.gather(*tasks)
    return sent, acks, counter


async def open_conversations(target: Target, chats: list[int]) -> None:
    """One first message per chat (routed round-robin to the topic channels), then wait for every thread."""
    semaphore = asyncio.Semaphore(16)

    async def first(index: int, chat_id: int) -> None:
        async with semaphore:
            await target.customer_message(chat_id, f"topic{index % CHANNELS:02d} hello q0x{index}z")

    await asyncio.gather(*(first(i, c) for i, c in enumerate(chats)))
    name = re.compile(r"Cust(\d+)")

    def all_opened() -> bool:
        target.scan()
        for message in target.fakes.slack.messages:
            if not message.get("thread_ts"):
                found = name.search(params_text({"t": message.get("text"), "b": message.get("blocks")}))
                if found:
                    target.threads[int(found.group(1))] = (message["channel"], message["ts"])
        return len(target.threads) >= len(chats) and all((0, i) in target.arrivals for i in range(len(chats)))

    await wait_for(all_opened, within=60, what=f"{len(chats)} threads opened by the {target.label}")


async def _measure(
    target: Target, chats: list[int], profile: bool, phases: tuple[tuple[str, int, float], ...]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    await open_conversations(target, chats)
    # One staff reply per thread first: the first reply claims the conversation (a header update), later ones don't.
    sent, _, _ = await _open_loop(target, "staff", 1, 100, len(chats), chats)

    def claimed() -> bool:
        target.scan()
        return all(key in target.arrivals for key in sent)

    await wait_for(claimed, within=60, what=f"the first staff reply in every thread of the {target.label}")
    for index, (direction, rate, window) in enumerate(phases):
        warm_run, run = 10 + 2 * index, 11 + 2 * index
        await asyncio.sleep(SETTLE_SECONDS)  # the header updates and posts before it have left the paced buckets
        warm = int(rate * WARMUP_SECONDS)
        await _open_loop(target, direction, warm_run, rate, warm, chats)
        count = int(rate * window)
        profiler = None
        if profile and rate >= 200 and target.label.startswith("bot"):
            profiler = Profile(
                target.proc.pid,
                f"relay-{direction}-{rate}",
                f"The bot process (`bench.botproc`, SQLite) relaying {_WHAT[direction]} at a steady {rate}/s.",
            )
            await profiler.__aenter__()
        try:
            with collector_paused():
                sent, acks, counter = await _open_loop(target, direction, run, rate, count, chats, first=warm)

                def delivered(run: int = run, sent: dict[tuple[int, int], float] = sent) -> bool:
                    target.scan()
                    return all(key in target.arrivals for key in sent)

                with contextlib.suppress(TimeoutError):
                    await wait_for(delivered, within=DRAIN_TIMEOUT, interval=0.1)
        finally:
            if profiler is not None:
                await profiler.__aexit__(None, None, None)
        latencies = [target.arrivals[k] - t for k, t in sent.items() if k in target.arrivals]
        lost = len(sent) - len(latencies)
        out[f"{direction}@{rate}"] = {
            "direction": direction,
            "rate": rate,
            "window_s": window,
            "sent": count,
            "delivered": len(latencies),
            "lost_or_late": lost + counter.failed,
            "p50_ms": ms(percentile(latencies, 50)),
            "p99_ms": ms(percentile(latencies, 99)),
            "max_ms": ms(max(latencies)) if latencies else None,
            "ack_p50_ms": ms(percentile(acks, 50)),
            "ack_p99_ms": ms(percentile(acks, 99)),
            "errors": counter.errors,
        }
        row = out[f"{direction}@{rate}"]
        log(
            f"relay {target.label} {direction}@{rate}/s: p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
            f"{row['delivered']}/{count} delivered"
        )
    return out


@contextlib.asynccontextmanager
async def running(label: str, module: str) -> AsyncIterator[Target]:
    """A relay under test (``module``: the bot or the bare relay) started against fresh fakes, with its topic
    channels configured; stopped at the end, its log's tail shown when something failed."""
    with workdir(f"relay-{label}") as tmp:
        async with Fakes() as fakes, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            env = bot_env(
                fakes,
                database_url=sqlite_url(tmp),
                port=free_port(),
                bot_config=write_bot_yaml(tmp / "bot.yaml", topic_channels=CHANNELS),
                webhook=True,
            )
            proc = BotProcess(env, module=module, log_path=tmp / "bot.log")
            try:
                await proc.start()
                yield Target(label=label, proc=proc, fakes=fakes, http=http)
            except Exception:
                log(f"{label} log tail:\n{proc.log_tail()}")
                raise
            finally:
                await proc.stop()


async def _run_target(
    label: str, module: str, profile: bool, phases: tuple[tuple[str, int, float], ...] = PHASES
) -> dict[str, dict[str, Any]]:
    async with running(label, module) as target:
        return await _measure(target, [5_000_001 + i for i in range(CHATS)], profile, phases)


async def run(*, profile: bool = False) -> dict[str, Any]:
    steady = tuple(p for p in PHASES if p[1] <= PACED_RATE)
    bot = await _run_target("bot", "bot", profile, steady)  # production pacing: python -m bot as deployed
    bot |= await _run_target("bot, pacing off", "bench.botproc", profile, tuple(p for p in PHASES if p not in steady))
    bare = await _run_target("bare relay", "bench.bare_relay", False)
    with workdir("relay-disk") as tmp:  # the disk the bot's commits wait for, as the bot commits (bench.checkpoints)
        disk = commit_figures(await asyncio.to_thread(commit_seconds, tmp / "disk.db", background=True))
    checks = []
    rows = []
    for direction, rate, _ in PHASES:
        key = f"{direction}@{rate}"
        b, base = bot[key], bare[key]
        path = "customer → Slack" if direction == "customer" else "staff reply → Telegram"
        met = b["p99_ms"] <= base["p99_ms"] + TARGET_MS and b["lost_or_late"] == 0
        checks.append(
            check(
                f"{path} p99 at {rate} msg/s",
                b["p99_ms"],
                "ms",
                baseline=base["p99_ms"],
                baseline_label="bare relay p99",
                target=f"≤ bare + {TARGET_MS:g} ms (≤ {base['p99_ms'] + TARGET_MS:.1f} ms)",
                met=met,
                note="" if b["lost_or_late"] == 0 else f"{b['lost_or_late']} not delivered within {DRAIN_TIMEOUT:g} s",
            )
        )
        rows.append(
            [
                path,
                rate,
                b["sent"],
                b["p50_ms"],
                b["p99_ms"],
                b["max_ms"],
                base["p50_ms"],
                base["p99_ms"],
                round(b["p99_ms"] - base["p99_ms"], 2),
                b["ack_p50_ms"],
                b["ack_p99_ms"],
                base["ack_p99_ms"],
            ]
        )
    return {
        "title": TITLE,
        "how": (
            f"Bot at {PACED_RATE}/s: `python -m bot` as deployed, production pacing on (1 post/s per Slack channel, "
            "1 message/s per Telegram chat, 30/s across Telegram), which at this rate and spread never has to wait "
            f"(round-robin over {CHATS} chats in {CHANNELS} channels: a channel gets a message every "
            f"{CHANNELS / PACED_RATE:g} s, a chat every {CHATS / PACED_RATE:g} s). Bot at 200/s: `python -m "
            "bench.botproc` (the same `bot.runtime.running` with proactive pacing off: at 200/s the 30/s Telegram "
            "cap and the per-channel rate, not the bot's overhead, would decide, and `python -m bot` cannot lift the "
            "30/s cap). Both: SQLite in WAL mode, Telegram webhook mode, Slack HTTP mode, default worker settings. "
            f"Baseline: `python -m bench.bare_relay`, same client libraries, no archive, no queue. {CHATS} customer "
            f"chats whose conversations are opened first and routed to {CHANNELS} Slack channels; then, one direction "
            f"at a time, an open-loop generator sends at a steady rate ({WARMUP_SECONDS:g} s warm-up, not counted, "
            "then 8 s at 20/s or 3 s at 200/s). Latency runs from the request leaving the generator to the fake API "
            "receiving the call that carries the message. 'Ack' is the time until the bot answered the webhook or "
            "event, i.e. until the message was committed. The second table is the disk alone, after the relays: "
            f"{COMMITS} commits of a relayed message's size through `sqlite3` at {RATE:g}/s with the bot's pragmas and "
            "background checkpoint (as `bench.checkpoints` measures them): the disk's own tail beside the bot's."
        ),
        "checks": checks,
        "tables": [
            table(
                "Latency in ms (bot vs bare relay, same run)",
                [
                    "path",
                    "msg/s",
                    "messages",
                    "bot p50",
                    "bot p99",
                    "bot max",
                    "bare p50",
                    "bare p99",
                    "p99 − bare",
                    "bot ack p50",
                    "bot ack p99",
                    "bare ack p99",
                ],
                rows,
            ),
            table(
                f"The disk alone: sqlite3 commits as the bot makes them (WAL, FULL) at {RATE:g}/s, same run",
                ["commits", "p50 ms", "p99 ms", "max ms", "over 5 ms"],
                [list(disk.values())],
            ),
        ],
        "raw": {"bot": bot, "bare": bare, "disk": disk},
    }
