"""Run the bot as a real process (``python -m bot``), to kill it with SIGKILL or run several side by side.

A child process gets an environment built from nothing (``child_env``) and runs in the test's own folder, never in
the repository, so neither the caller's variables nor a developer's ``.env`` can reach it. Every process started
here is recorded, and ``stop_all`` (run after each test) leaves none behind, whatever state it is in.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.conftest import fake_env
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")
"""All a child inherits from the caller: where programs are, the home folder, the locale, the temp folder."""
STOP_TIMEOUT = 10.0
"""Seconds a process gets to stop after SIGTERM before it is killed."""
RUN_MARK = "THREADBRIDGE_TEST_RUN"
RUN_ID = f"{os.getpid()}-{secrets.token_hex(4)}"
"""Every child of this test run carries RUN_MARK=RUN_ID, so the end of the run can find any left behind."""


def child_env(**values: str) -> dict[str, str]:
    """An environment for ``python -m bot``: ``values``, the few basics of ``PASSED_THROUGH``, and this checkout's
    code first on the path (the code under test, even where another copy of the package is installed)."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", RUN_MARK: RUN_ID})
    env.update(values)
    return env


def bot_env(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, database_url: str, bot_yaml: dict[str, Any], **extra: str
) -> dict[str, str]:
    """The environment of a bot process pointed at the fakes; the YAML goes into a file as in production."""
    config_file = tmp_path / "bot.yaml"
    config_file.write_text(yaml.safe_dump(bot_yaml, allow_unicode=True), encoding="utf-8")
    return child_env(**{**fake_env(slack, telegram, database_url), "BOT_CONFIG": str(config_file), **extra})


_running: list[BotProcess] = []


class BotProcess:
    """``python -m bot`` in ``cwd`` (default: the folder of its log, the test's tmp_path)."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log_path: Path,
        *,
        cwd: Path | None = None,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.env = {**env, "PORT": str(port)}
        self.port = port
        self.log_path = log_path
        self.cwd = cwd or log_path.parent
        self.stop_timeout = stop_timeout
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    async def launch(self) -> None:
        """Start the process without waiting for it to become healthy (stopped at teardown all the same)."""
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.cwd, env=self.env, stdout=log, stderr=log
            )
        _running.append(self)

    async def health(self) -> tuple[int, dict[str, Any]] | None:
        """The status and JSON of /healthz, or None while nothing answers."""
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/healthz") as response:
                return response.status, await response.json()
        except (aiohttp.ClientError, ValueError):
            return None

    async def start(self, timeout: float = 30) -> None:
        """Start and wait until /healthz answers 200; a process that does not get there is stopped, not left."""
        await self.launch()
        try:
            await self._healthy(timeout)
        except BaseException:
            await self.stop()
            raise

    async def _healthy(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"the bot did not become healthy in {timeout}s:\n{self.log()}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> bool:
        """SIGTERM, then SIGKILL if it is still there after ``stop_timeout``; True when SIGTERM was enough."""
        if self.proc is None or self.proc.returncode is not None:
            return True
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), self.stop_timeout)
            return True
        except TimeoutError:
            await self.kill()
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


async def stop_all() -> list[int]:
    """Stop every bot process a test started and left running (a test that failed before its own ``stop``);
    returns their pids."""
    left = [p for p in _running if p.proc is not None and p.proc.returncode is None]
    _running.clear()
    for process in left:
        await process.stop()
    return [p.pid for p in left if p.pid is not None]


def bot_processes_of_this_run() -> dict[int, str]:
    """Live processes started with this run's ``RUN_MARK`` in their environment (pid -> command line), read from
    /proc: found even when whatever started them has gone."""
    mark = f"{RUN_MARK}={RUN_ID}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if mark in environ and state != "Z":  # a zombie has exited already
            found[int(entry.name)] = " ".join(argv).strip()
    return found
