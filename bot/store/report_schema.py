"""Indexes that reports read the archive by (migration 0010): conversations by when they opened and closed, and
surveys by when they were asked, so a 90-day report reads its period and not the whole archive."""

from __future__ import annotations

from sqlalchemy import Index

from bot.store.schema import conversations
from bot.store.toolkit_schema import surveys

conversations_opened_at = Index("ix_conversations_opened_at", conversations.c.opened_at)
conversations_closed_at = Index("ix_conversations_closed_at", conversations.c.closed_at)
surveys_asked_at = Index("ix_surveys_asked_at", surveys.c.asked_at)
