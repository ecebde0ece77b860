"""The core knows channels only through the seam: a second channel beside Telegram works the same way, within the
limits it declares, and nothing in the core names it."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.models import Rate
from tests.conftest import BOT_YAML, Bot, BotFactory, all_text, wait_until
from tests.fakes.memory_channel import LIMITS, MemoryConnector, MemorySettings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def two_channels(bot_factory: BotFactory) -> AsyncIterator[Bot]:
    yaml = {**BOT_YAML, "ask_category": True, "replies": {"author": "name"}}  # the memory channel shows authors
    async with bot_factory(bot_yaml=yaml, channels={"memory": MemorySettings()}) as bot:
        yield bot


def memory(bot: Bot) -> MemoryConnector:
    connector = bot.rt.connectors["memory"]
    assert isinstance(connector, MemoryConnector)
    return connector


async def test_a_second_channel_opens_threads_and_gets_replies_like_telegram(two_channels: Bot) -> None:
    bot, channel = two_channels, memory(two_channels)
    await channel.says("visitor-1", "Hello from the other channel")
    bot.telegram.push_text(4242, "Hello from Telegram")
    thread = await bot.thread_for_address("memory", "visitor-1")
    header = all_text(bot.slack.message(*thread) or {})
    assert "via Memory" in header and "Mina" in header
    await bot.thread_text(thread, "Hello from the other channel")
    await bot.thread_for(4242)

    await bot.staff_reply(thread, "Hi! *Bold* news: it ships <https://example.com/t|today>")
    await wait_until(lambda: any("Bold" in t for t in channel.texts("visitor-1")), what="the reply delivered")
    reply = [d for d in channel.delivered if d.address == "visitor-1" and "Bold" in str(d.body)][-1]
    assert reply.body == "Hi! Bold news: it ships today (https://example.com/t)"  # rich text, rendered its way
    assert reply.author == "Jiwoo"  # who answered travels with the reply, shown the channel's own way
    assert bot.telegram.sent_texts(4242)[-1] != reply.body  # nothing crossed channels


async def test_category_buttons_fit_the_data_a_channel_s_buttons_can_carry(two_channels: Bot) -> None:
    bot, channel = two_channels, memory(two_channels)
    await channel.says("visitor-2", "a question")
    await wait_until(lambda: any(d.buttons for d in channel.delivered), what="the category buttons")
    offered = next(d for d in channel.delivered if d.buttons)
    data = [button[1] for row in offered.buttons for button in row]
    assert data and all(len(d.encode()) <= LIMITS.button_data for d in data)
    outcome = await channel.taps("visitor-2", data[0])
    assert outcome.status == "chosen"
    conversation = next(c for c in await bot.rt.service.open_inquiries() if c.address == "visitor-2")
    assert conversation.category == "billing"


async def test_a_channel_whose_buttons_carry_too_little_is_offered_none(bot_factory: BotFactory) -> None:
    tight = MemorySettings(limits=_with(LIMITS, button_data=8))
    async with bot_factory(bot_yaml={**BOT_YAML, "ask_category": True}, channels={"memory": tight}) as bot:
        channel = memory(bot)
        await channel.says("visitor-3", "a question")
        await bot.thread_for_address("memory", "visitor-3")
        await bot.idle()
        assert not any(d.buttons for d in channel.delivered)


async def test_each_channel_is_paced_at_the_rate_it_declares(bot_factory: BotFactory) -> None:
    async with bot_factory(production_pacing=True, channels={"memory": MemorySettings()}) as bot:
        rates = bot.rt.worker.pacer.rates
        assert rates["memory"] == LIMITS.per_chat and rates["telegram"] == Rate(1.0, 3)
        assert bot.rt.worker.pacer.family_rates == {"telegram": Rate(30.0, 30)}


async def test_a_staff_file_over_the_channel_s_limit_is_refused_and_the_thread_says_so(two_channels: Bot) -> None:
    bot, channel = two_channels, memory(two_channels)
    await channel.says("visitor-4", "send me the manual")
    thread = await bot.thread_for_address("memory", "visitor-4")
    big = bot.slack.host_file("manual.pdf", b"%PDF" + b"x" * LIMITS.file_size, "application/pdf")
    await bot.staff_reply(thread, "here it is", files=[big])
    text = await bot.thread_text(thread, "did not reach the customer")
    assert "manual.pdf is over the 1 KB Memory lets a bot send" in text
    assert not [d for d in channel.delivered if d.part == "file"]


def _with(limits: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(limits, **changes)


# --- the architecture: one-way dependencies, no channel named in the core -------------------------------------------

LAYERS = ["domain", "config", "store", "usecases", "delivery", "slack", "handlers"]
TOP = {"runtime", "web", "__main__", "deployment", "cli"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bot."))
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_dependencies_point_one_way_and_connectors_know_nothing_of_slack_or_the_use_cases() -> None:
    problems = []
    for path in (ROOT / "bot").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        here = path.relative_to(ROOT / "bot").parts[0].removesuffix(".py")
        for module in _imports(path):
            there = _package(module)
            if here == "connectors":
                if there in ("usecases", "delivery", "slack", "handlers", "store") or there in TOP:
                    problems.append(f"{path.relative_to(ROOT)} imports {module}")
                continue
            if here in LAYERS and there in LAYERS and LAYERS.index(there) > LAYERS.index(here):
                problems.append(f"{path.relative_to(ROOT)} imports {module} (a higher layer)")
            if here in LAYERS and there in TOP:
                problems.append(f"{path.relative_to(ROOT)} imports {module} (the composition root)")
            seam = ("bot.connectors.base", "bot.connectors.registry")
            if module.startswith("bot.connectors.") and module not in seam and here not in TOP:
                problems.append(f"{path.relative_to(ROOT)} imports the channel package {module}")
    assert problems == []


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in (ROOT / "bot").rglob("*.py")
        if "migrations" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert long == []


# The YAML file's refusal of a secret says which variable the secret belongs in, Telegram's among them.
_NAMES_ALLOWED = {"config/document.py"}


def _code_tokens(path: Path) -> list[tuple[int, str]]:
    """Names and string literals of a module's code, without comments and docstrings."""
    source = path.read_text(encoding="utf-8")
    docstrings = {  # a string standing as a statement documents what precedes or encloses it
        node.value.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [
        (tok.start[0], tok.string)
        for tok in tokens
        if tok.type in (tokenize.NAME, tokenize.STRING) and tok.start[0] not in docstrings
    ]


CHANNEL_NAMES = ("telegram", "website")


def test_the_core_names_no_channel() -> None:
    """Outside bot/connectors, no code names Telegram or the website: everything channel-specific is behind the
    seam."""
    named = []
    for path in (ROOT / "bot").rglob("*.py"):
        relative = path.relative_to(ROOT / "bot")
        if relative.parts[0] == "connectors" or "migrations" in relative.parts or str(relative) in _NAMES_ALLOWED:
            continue
        named += [
            f"{relative}:{line}: {token}"
            for line, token in _code_tokens(path)
            if any(name in token.lower() for name in CHANNEL_NAMES)
        ]
    assert named == []

