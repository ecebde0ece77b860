"""threadbridge's benchmark suite: ``.venv/bin/python -m bench [NAME ...]`` (see docs/BENCHMARKS.md).

Every benchmark runs the real bot (as a process, ``python -m bot``, wherever the figure is about the process) against
the fake Slack and Telegram servers from ``tests/fakes`` on 127.0.0.1, and measures a baseline in the same run,
because absolute numbers on a shared 2-core machine drift from run to run.
"""
