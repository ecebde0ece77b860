"""12. Acknowledgements under load: how long Slack waits for the bot's answer to its events and slash commands while
customers and staff are all busy at once.

Slack retries an event it has no answer to after 3 s, and a slash command answered later than that shows the user
an error. The load (issue 12): 50 customers sending 10 messages each through the Telegram webhook, as fast as the
bot answers, while staff reply in 20 threads, one reply after another in each, and slash commands (``/history``
and ``/inquiries``) arrive every 50 ms. Every request is signed as Slack signs it. The bot is ``python -m bot``
(SQLite, production pacing); the baseline is the bare relay (``bench.bare_relay``: no archive, no queue) answering
the same customers and staff events in the same scenario (it has no commands: its event acknowledgement is the
baseline of both).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from bench.common import (
    SIGNING_SECRET,
    STAFF,
    check,
    collector_paused,
    log,
    ms,
    params_text,
    percentile,
    table,
    wait_for,
)
from bench.relay import CHANNELS, Target, open_conversations, running
from tests.fakes.slack_requests import command_body, sign

NAME = "acks"
TITLE = "Acknowledgements under load"
CUSTOMERS = 50
MESSAGES = 10  # each customer's, one after another
THREADS = 20  # staff reply in this many of the customers' threads
REPLIES = 10  # in each, one after another
COMMANDS = 40  # /history and /inquiries in turn, one every COMMAND_EVERY seconds
COMMAND_EVERY = 0.05
TARGET_MS = 300.0


async def _command(target: Target, command: str, text: str) -> tuple[float, int]:
    body = command_body(command, text, user_id=STAFF, response_url=target.fakes.slack.response_url())
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SIGNING_SECRET)}
    started = time.monotonic()
    async with target.http.post(f"{target.proc.url}/slack/events", data=body, headers=headers) as response:
        await response.read()
        return time.monotonic() - started, response.status


async def _load(target: Target, chats: list[int], commands: bool) -> dict[str, list[float]]:
    """The scenario, all at once; returns each kind's acknowledgement times (s) and a list of failures."""
    acks: dict[str, list[float]] = {"customer": [], "event": [], "command": [], "failed": []}

    async def customer(chat: int) -> None:
        for n in range(MESSAGES):
            started, status = await target.customer_message(chat, f"message {n} from {chat}: 주문이 아직 안 왔어요")
            (acks["customer"] if status == 200 else acks["failed"]).append(time.monotonic() - started)

    async def staff(chat: int) -> None:
        for n in range(REPLIES):
            started, status = await target.staff_reply(chat, f"reply {n}: we are on it")
            (acks["event"] if status == 200 else acks["failed"]).append(time.monotonic() - started)

    async def slash() -> None:
        pending = []
        for n in range(COMMANDS):
            command, text = ("/history", "order") if n % 2 == 0 else ("/inquiries", "")
            pending.append(asyncio.create_task(_command(target, command, text)))
            await asyncio.sleep(COMMAND_EVERY)
        for took, status in await asyncio.gather(*pending):
            (acks["command"] if status == 200 else acks["failed"]).append(took)

    jobs = [customer(c) for c in chats] + [staff(c) for c in chats[:THREADS]] + ([slash()] if commands else [])
    await asyncio.gather(*jobs)
    return acks


_CUSTOMER_TEXT = re.compile(r"message (\d+) from (\d+):")
_REPLY_TEXT = re.compile(r"reply (\d+): we are on it")


def _delivered(target: Target) -> tuple[int, int]:
    """How many of the scenario's customer messages reached Slack and staff replies reached Telegram (a post may
    carry several messages of a backlog)."""
    posts = [c for c in target.fakes.slack.calls if c.method == "chat.postMessage" and c.status == 200]
    to_slack = {m for c in posts for m in _CUSTOMER_TEXT.findall(params_text(c.params))}
    sends = [c for c in target.fakes.telegram.calls if c.method.lower() == "sendmessage" and c.status == 200]
    to_telegram = {(str(c.params.get("chat_id")), n) for c in sends for n in _REPLY_TEXT.findall(str(c.params))}
    return len(to_slack), len(to_telegram)


async def _run_target(label: str, module: str) -> dict[str, Any]:
    async with running(label, module) as target:
        chats = [8_000_001 + i for i in range(CUSTOMERS)]
        await open_conversations(target, chats)
        started = time.monotonic()
        with collector_paused():
            acks = await _load(target, chats, commands=module == "bot")
        seconds = time.monotonic() - started
        wanted = (CUSTOMERS * MESSAGES, THREADS * REPLIES)
        await wait_for(lambda: _delivered(target) == wanted, within=60, what=f"every message relayed by the {label}")
        drained = time.monotonic() - started
    figures: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "drained_s": round(drained, 2),
        "failed": len(acks["failed"]),
    }
    for kind in ("customer", "event", "command"):
        if acks[kind]:
            figures[kind] = {
                "count": len(acks[kind]),
                "p50_ms": ms(percentile(acks[kind], 50)),
                "p99_ms": ms(percentile(acks[kind], 99)),
                "max_ms": ms(max(acks[kind])),
            }
    log(f"acks {label}: {figures}")
    return figures


async def run(*, profile: bool = False) -> dict[str, Any]:
    bot = await _run_target("bot", "bot")
    bare = await _run_target("bare relay", "bench.bare_relay")
    baseline = bare["event"]["p99_ms"]
    checks = [
        check(
            f"Slack {what} acknowledged, p99, under the load",
            bot[kind]["p99_ms"],
            "ms",
            baseline=baseline,
            baseline_label="the bare relay's event acknowledgement p99, same load",
            target=f"< {TARGET_MS:g} ms",
            met=bot[kind]["p99_ms"] < TARGET_MS and bot["failed"] == 0,
            note=f"max {bot[kind]['max_ms']} ms over {bot[kind]['count']}"
            + ("" if bot["failed"] == 0 else f"; {bot['failed']} requests failed"),
        )
        for kind, what in (("event", "events (staff replies)"), ("command", "slash commands (/history, /inquiries)"))
    ]
    rows = [
        [
            label,
            kind,
            f[kind]["count"],
            f[kind]["p50_ms"],
            f[kind]["p99_ms"],
            f[kind]["max_ms"],
            f["seconds"],
            f["drained_s"],
        ]
        for label, f in (("bot", bot), ("bare relay", bare))
        for kind in ("customer", "event", "command")
        if kind in f
    ]
    return {
        "title": TITLE,
        "how": (
            f"{CUSTOMERS} customers' conversations opened first (routed to {CHANNELS} channels); then at once: each "
            f"customer sends {MESSAGES} messages through the Telegram webhook, one after another as fast as they "
            f"are answered; staff reply {REPLIES} times in each of {THREADS} threads, one after another (signed Slack "
            f"events); {COMMANDS} slash commands, `/history order` and `/inquiries` in turn, one every "
            f"{COMMAND_EVERY * 1000:g} ms. An acknowledgement is the time until the HTTP answer. Bot: `python -m bot` "
            "(SQLite in WAL mode with synchronous=FULL, production pacing, Slack HTTP mode). Baseline: the bare relay "
            "(`bench.bare_relay`) under the same customers and staff events; it has no commands."
        ),
        "checks": checks,
        "tables": [
            table(
                "Acknowledgement times in ms (same run)",
                ["target", "request", "count", "p50", "p99", "max", "whole scenario, s", "all relayed after, s"],
                rows,
            )
        ],
        "raw": {"bot": bot, "bare": bare},
    }
