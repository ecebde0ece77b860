"""Which category an inquiry belongs to, from its words: pure, so it is tested without Slack or a database."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.models import Category


def matches(text: str, category: Category) -> bool:
    """Whether ``text`` contains one of the category's keywords (any case) or matches one of its patterns."""
    folded = text.casefold()
    if any(keyword.casefold() in folded for keyword in category.keywords if keyword):
        return True
    return any(pattern.search(text) for pattern in category.patterns)


def match_rules(text: str, categories: Mapping[str, Category]) -> str | None:
    """The matching category with the highest priority (config order among equals); None when no rule matches."""
    best: tuple[int, str] | None = None
    for key, category in categories.items():
        if (best is None or category.priority > best[0]) and matches(text, category):
            best = (category.priority, key)
    return best[1] if best else None


def categorize(text: str, categories: Mapping[str, Category], default: str | None = None) -> str | None:
    """The category the rules pick for ``text`` (keywords and patterns, by priority), else ``default``."""
    return match_rules(text, categories) or default

