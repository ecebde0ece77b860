"""7. Widget connections: 1,000 visitors connected at once to one bot process, over the real WebSocket.

The bot (``python -m bench.botproc``: production code, proactive pacing off, SQLite) runs the website channel; a
bare aiohttp WebSocket echo server (``bench.bare_echo``) is the baseline, measured in the same run with the same
clients. Memory per connection is the growth of the process's RSS (VmRSS in /proc) from before the 1,000 connections
to after all of them said hello, divided by 1,000. Latency: visitor → Slack runs from a visitor's frame leaving this
process to the fake Slack receiving the chat.postMessage that carries it; staff reply → visitor from the signed
Slack event leaving this process to the visitor's connection receiving the reply; the baseline is the echo's round
trip. Every connection stays open during the measurements. Everything is on 127.0.0.1, bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.common import (
    INBOX,
    BotProcess,
    Fakes,
    bot_env,
    check,
    free_port,
    log,
    ms,
    params_text,
    percentile,
    rss_kib,
    sqlite_url,
    staff_reply_request,
    table,
    wait_for,
    workdir,
)

NAME = "widget"
TITLE = "Widget connections"
CONNECTIONS = 1000
WRITERS = 200  # visitors who open a conversation (the rest stay connected and idle)
RATE = 20  # messages per second, each direction: the rate bench relay takes its latency at (on a quiet machine one
# process keeps up with it; on a loaded one the figures show a queue)
WINDOW = 8.0  # seconds per direction
LATENCY_TARGET_MS = 25.0
MEMORY_TARGET_KIB = 64.0
ORIGIN = "https://shop.example.com"
TOKEN_SECRET = "bench-website-token-secret-0123456789abcdef"
_MARK = re.compile(r"q(\d+)x(\d+)z")


@dataclass
class Client:
    ws: aiohttp.ClientWebSocketResponse
    arrivals: dict[tuple[int, int], float] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            at = time.monotonic()
            for run, seq in _MARK.findall(message.data):
                self.arrivals.setdefault((int(run), int(seq)), at)


def _bot_yaml(path: Path) -> Path:
    section = {
        "allowed_origins": [ORIGIN],
        "connections_per_ip": CONNECTIONS * 2,
        "messages_per_minute": 10_000,
        "ip_messages_per_minute": 100_000,
        "resync_seconds": 3600,
    }
    doc = {"language": "en", "slack": {"inbox_channel": INBOX}, "texts": {"auto_reply": False},
           "channels": {"website": section}}  # fmt: skip
    path.write_text(yaml.safe_dump(doc))
    return path


async def _connect_all(http: aiohttp.ClientSession, url: str, *, hello: bool) -> list[Client]:
    clients: list[Client] = []
    semaphore = asyncio.Semaphore(50)

    async def one() -> None:
        async with semaphore:
            ws = await http.ws_connect(url, origin=url.replace("ws://", "http://").rsplit("/", 2)[0], heartbeat=None)
            client = Client(ws)
            if hello:
                await ws.send_str(json.dumps({"t": "hello", "origin": ORIGIN, "lang": "en", "page": {}}))
                first = await asyncio.wait_for(ws.receive(), 20)
                assert json.loads(first.data)["t"] == "welcome", first.data
            client.task = asyncio.create_task(client.read())
            clients.append(client)

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(CONNECTIONS))), 180)
    return clients


async def _close_all(clients: list[Client]) -> None:
    for client in clients:
        await client.ws.close()
        if client.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await client.task


async def _open_loop(count: int, send: Any) -> dict[int, float]:
    sent: dict[int, float] = {}
    start = time.monotonic() + 0.05
    tasks = []

    async def one(seq: int) -> None:
        sent[seq] = time.monotonic()
        await send(seq)

    for seq in range(count):
        delay = start + seq / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(seq)))
    await asyncio.gather(*tasks)
    return sent


async def _bot(tmp: Path) -> dict[str, Any]:
    async with Fakes() as fakes, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        env = bot_env(fakes, database_url=sqlite_url(tmp), port=free_port(), bot_config=_bot_yaml(tmp / "bot.yaml"),
                      WEBSITE_TOKEN_SECRET=TOKEN_SECRET)  # fmt: skip
        env.pop("TELEGRAM_BOT_TOKEN", None)
        proc = BotProcess(env, module="bench.botproc", log_path=tmp / "bot.log")
        await proc.start()
        try:
            before = rss_kib(proc.pid)["VmRSS"]
            clients = await _connect_all(http, f"ws://127.0.0.1:{proc.port}/website/ws", hello=True)
            await asyncio.sleep(1.0)  # let the last welcomes settle before reading the RSS
            after = rss_kib(proc.pid)["VmRSS"]
            log(f"widget bot: {CONNECTIONS} connections, RSS {before} -> {after} KiB")
            writers = clients[:WRITERS]
            for index, client in enumerate(writers):  # open a conversation each: threads for the staff replies
                frame = {"t": "msg", "cid": f"open{index:06d}x", "text": f"hi q0x{index}z"}
                await client.ws.send_str(json.dumps(frame))
            threads: dict[int, tuple[str, str]] = {}

            def opened() -> bool:
                for message in fakes.slack.messages:
                    found = _MARK.search(params_text({"t": message.get("text"), "b": message.get("blocks")}))
                    if message.get("thread_ts") and found and found.group(1) == "0":
                        threads[int(found.group(2))] = (message["channel"], message["thread_ts"])
                return len(threads) >= WRITERS

            await wait_for(opened, within=120, what="a thread for every writer")
            count = int(RATE * WINDOW)

            async def visitor_writes(seq: int) -> None:
                frame = {"t": "msg", "cid": f"m{seq:06d}{secrets.token_hex(4)}", "text": f"question q1x{seq}z"}
                await writers[seq % WRITERS].ws.send_str(json.dumps(frame))

            sent_in = await _open_loop(count, visitor_writes)
            arrivals: dict[int, float] = {}

            def posted() -> bool:
                for call in fakes.slack.calls:
                    if call.method == "chat.postMessage" and call.status == 200:
                        for run, seq in _MARK.findall(params_text(call.params)):
                            if run == "1":
                                arrivals.setdefault(int(seq), call.at)
                return len(arrivals) >= count

            with contextlib.suppress(TimeoutError):
                await wait_for(posted, within=30, interval=0.1)
            inbound = [arrivals[s] - t for s, t in sent_in.items() if s in arrivals]

            async def staff_replies(seq: int) -> None:
                channel, thread_ts = threads[seq % WRITERS]
                body, headers = staff_reply_request(channel, thread_ts, f"answer q2x{seq}z")
                async with http.post(f"{proc.url}/slack/events", data=body, headers=headers) as response:
                    await response.read()

            sent_out = await _open_loop(count, staff_replies)

            def received() -> bool:
                return all(any((2, s) in c.arrivals for c in writers) for s in sent_out)

            with contextlib.suppress(TimeoutError):
                await wait_for(received, within=30, interval=0.1)
            outbound = []
            for seq, started in sent_out.items():
                at = writers[seq % WRITERS].arrivals.get((2, seq))
                if at is not None:
                    outbound.append(at - started)
            await _close_all(clients)
            per_connection = (after - before) / CONNECTIONS
            return {"rss_before_kib": before, "rss_after_kib": after, "per_connection_kib": per_connection,
                    "inbound": inbound, "outbound": outbound, "sent": count}  # fmt: skip
        except Exception:
            log(f"widget bot log tail:\n{proc.log_tail()}")
            raise
        finally:
            await proc.stop()


async def _echo(tmp: Path) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    proc = BotProcess(env, module="bench.bare_echo", log_path=tmp / "echo.log")
    await proc.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            before = rss_kib(proc.pid)["VmRSS"]
            clients = await _connect_all(http, f"ws://127.0.0.1:{port}/ws", hello=False)
            await asyncio.sleep(1.0)
            after = rss_kib(proc.pid)["VmRSS"]
            count = int(RATE * WINDOW)

            async def echo(seq: int) -> None:
                await clients[seq % WRITERS].ws.send_str(f"ping q3x{seq}z")

            sent = await _open_loop(count, echo)
            with contextlib.suppress(TimeoutError):
                await wait_for(lambda: all(any((3, s) in c.arrivals for c in clients[:WRITERS]) for s in sent),
                               within=20, interval=0.05)  # fmt: skip
            trips = [clients[s % WRITERS].arrivals[(3, s)] - t for s, t in sent.items()
                     if (3, s) in clients[s % WRITERS].arrivals]  # fmt: skip
            await _close_all(clients)
        return {"rss_before_kib": before, "rss_after_kib": after, "per_connection_kib": (after - before) / CONNECTIONS,
                "trips": trips, "sent": count}  # fmt: skip
    finally:
        await proc.stop()


async def run(*, profile: bool = False) -> dict[str, Any]:
    load = os.getloadavg()
    with workdir("widget") as tmp:
        bot = await _bot(tmp)
        echo = await _echo(tmp)
    echo_p99 = ms(percentile(echo["trips"], 99))
    inbound_p99, outbound_p99 = ms(percentile(bot["inbound"], 99)), ms(percentile(bot["outbound"], 99))
    lost_in, lost_out = bot["sent"] - len(bot["inbound"]), bot["sent"] - len(bot["outbound"])
    per_bot, per_echo = round(bot["per_connection_kib"], 1), round(echo["per_connection_kib"], 1)
    checks = [
        check("memory per widget connection", per_bot, "KiB", baseline=per_echo, baseline_label="bare echo",
              target=f"≤ echo + {MEMORY_TARGET_KIB:g} KiB", met=per_bot <= per_echo + MEMORY_TARGET_KIB),
        check(f"visitor → Slack p99 at {RATE} msg/s", inbound_p99, "ms", baseline=echo_p99,
              baseline_label="echo round trip p99", target=f"≤ echo + {LATENCY_TARGET_MS:g} ms",
              met=inbound_p99 <= echo_p99 + LATENCY_TARGET_MS and lost_in == 0,
              note=f"{lost_in} not delivered" if lost_in else ""),
        check(f"staff reply → visitor p99 at {RATE} msg/s", outbound_p99, "ms", baseline=echo_p99,
              baseline_label="echo round trip p99", target=f"≤ echo + {LATENCY_TARGET_MS:g} ms",
              met=outbound_p99 <= echo_p99 + LATENCY_TARGET_MS and lost_out == 0,
              note=f"{lost_out} not delivered" if lost_out else ""),
    ]  # fmt: skip
    rows = [
        ["bot (website channel)", CONNECTIONS, bot["rss_before_kib"], bot["rss_after_kib"], per_bot],
        ["bare WebSocket echo", CONNECTIONS, echo["rss_before_kib"], echo["rss_after_kib"], per_echo],
    ]
    latency = [
        ["visitor → Slack post", bot["sent"], ms(percentile(bot["inbound"], 50)), inbound_p99, lost_in],
        ["staff reply → visitor", bot["sent"], ms(percentile(bot["outbound"], 50)), outbound_p99, lost_out],
        ["echo round trip (baseline)", echo["sent"], ms(percentile(echo["trips"], 50)), echo_p99,
         echo["sent"] - len(echo["trips"])],
    ]  # fmt: skip
    return {
        "title": TITLE,
        "how": (
            f"{CONNECTIONS} WebSocket connections from this process to one bot process (`bench.botproc`: the "
            "production runtime, pacing off, SQLite, the website channel only), each saying hello as the widget "
            f"does; then {WRITERS} of them open a conversation, and an open-loop generator sends {RATE} visitor "
            f"messages a second for {WINDOW:g} s, then {RATE} staff replies a second (signed Slack events) for "
            f"{WINDOW:g} s, while all {CONNECTIONS} stay open. Baseline in the same run: `bench.bare_echo` (aiohttp, "
            f"nothing else) with the same {CONNECTIONS} connections and the same message rate. Load average when "
            f"the run began: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (2 cores shared with other work)."
        ),
        "checks": checks,
        "tables": [
            table("Memory (RSS, KiB)", ["server", "connections", "before", "after", "per connection"], rows),
            table("Latency in ms (same run)", ["path", "messages", "p50", "p99", "not delivered"], latency),
        ],
        "raw": {"load_average": load, "bot": {k: v for k, v in bot.items() if k not in ("inbound", "outbound")},
                "echo": {k: v for k, v in echo.items() if k != "trips"}},
    }
