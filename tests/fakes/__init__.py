"""Local fake Slack and Telegram servers that the real client libraries talk to in tests."""

from __future__ import annotations

from . import slack_requests
from .faults import Call, Decision, FakeServer, FaultRules, UploadedFile
from .slack import FakeSlack
from .telegram import FakeTelegram, ParseError, parse_entities, utf16_len

__all__ = [
    "Call",
    "Decision",
    "FakeServer",
    "FakeSlack",
    "FakeTelegram",
    "FaultRules",
    "ParseError",
    "UploadedFile",
    "parse_entities",
    "slack_requests",
    "utf16_len",
]
