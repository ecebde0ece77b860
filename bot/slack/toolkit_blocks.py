"""What the team's toolkit adds to a conversation's first message: its satisfaction rating (asked, rated, the
customer's comment) and its tags, with a multi-select over the configured list in block ``tags:<id>``.

Block Kit limits kept: 100 options at most, option texts of 75 characters, a context line within 3,000.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.surveys import stars
from bot.slack.text import escape
from bot.store.surveys import ANSWERED, ASKED, Survey

TAGS_SELECT = "conversation_tags"
TAGS_PREFIX = "tags:"
COMMENT_SHOWN = 300  # characters of a comment on the first message (the whole of it is in the thread)


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def survey_line(survey: Survey | None) -> list[dict[str, Any]]:
    """The rating as the first message shows it; nothing before the question went out."""
    if survey is None:
        return []
    if survey.status == ASKED:
        return [_context("*Satisfaction:* asked, no answer yet")]
    if survey.status not in ANSWERED or survey.rating is None:
        return []
    text = f"*Satisfaction:* {stars(survey.rating)} {survey.rating}/5"
    if survey.comment:
        comment = survey.comment if len(survey.comment) <= COMMENT_SHOWN else survey.comment[:COMMENT_SHOWN] + "…"
        text += f" · “{escape(comment)}”"
    return [_context(text)]


def _option(tag: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": tag[:75]}, "value": tag[:150]}


def tag_blocks(conversation_id: int, names: Sequence[str], current: Mapping[str, str]) -> list[dict[str, Any]]:
    """The tags line (each set by a rule says so) and the menu to change them; nothing without a tag list."""
    blocks: list[dict[str, Any]] = []
    if current:
        shown = [f"{escape(t)} (rule)" if actor.startswith("rule:") else escape(t) for t, actor in current.items()]
        blocks.append(_context(f"*Tags:* {', '.join(shown)}"))
    if not names:
        return blocks
    options = [_option(t) for t in names[:100]]
    menu: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": TAGS_SELECT,
        "placeholder": {"type": "plain_text", "text": "Tags…"},
        "options": options,
    }
    initial = [o for o in options if o["value"] in current]
    if initial:
        menu["initial_options"] = initial
    blocks.append({"type": "actions", "block_id": f"{TAGS_PREFIX}{conversation_id}", "elements": [menu]})
    return blocks
