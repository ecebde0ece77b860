"""Errors the use cases raise for the person who asked: the message says why, in words for Slack."""

from __future__ import annotations


class CrmError(Exception):
    """Something staff asked for that cannot be done; the message says why."""
