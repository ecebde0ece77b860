"""5. Burst drain (issue 3): 1,000 customer messages over 50 new conversations into one channel at 1 post/s.

``python -m bot`` with its defaults (SQLite, Telegram polling, pacing 1 post/s per channel with no burst and 10%
headroom) against a fake Slack that enforces 1 chat.postMessage per second per channel with no burst (a token bucket
of 1; a request over it gets 429 with an honest Retry-After). The whole burst is queued in the fake Telegram at once,
20 messages per customer, interleaved across customers. The clock runs from the burst to the fake Slack receiving
the last message. The floor this limit implies is stated two ways: one post per message, and the fewest posts the
bot's batching could need (every conversation's thread opener plus its messages packed into posts as
``bot.slack.blocks.customer_posts`` packs them, at most ``WorkerSettings.max_batch`` messages per post).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

from bench.common import (
    INBOX,
    BotProcess,
    Fakes,
    bot_env,
    check,
    free_port,
    log,
    params_text,
    scalar,
    sqlite_url,
    table,
    wait_for,
    workdir,
    write_bot_yaml,
)
from bench.profiling import Profile

NAME = "burst"
TITLE = "Burst drain"
MESSAGES = 1_000
CONVERSATIONS = 50
LIMIT_PER_SECOND = 1.0
FAKE_BURST = 1
TIMEOUT = 400.0
RATE_LIMITED_SHARE = 0.01  # "limits are rarely hit": at most 1 429 per 100 posts
_MARK = re.compile(r"q(\d+)x(\d+)z")


def _text(conversation: int, index: int) -> str:
    return f"burst message {index + 1} of customer {conversation}: q{conversation}x{index}z 주문 확인 부탁드려요"


def _markers(params: dict[str, Any]) -> list[tuple[str, str]]:
    """The messages one post carries: from its blocks (the text field is only a notification fallback)."""
    blocks = params.get("blocks")
    return _MARK.findall(params_text({"b": blocks}) if blocks else str(params.get("text", "")))


def minimal_posts() -> int:
    """Thread openers plus each conversation's messages packed the way the bot packs a backlog."""
    from bot.delivery.worker import WorkerSettings
    from bot.slack.blocks import customer_posts

    max_batch = WorkerSettings().max_batch
    per_conversation = MESSAGES // CONVERSATIONS
    total = CONVERSATIONS  # one thread opener each
    for conversation in range(CONVERSATIONS):
        texts = [_text(conversation, i) for i in range(per_conversation)]
        batch: list[str] = []
        for text in texts:
            candidate = [*batch, text]
            if batch and (len(candidate) > max_batch or len(customer_posts(candidate)) > 1):
                total += 1
                batch = [text]
            else:
                batch = candidate
        total += 1 if batch else 0
    return total


def floor_seconds(posts: int) -> float:
    return max(0.0, (posts - FAKE_BURST) / LIMIT_PER_SECOND)


async def run(*, profile: bool = False) -> dict[str, Any]:
    per_conversation = MESSAGES // CONVERSATIONS
    chats = [9_100_001 + c for c in range(CONVERSATIONS)]
    with workdir("burst") as tmp:
        async with Fakes() as fakes:
            fakes.slack.per_key_limit(
                "chat.postMessage", "channel", LIMIT_PER_SECOND, burst=FAKE_BURST, retry_after=None
            )
            database_url = sqlite_url(tmp)
            env = bot_env(
                fakes, database_url=database_url, port=free_port(), bot_config=write_bot_yaml(tmp / "bot.yaml")
            )
            proc = BotProcess(env, log_path=tmp / "bot.log")
            try:
                await proc.start()
                fakes.slack.calls.clear()
                started = time.monotonic()
                for index in range(per_conversation):
                    for conversation, chat in enumerate(chats):
                        fakes.telegram.push_text(chat, _text(conversation, index))
                arrived: dict[tuple[int, int], float] = {}
                seen = 0

                def scan() -> bool:
                    nonlocal seen
                    calls = fakes.slack.calls
                    for call in calls[seen:]:
                        if call.method == "chat.postMessage" and call.status == 200:
                            for c, i in _markers(call.params):
                                arrived.setdefault((int(c), int(i)), call.at)
                    seen = len(calls)
                    return len(arrived) >= MESSAGES

                async def archived() -> bool:
                    return (await scalar(database_url, "SELECT count(*) FROM messages")) >= MESSAGES

                ingest = await wait_for(archived, within=120, interval=0.1, what="the burst archived")
                profiler = Profile(proc.pid, "burst", "The bot draining the burst.") if profile else None
                if profiler:
                    await profiler.__aenter__()
                drained = True
                try:
                    await wait_for(scan, within=TIMEOUT - ingest, interval=0.25, what="the burst drained")
                except TimeoutError:
                    drained = False
                    scan()
                finally:
                    if profiler:
                        await profiler.__aexit__(None, None, None)
            except Exception:
                log(f"bot log tail:\n{proc.log_tail()}")
                raise
            finally:
                await proc.stop()
            posts = [c for c in fakes.slack.calls if c.method == "chat.postMessage" and c.status == 200]
            limited = fakes.slack.rate_limited_count
            openers = [m for m in fakes.slack.messages if m["channel"] == INBOX and not m.get("thread_ts")]
    drain = (max(arrived.values()) - started) if arrived else None
    # Nothing lost, nothing doubled, nothing out of order: the markers of each conversation, in posting order, in
    # the threads (a thread's first post, the header, also quotes the opening words: bot/slack/opening.py).
    order: dict[int, list[int]] = defaultdict(list)
    for call in posts:
        if not call.params.get("thread_ts"):
            continue
        for c, i in _markers(call.params):
            order[int(c)].append(int(i))
    broken = [c for c in range(CONVERSATIONS) if order[c] != list(range(per_conversation))]
    intact = not broken
    if broken:
        log(f"burst: conversation {broken[0]} arrived as {order[broken[0]]} ({len(broken)} out of order or doubled)")
    fewest = minimal_posts()
    naive_posts = MESSAGES + CONVERSATIONS
    floor_min, floor_naive = floor_seconds(fewest), floor_seconds(naive_posts)
    log(
        f"burst: drained {len(arrived)}/{MESSAGES} in {drain if drain is None else round(drain, 1)} s with "
        f"{len(posts)} posts and {limited} 429s (floor {floor_min:.0f} s for {fewest} posts)"
    )
    drain_value = round(drain, 1) if drain is not None and drained else None
    allowed = int(len(posts) * RATE_LIMITED_SHARE)
    checks = [
        check(
            f"time to drain {MESSAGES:,} messages / {CONVERSATIONS} conversations into one channel",
            drain_value,
            "s",
            baseline=round(floor_naive, 1),
            baseline_label=f"floor at one post per message ({naive_posts:,} posts)",
            target="< the one-post-per-message floor (issue 3: a burst drains faster than one post per message)",
            met=drained and intact and drain is not None and drain < floor_naive,
            note="" if drained else f"not drained within {TIMEOUT:g} s: {len(arrived)} of {MESSAGES} delivered",
        ),
        check(
            "drain time ÷ the fewest-posts floor",
            round(drain / floor_min, 2) if drain_value is not None and floor_min else None,
            "×",
            target="none set (1.0 would be perfect packing and pacing)",
            met=None,
            note=f"fewest-posts floor: {floor_min:.0f} s for {fewest} posts",
        ),
        check(
            "429s the bot provoked",
            limited,
            "",
            baseline=len(posts),
            baseline_label="successful posts",
            target=f"rarely (issue 3), read as ≤ {RATE_LIMITED_SHARE:.0%} of posts (≤ {allowed})",
            met=limited <= len(posts) * RATE_LIMITED_SHARE,
        ),
        check(
            "every message once, in order, one thread per conversation",
            1 if intact and len(openers) == CONVERSATIONS else 0,
            "",
            target="1 (yes)",
            met=intact and len(openers) == CONVERSATIONS,
            note=f"{len(openers)} threads for {CONVERSATIONS} conversations",
        ),
    ]
    return {
        "title": TITLE,
        "how": (
            "`python -m bot` with its defaults (SQLite, Telegram polling, pacing 1 post/s per channel with no burst "
            f"and 10% headroom). The fake Slack enforces {LIMIT_PER_SECOND:g} chat.postMessage per second per channel "
            f"with a bucket of {FAKE_BURST} (the strictest reading of Slack's limit; a post over it gets 429 and an "
            f"honest Retry-After). {MESSAGES:,} messages from {CONVERSATIONS} new customers, {per_conversation} each, "
            "interleaved, are queued "
            "in the fake Telegram at once; every conversation goes to the inbox channel. Clock: from the burst to the "
            "fake Slack receiving the post carrying the last message. Floors: (posts − bucket) ÷ rate; the fewest "
            "posts are each conversation's thread opener plus its messages packed as the bot packs a backlog "
            f"(`customer_posts`, at most `max_batch` per post). The baseline here is computed from the limit, not "
            f"measured: the fake enforces it exactly."
        ),
        "checks": checks,
        "tables": [
            table(
                "Burst drain (same run)",
                ["", "value"],
                [
                    ["messages archived after (s)", round(ingest, 1)],
                    ["drained after (s)", drain_value if drain_value is not None else "not drained"],
                    ["posts made (thread openers + message posts)", len(posts)],
                    ["of which thread openers", len(openers)],
                    ["fewest posts possible", fewest],
                    [f"floor, fewest posts at {LIMIT_PER_SECOND:g}/s (s)", round(floor_min, 1)],
                    [f"floor, 1,000 posts at {LIMIT_PER_SECOND:g}/s (s)", round(floor_seconds(MESSAGES), 1)],
                    [f"floor, {naive_posts:,} posts incl. openers (s)", round(floor_naive, 1)],
                    ["429 answers", limited],
                    ["messages per post, average", round(MESSAGES / max(1, len(posts) - len(openers)), 1)],
                ],
            )
        ],
    }
