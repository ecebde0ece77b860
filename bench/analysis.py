"""Hand-written reading of the figures: shown in docs/BENCHMARKS.md under each benchmark.

CLOSE_IT is shown only while a target of that benchmark is missed; NOTES always. Written from the runs and the
py-spy profiles of 2026-11-24 (docs/profiles/); update them when a change moves a figure.
"""

from __future__ import annotations

NOTES: dict[str, str] = {
    "outbox": (
        "Reading it: the claim no longer depends on how many delivered jobs the queue keeps: it reads the partial "
        "index `ix_outbox_unfinished` (migration 0010_outbox), whose rows are only the jobs still to deliver; "
        "before, SQLite scanned the table in id order past every delivered row (2 / 20 / 159 ms at 0 / 100k / 1M, "
        "issue 12). Measured directly on a 1M-row file between two runs: the claim's SELECT takes 0.01 ms, its "
        "followers' query 0.3 ms, and a wake-up claim that finds one job about 3-5 ms in all (three statements, "
        "each a hop to aiosqlite's thread, and a commit that flushes), against 0.8 ms for the one-row write. A "
        "backlog claim of 32 lanes now takes two statements for all the heads' followers instead of two per head "
        "(it was 36-80 ms p50 before that change, in the same benchmark). The second table times the claim's "
        "SELECT alone as it is and as it was: on SQLite the old one scans past every delivered job; on PostgreSQL "
        "both use the new partial index (plans are made with the actual values, `plan_cache_mode="
        "force_custom_plan`, so the planner proves the old condition implies the index's), hence no difference "
        "there. A prune batch deletes 100 rows in about "
        "1 ms; what holds the lock longer is the commit's flush of the pages it dirtied (8-18 ms measured directly "
        "while the machine's load average was 8). The run recorded here began at a load average of 1.5, with "
        "nothing else running: the longest prune batch is 18 / 20 ms (SQLite / PostgreSQL) and a wake-up claim p99 "
        "8.7 / 7.1 ms, against 3.2 / 3.3 ms for the one-row write. The same code at a load average of 6.9 (on "
        "2026-12-01 17:59 UTC) measured 62 / 31 ms, 84 / 20 ms and 58 / 13.6 ms: figures of the bot and of the "
        "baseline move together with the load, so compare them within a row."
    ),
    "newthread": (
        "Reading it: the thread's first post (the header) now quotes the customer's opening words "
        "(`bot/slack/opening.py`; an edit of them updates the quote), so the words are in Slack with the first post "
        "itself, and in the channel, not only inside the thread; the message still follows in the thread as its "
        "own post a paced second later (the baseline column), where replies, edits and the map of message ids work "
        "on it. No post is added, so Slack's limit is met exactly as before. With five new customers at once, each "
        "new thread's header takes the channel's free slot before the earlier conversations' next posts (the claim "
        "puts `open_thread` heads first), so the last one's words wait for four paced intervals, not nine."
    ),
    "pacer": (
        "Reading it: the pacer forgets, least recently used first and a couple per reservation, every bucket that "
        "has refilled to its burst (identical to a new one) and every last-call time older than one interval; 429 "
        "blocks go when they pass. In the run, about 35 targets stay remembered at Telegram's 30 messages a second "
        "instead of every chat that ever wrote; the difference is the RSS column of the baseline."
    ),
    "reports": (
        "Reading it: the numbers (every query and the figures the message shows) are what /report posts first; the "
        "chart and the CSV follow in its thread. Of a 90-day report's time, the SQL passes over the period's ~30,000 "
        "conversations (grouped counts, durations, surveys, hours, tags, saved replies) are most of the numbers; the "
        "chart (matplotlib, 1200x900) costs 0.3-1 s depending on the machine's load, and on PostgreSQL the CSV's "
        "30,000 rows with their tags are the larger part of 'chart and CSV'. Figures move by 2-3x with the load "
        "average (recorded in each row): on 2026-12-01 the same code measured SQLite numbers p95 3.3 s at load 6, "
        "0.69 s at load 2.8 and 0.41 s at load 1.1, and PostgreSQL numbers then chart and CSV p95 3.09 s at load "
        "4-5 and 1.12 s at load 1.1."
    ),
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
        "writer at a time, and the worker and the timers write too), not the delivery after it.\n\n"
        "Issue 12 asks for this with production pacing on (enough channels and chats that pacing does not decide) "
        "and for Slack acknowledgements under 300 ms p99 while 50 customers send 10 messages each and staff answer "
        "in 20 threads: neither is measured here yet. Each staff reply is still its own write transaction (20 at "
        "once acknowledged at p50 249 ms in issue 12's measurement); group commit for staff replies, as the intake "
        "has for customer messages, is what would close the acknowledgement target."
    ),
    "burst": (
        "Reading it: the post count is close to the fewest possible, so combining a conversation's backlog works. "
        "The fake allows exactly 1 post/s per channel and no burst; the bot paces each channel at 1 post/s with "
        "10% headroom and takes its slot right before each API call (not before the job's database reads), so it "
        "provokes no 429s, and the drain is about 1.1-1.2x the fewest-posts floor (the headroom alone is 1.11x). "
        "Earlier runs on 2026-11-24, with a burst of 3 and the slot taken before the reads, drew 57 and 95 429s "
        "and took 157-198 s."
    ),
    "search": (
        "Reading it: the per-query tables show where p95 comes from: most queries answer in a few milliseconds and "
        "p95 is set by the slowest one or two. On SQLite those are the one- and two-character queries and the "
        "two-word Korean one (about 40 ms each, close to the target), which the trigram index cannot serve. "
        "The SQLite FTS5 index is built by "
        "the migration's 'rebuild' after the bulk load (in one pass), which may be more compact than an index grown "
        "one message at a time by the triggers.\n\n"
        "Not yet measured here (issue 12): `/history` through the real command handler, with a cold cache, and with "
        "one- and two-character terms found nowhere. Such a term cannot be ruled out by trigrams, so SQLite scans "
        "every message (360-430 ms at 1,000,000 messages, measured for issue 12): that target is missed until "
        "SQLite has an index of short grams as PostgreSQL has (`threadbridge_grams`): for example an FTS5 table "
        "over the text with a separator after every character (written by the store when a message is archived), "
        "in which a one- or two-character term is a token or a two-token phrase, so absence is one index lookup."
    ),
}

CLOSE_IT: dict[str, str] = {
    "outbox": (
        "The claim's own statements are fast (see the reading above); what is left is its statements' thread hops, "
        "BEGIN and the commit, about 2.5 times the one-row write's p99 on a quiet machine. To go lower: on SQLite, "
        "run the claim as one sync function through `AsyncConnection.run_sync` (one thread hop instead of three plus "
        "BEGIN and COMMIT), and hand the job a receive transaction has just queued straight to the worker (no claim "
        "at all on the hot path). For pruning: batches smaller than 100 rows, or a checkpoint-friendly pause between "
        "batches, if the flush of a batch's pages keeps the lock past 50 ms on a loaded disk."
    ),
    "reports": (
        "The numbers meet the target on both databases; the files after them miss it on PostgreSQL. Reading the "
        "CSV's rows with one grouped tag query instead of a tag subquery per row would take the larger part off "
        "(the chart is already drawn in a thread beside the CSV's read)."
    ),
    "relay": (
        "Profiles: `docs/profiles/relay-customer-200.md`, `relay-staff-200.md` (taken before the intake work of "
        "commit daf0c7d). The process is not CPU-bound: most samples are the event loop waiting and aiosqlite's "
        "worker thread. A relayed customer message now costs four transactions (the receive group commit; the "
        "worker's claim; one read of the conversation and message rows; finish), and every statement is a hop to "
        "aiosqlite's thread and back (about 0.37 ms each); the bare relay spends about 2 ms. In order of effect:\n\n"
        "1. Deliver straight after the commit: the receive transaction knows the job it queued; in single-process "
        "mode lease it in that transaction and hand it to the worker in memory, with the conversation and message "
        "row, instead of waking the worker to run the claim query and a read transaction.\n"
        "2. One thread hop per transaction instead of one per statement on SQLite: run each unit of work as one "
        "sync function through `AsyncConnection.run_sync` (the same Core statements).\n"
        "3. The throughput work of the next benchmark: until one process handles well over 200 messages a second, "
        "the 200/s rows measure a queue, not the bot's overhead."
    ),
    "inbound": (
        "Profiles: `docs/profiles/inbound-sqlite.md`, `inbound-postgresql.md` (taken before commit daf0c7d). The "
        "CPU mostly waits on the database: round trips, not computation. Done so far: group commit (concurrent "
        "receives share one transaction, one savepoint each, every webhook answered only after the commit; one "
        "transaction per getUpdates answer), one duplicate check per group, no second conversation read, no "
        "`touch` for a new conversation: 1.4-1.7x. A message still costs about 11 statements (two of them its "
        "savepoint, three the routing hooks') at about 0.37 ms each on SQLite's worker thread. In order of "
        "effect:\n\n"
        "1. SQLite: run the whole group as one sync function through `run_sync`: one thread hop per group instead "
        "of one per statement.\n"
        "2. Store a group without savepoints first and fall back to one savepoint per message only when something "
        "fails.\n"
        "3. Let the routing hook (`bot/usecases/triage.py`) reuse the conversation `_receive` already loaded, and "
        "write the identity as one INSERT ... ON CONFLICT ... RETURNING.\n"
        "4. The webhook route is slower than `receive` alone: every commit wakes the delivery worker, which runs its "
        "claim query at once. Coalesce wake-ups (one claim per few milliseconds at most); the claim itself no "
        "longer scans delivered jobs (see the delivery queue benchmark).\n\n"
        "Issue 12 also asks for the benchmark itself to change: the in-process row with the routing hooks on (it "
        "runs `bench.common.conversations_service`, which builds `Triage` as the runtime does, but with a config of "
        "no categories, so the hooks have little to do), and beside it as the ceiling raw sqlite3 "
        "group commits of the same size with `synchronous=FULL`, alternated with the bot; that is not done yet, so "
        "the baseline column is still SQLAlchemy's one-row commits."
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
        "Closed on PostgreSQL by planning every query with its actual words (`plan_cache_mode=force_custom_plan`, "
        "set by `bot/store/engine.py`): p95 went from 365 ms to 25 ms. Before, PostgreSQL switched a prepared "
        "statement to a generic plan after its fifth execution, and `history('payment failed')` took 460-560 ms "
        "from the 6th call on. A miss now would most likely be a one- or two-character word found nowhere on "
        "SQLite (a scan of about 270 ms at 1,000,000 messages: trigrams cannot hold such words)."
    ),
}
