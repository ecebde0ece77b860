"""9. New conversations: how soon a new customer's words show in Slack, with production pacing and Slack's limit.

``python -m bot`` with its defaults (SQLite, Telegram polling, pacing 1 post/s per channel, no burst, 10% headroom)
against a fake Slack that enforces 1 chat.postMessage per second per channel with a bucket of 1 (a post over it
gets 429 and an honest Retry-After). First, one new customer at a time (rounds 3 s apart, so the channel's bucket
is full each time): the clock runs from the message queued in the fake Telegram to the fake Slack receiving (a) the
thread's first post (the header), (b) the first post carrying the customer's words, (c) the message's own post in
the thread. (c) is where the words first showed before the header quoted them: measured in the same round, it is
the baseline. Then five new customers at once into the same channel, three times: the last one's words.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from bench.common import (
    BotProcess,
    Fakes,
    bot_env,
    check,
    free_port,
    log,
    ms,
    params_text,
    percentile,
    sqlite_url,
    table,
    wait_for,
    workdir,
    write_bot_yaml,
)

NAME = "newthread"
TITLE = "New conversations"
SINGLE_ROUNDS = 8
BURST_ROUNDS = 3
AT_ONCE = 5
_MARK = re.compile(r"n(\d+)x(\d+)z")
WORDS_TARGET_MS = 100.0
LAST_TARGET_S = 6.0


def _text(round_: int, customer: int) -> str:
    return f"hello, a question about my order n{round_}x{customer}z 배송 문의"


class Arrivals:
    """When the fake Slack received, for each marker: the header, the first post with the words, the thread post."""

    def __init__(self, fakes: Fakes) -> None:
        self.fakes = fakes
        self.seen = 0
        self.header: dict[tuple[int, int], float] = {}
        self.words: dict[tuple[int, int], float] = {}
        self.thread: dict[tuple[int, int], float] = {}

    def scan(self) -> None:
        calls = self.fakes.slack.calls
        for call in calls[self.seen :]:
            if call.method != "chat.postMessage" or call.status != 200:
                continue
            marks = {(int(r), int(c)) for r, c in _MARK.findall(params_text({"b": call.params.get("blocks")}))}
            for mark in marks:
                self.words.setdefault(mark, call.at)
                if call.params.get("thread_ts"):
                    self.thread.setdefault(mark, call.at)
                else:
                    self.header.setdefault(mark, call.at)
        self.seen = len(calls)

    def done(self, marks: list[tuple[int, int]]) -> bool:
        self.scan()
        return all(m in self.thread for m in marks)


async def run(*, profile: bool = False) -> dict[str, Any]:
    with workdir("newthread") as tmp:
        async with Fakes() as fakes:
            fakes.slack.per_key_limit("chat.postMessage", "channel", 1.0, burst=1, retry_after=None)
            config = write_bot_yaml(tmp / "bot.yaml")
            env = bot_env(fakes, database_url=sqlite_url(tmp), port=free_port(), bot_config=config)
            proc = BotProcess(env, log_path=tmp / "bot.log")
            arrivals = Arrivals(fakes)
            single: list[tuple[float, float, float]] = []  # (header, words, thread) after the message, s
            last: list[float] = []
            chat = 9_300_000
            try:
                await proc.start()
                for round_ in range(SINGLE_ROUNDS):
                    chat += 1
                    sent = time.monotonic()
                    fakes.telegram.push_text(chat, _text(round_, 0))
                    mark = (round_, 0)
                    await wait_for(lambda m=mark: arrivals.done([m]), within=30, interval=0.01, what="a new thread")
                    single.append(
                        (arrivals.header[mark] - sent, arrivals.words[mark] - sent, arrivals.thread[mark] - sent)
                    )
                    await asyncio.sleep(3)
                for burst in range(BURST_ROUNDS):
                    round_ = 100 + burst
                    sent = time.monotonic()
                    marks = []
                    for customer in range(AT_ONCE):
                        chat += 1
                        fakes.telegram.push_text(chat, _text(round_, customer))
                        marks.append((round_, customer))
                    await wait_for(lambda ms_=marks: arrivals.done(ms_), within=60, interval=0.01, what="5 threads")
                    last.append(max(arrivals.words[m] for m in marks) - sent)
                    await asyncio.sleep(3)
            except Exception:
                log(f"bot log tail:\n{proc.log_tail()}")
                raise
            finally:
                await proc.stop()
            limited = fakes.slack.rate_limited_count
            posts = len([c for c in fakes.slack.calls if c.method == "chat.postMessage" and c.status == 200])
    after_header = [w - h for h, w, _ in single]
    thread_after_header = [t - h for h, _, t in single]
    p50_words = ms(percentile(after_header, 50))
    p50_thread = ms(percentile(thread_after_header, 50))
    worst_last = round(max(last), 2)
    log(f"newthread: words − header p50 {p50_words} ms; thread post − header p50 {p50_thread} ms; last of 5 {last}")
    checks = [
        check(
            "a new customer's words: after the thread's first post, p50",
            p50_words,
            "ms",
            baseline=p50_thread,
            baseline_label="the message's own thread post after the first post, p50",
            target=f"≤ {WORDS_TARGET_MS:g} ms",
            met=p50_words <= WORDS_TARGET_MS,
            note=f"first post {ms(percentile([h for h, _, _ in single], 50))} ms after the message (p50)",
        ),
        check(
            f"{AT_ONCE} new customers at once in one channel: the last one's words (slowest of {BURST_ROUNDS})",
            worst_last,
            "s",
            baseline=round((AT_ONCE - 1) / 0.9, 2),
            baseline_label=f"computed floor: {AT_ONCE - 1} intervals of the paced 0.9 posts/s before the last header",
            target=f"≤ {LAST_TARGET_S:g} s",
            met=worst_last <= LAST_TARGET_S,
        ),
        check(
            "429s the bot provoked",
            limited,
            "",
            baseline=posts,
            baseline_label="successful posts",
            target="no more than before (0 in the burst benchmark)",
            met=limited == 0,
        ),
    ]
    rows = [[i + 1, ms(h), ms(w), ms(t)] for i, (h, w, t) in enumerate(single)]
    return {
        "title": TITLE,
        "how": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "checks": checks,
        "tables": [
            table(
                "One new customer at a time: ms after the message was queued (same run)",
                ["round", "thread's first post", "first post with the words", "the message's own thread post"],
                rows,
            ),
            table(
                f"{AT_ONCE} new customers at once: s until the last one's words",
                ["round", "last words after"],
                [[i + 1, round(s, 2)] for i, s in enumerate(last)],
            ),
        ],
    }
