"""Hand-written reading of the figures: shown in docs/BENCHMARKS.md under each benchmark.

CLOSE_IT is shown only while a target of that benchmark is missed; NOTES always. Written from the runs and the
py-spy profiles of 2026-11-24 (docs/profiles/); update them when a change moves a figure.
"""

from __future__ import annotations

NOTES: dict[str, str] = {
    "startup": (
        "Reading it: the bare process with the same imports already takes about 0.9–1.0 s, so the bot's own "
        "start-up work (migrations check, auth.test, getMe, deleteWebhook, worker) is the remaining 0.2–0.4 s. The "
        "figure is sensitive to whatever else the machine runs: in the runs of 2026-11-24 the restart median was "
        "1.18 s, 1.26 s and, in a run while other sessions' test suites shared the two cores, 2.33 s; a separate "
        "check a minute later measured 1.09–1.15 s."
    ),
    "relay": (
        "Reading it: at 20 msg/s the bot's p99 moves by tens of milliseconds between runs of the same code on this "
        "machine (38, 49, 110 and 356 ms in four runs on 2026-11-24, while other sessions' test suites "
        "sometimes shared the two cores); the bare relay's by a few. At 200 msg/s the bot falls behind: one process "
        "on SQLite archives and delivers only around 100 messages a second (see inbound throughput), so a queue builds "
        "and the figure is the age of that queue, not the bot's overhead; 'bot ack' shows the webhook answers "
        "slowing as well. Where 'bot ack p99' is close to 'bot p99' (the 20/s customer row of 2026-11-24 05:00), "
        "the slow part was the webhook's own receive transaction, i.e. waiting to commit (SQLite takes one "
        "writer at a time, and the worker and the timers write too), not the delivery after it."
    ),
    "burst": (
        "Reading it: the post count is close to the fewest possible, so combining a conversation's backlog works; "
        "the extra time over the floor is lost to 429s. The fake allows no burst while the bot's pacer allows bursts "
        "of 3 per channel; each 429 blocks the channel for Retry-After, during which the pacer's bucket refills, "
        "and the next burst meets the limit again. Batches already waiting for their paced slot (up to 3 per "
        "channel) still post after a 429, because the block is only checked before the pacing sleep."
    ),
    "search": (
        "Reading it: the per-query tables show where p95 comes from: most queries answer in a few milliseconds and "
        "p95 is set by the slowest one or two. On SQLite those are the one- and two-character queries and the "
        "two-word Korean one (about 40 ms each, close to the target), which the trigram index cannot serve. "
        "The figures are against the search code as it stood in the working tree when the suite ran (the "
        "customers/search work was in progress). The SQLite FTS5 index is built by "
        "the migration's 'rebuild' after the bulk load (in one pass), which may be more compact than an index grown "
        "one message at a time by the triggers."
    ),
}

CLOSE_IT: dict[str, str] = {
    "relay": (
        "Profiles: `docs/profiles/relay-customer-200.md`, `relay-staff-200.md`. The process is not CPU-bound: most "
        "samples are the event loop waiting (`EpollSelector.select`) and aiosqlite's worker thread. A relayed "
        "customer message costs five transactions (receive; the worker's claim; two reads in `PostInbound` for the "
        "conversation and the message rows; finish) and about twenty statements, and every statement is a hop to "
        "aiosqlite's thread and back (0.37 ms each, measured: 100 `SELECT 1` in one transaction); the bare relay "
        "spends about 2 ms. In order of effect:\n\n"
        "1. Deliver straight after the commit: the receive transaction knows the job it queued; in single-process "
        "mode lease it in that transaction and hand it to the worker in memory, with the conversation and message "
        "row, instead of waking the worker to run the claim query and two read transactions.\n"
        "2. One thread hop per transaction instead of one per statement on SQLite: run each unit of work as one "
        "sync function through `AsyncConnection.run_sync` (the same Core statements).\n"
        "3. The throughput work of the next benchmark: until one process handles well over 200 messages a second, "
        "the 200/s rows measure a queue."
    ),
    "inbound": (
        "Profiles: `docs/profiles/inbound-sqlite.md`, `inbound-postgresql.md`. Again the CPU is mostly waiting on "
        "the database: round trips, not computation. Measured alongside (not part of the suite): "
        "`Conversations.receive` one at a time manages 110 msg/s on SQLite, about 9 ms for 8 statements and a "
        "commit; 4 or 32 at a time only 165–172/s, as SQLite takes one writer at a time. Even the baseline "
        "(one-row commits through the bot's engine) is under 1,000/s on SQLite, so one transaction per message "
        "cannot reach the target here; fewer round trips per message can:\n\n"
        "1. Group commit: one writer task takes every message waiting (say up to 100, or 5 ms) and archives them in "
        "one transaction, then answers each webhook / saves the polling offset. Store-first still holds, and the "
        "throughput grows with the batch on both databases.\n"
        "2. Fewer statements per message (8 today): `message_exists` before an INSERT … ON CONFLICT DO NOTHING that "
        "already detects a redelivery; `_slack_channel` reads again the conversation the transaction just loaded; the "
        "identity as one INSERT … ON CONFLICT DO UPDATE … RETURNING; `touch` folded into the message insert "
        "transaction's existing conversation write. About 4 would do.\n"
        "3. SQLite: one thread hop per transaction (`run_sync`), as for relay latency.\n"
        "4. The webhook route is slower than `receive` alone: every commit wakes the delivery worker, which runs its "
        "claim query at once. Coalesce wake-ups (one claim per few milliseconds at most)."
    ),
    "startup": (
        "Profile: `docs/profiles/startup.md`: 83% of the samples are module imports under `bot/runtime.py` "
        "(python-telegram-bot about 40%, SQLAlchemy about 30%, alembic about 20%). "
        "Most of the time is importing the libraries (the baseline), so the margin comes from importing less before "
        "serving: check the alembic version table with a plain query and import alembic only when a migration is "
        "due; import slack_bolt's Socket Mode and the PostgreSQL driver only when configured. Re-run "
        "`python -m bench startup` on a quiet machine before acting on a single miss."
    ),
    "burst": (
        "The drain beats the one-post-per-message floor by far, but the bot provokes 429s. To close it: pace "
        "Slack channels with a burst of 1 (Slack documents 1 post/s per channel with 'short bursts' and no number); "
        "after a 429, empty the pacer's bucket for that target so the next slot starts after Retry-After; and check "
        "`Pacer.blocked()` again after the pacing sleep, right before the API call, so batches that reserved a slot "
        "earlier do not post into the block. The drain should then approach the fewest-posts floor."
    ),
    "search": (
        "On PostgreSQL the slow calls are prepared-statement plans, not the index: asyncpg prepares every statement "
        "and PostgreSQL switches a prepared statement to a generic plan (one that ignores the actual search "
        "pattern) after its fifth execution. Measured alongside on the same archive: `history('payment failed')` "
        "took 16–18 ms for calls 2–5 and 460–560 ms from the 6th on; with `plan_cache_mode = force_custom_plan` "
        "every call took 5–11 ms, and `history('결제 오류')` went from 1.7–3.3 s to 8–51 ms. `EXPLAIN ANALYZE` of the "
        "same statements with their parameters (a custom plan) runs in under a millisecond. To close it: have the "
        "PostgreSQL engine send `plan_cache_mode=force_custom_plan` (asyncpg `server_settings` in `connect_args`, "
        "in `bot/store/engine.py`), or at least for the search queries; then re-run `python -m bench search`."
    ),
}
