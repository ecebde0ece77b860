"""py-spy attached to a running process for a measured window, summarised into docs/profiles/NAME.md.

py-spy is a sampling profiler outside the target (``pip install py-spy``); it is only needed with ``--profile``.
Summaries list where the samples were: own time per function and time spent under each function, bot code first.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from bench.common import PROFILES, ROOT, log

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


class Profile:
    """``async with Profile(pid, "relay-customer-200", "what was running")``: samples the pid while inside."""

    def __init__(self, pid: int, name: str, workload: str, *, rate: int = 250) -> None:
        self.pid = pid
        self.name = name
        self.workload = workload
        self.rate = rate
        self.raw = PROFILES / f"{name}.folded"
        self.proc: asyncio.subprocess.Process | None = None
        self.seconds = 0.0

    async def __aenter__(self) -> Profile:
        exe = py_spy()
        if exe is None:
            log("py-spy is not installed (pip install py-spy): no profile taken")
            return self
        PROFILES.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            exe, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--format", "raw",
            "--nonblocking", "-o", str(self.raw),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self.seconds = time.monotonic()
        await asyncio.sleep(0.5)  # py-spy needs a moment to attach
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.seconds = time.monotonic() - self.seconds
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 20)
        if self.proc.returncode is None:
            self.proc.kill()
        if self.raw.exists():
            summary = summarise(self.raw.read_text(), self.name, self.workload, self.seconds)
            (PROFILES / f"{self.name}.md").write_text(summary)
            _trim(self.raw)
            log(f"profile written to {(PROFILES / (self.name + '.md')).relative_to(ROOT)}")
        else:
            err = (await self.proc.stderr.read()).decode(errors="replace") if self.proc.stderr else ""
            log(f"py-spy wrote no profile: {err.strip()[:300]}")


def _trim(raw: Path, keep: int = 150) -> None:
    """Keep the heaviest stacks only, so the folded file stays small enough to commit."""
    stacks = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((int(count), stack))
    stacks.sort(reverse=True)
    raw.write_text("".join(f"{stack} {count}\n" for count, stack in stacks[:keep]))


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match["file"]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    file = file.replace(str(ROOT) + "/", "")
    return f"{match['func']} ({file}{':' + match['line'] if match['line'] else ''})"


def _key(frame: str) -> str:
    """A frame without its line number, so one function's samples add up."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return _short(f"{match['func']} ({match['file']})")


def summarise(folded: str, name: str, workload: str, seconds: float, top: int = 25) -> str:
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    bot_under: Counter[str] = Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        own[_key(frames[-1])] += count
        seen = set()
        for frame in frames:
            key = _key(frame)
            if key in seen:
                continue
            seen.add(key)
            under[key] += count
            if key.split(" (", 1)[-1].startswith(("bot/", "tests/")):
                bot_under[key] += count
    if total == 0:
        return f"# Profile: {name}\n\nNo samples (the process was idle or py-spy could not attach).\n"

    def rows(counter: Counter[str]) -> str:
        return "\n".join(
            f"| {100 * n / total:5.1f}% | `{frame.replace('|', '/')}` |" for frame, n in counter.most_common(top)
        )

    return (
        f"# Profile: {name}\n\n"
        f"{workload}\n\n"
        f"Taken {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC. "
        f"py-spy {py_spy_version()} sampling the process at 250 Hz for {seconds:.1f} s (non-blocking), "
        f"{total} samples of non-idle time. Regenerate with `.venv/bin/python -m bench --profile ...`; the heaviest "
        f"stacks are in `{name}.folded` (flamegraph.pl or speedscope read it).\n\n"
        f"## Time under each function of the bot (inclusive)\n\n| share | function |\n|---:|---|\n{rows(bot_under)}\n\n"
        f"## Own time (where the CPU actually was)\n\n| share | function |\n|---:|---|\n{rows(own)}\n\n"
        f"## Time under each function, libraries included (inclusive)\n\n| share | function |\n|---:|---|\n"
        f"{rows(under)}\n"
    )


def py_spy_version() -> str:
    try:
        from importlib import metadata

        return metadata.version("py-spy")
    except Exception:
        return "?"
