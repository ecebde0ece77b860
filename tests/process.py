"""Run the bot as a real process (``python -m bot``), to kill it with SIGKILL or run several side by side."""

from __future__ import annotations

import asyncio
import os
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


def bot_env(
    tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, database_url: str, bot_yaml: dict[str, Any], **extra: str
) -> dict[str, str]:
    """The environment of a bot process pointed at the fakes; the YAML goes into a file as in production."""
    config_file = tmp_path / "bot.yaml"
    config_file.write_text(yaml.safe_dump(bot_yaml, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "DATABASE_"))}
    env.update(fake_env(slack, telegram, database_url))
    env.update({"BOT_CONFIG": str(config_file), "PYTHONUNBUFFERED": "1", **extra})
    return env


class BotProcess:
    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = {**env, "PORT": str(port)}
        self.port = port
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def launch(self) -> None:
        """Start the process without waiting for it to become healthy."""
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        log.close()

    async def health(self) -> tuple[int, dict[str, Any]] | None:
        """The status and JSON of /healthz, or None while nothing answers."""
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/healthz") as response:
                return response.status, await response.json()
        except (aiohttp.ClientError, ValueError):
            return None

    async def start(self, timeout: float = 30) -> None:
        await self.launch()
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
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                await self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""
