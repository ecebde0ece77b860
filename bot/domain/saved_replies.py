"""Saved replies as the team writes them: the fields' rules, the variables a body may use, which body a customer
reads, and the entries of a seed or an import file. Pure: no Slack, no database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VARIABLES = ("customer_name", "staff_name", "conversation_id")
TITLE_CHARS = 150  # the column, and a Slack header's limit
BODY_CHARS = 3000  # a plain_text_input holds 3,000 characters: the preview must fit the body it edits
MAX_TAGS = 20
TAG_CHARS = 64
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Entry:
    """A saved reply's fields, checked: what a form, a seed or an import adds or changes."""

    title: str
    body_ko: str
    body_en: str
    tags: tuple[str, ...]

    def fields(self) -> dict[str, Any]:
        return {"title": self.title, "body_ko": self.body_ko, "body_en": self.body_en, "tags": list(self.tags)}


def parse_tags(text: str | None) -> tuple[str, ...]:
    """Tags as typed in a form: separated by commas or spaces, kept in order, each once."""
    seen: dict[str, None] = {}
    for word in re.split(r"[,\s]+", text or ""):
        word = word.strip()
        if word and word.lower() not in {k.lower() for k in seen}:
            seen[word] = None
    return tuple(seen)


def check_entry(title: Any, body_ko: Any, body_en: Any, tags: Any) -> Entry | dict[str, str]:
    """The entry, or for each field that is wrong ("title", "body_ko", "body_en", "tags") what to fix."""
    errors: dict[str, str] = {}
    title_text = title.strip() if isinstance(title, str) else ""
    if not title_text:
        errors["title"] = "Give the saved reply a title."
    elif len(title_text) > TITLE_CHARS:
        errors["title"] = f"A title has at most {TITLE_CHARS} characters ({len(title_text)} now)."
    bodies: dict[str, str] = {}
    for key, value in (("body_ko", body_ko), ("body_en", body_en)):
        text = value.strip() if isinstance(value, str) else ""
        if value is not None and not isinstance(value, str):
            errors[key] = "A body is text."
        elif len(text) > BODY_CHARS:
            errors[key] = f"A body has at most {BODY_CHARS} characters ({len(text)} now)."
        elif unknown := unknown_variables(text):
            known = ", ".join("{" + v + "}" for v in VARIABLES)
            errors[key] = f"Unknown variable {', '.join('{' + u + '}' for u in unknown)}; use {known}."
        bodies[key] = text
    if not bodies["body_ko"] and not bodies["body_en"] and "body_ko" not in errors and "body_en" not in errors:
        errors["body_ko"] = "Write the reply in Korean, in English, or both."
    if isinstance(tags, str):
        tag_list = parse_tags(tags)
    elif isinstance(tags, (list, tuple)) and all(isinstance(t, str) for t in tags):
        tag_list = parse_tags(",".join(tags))
    elif tags is None:
        tag_list = ()
    else:
        tag_list = ()
        errors["tags"] = "Tags are words separated by commas."
    if len(tag_list) > MAX_TAGS:
        errors["tags"] = f"At most {MAX_TAGS} tags."
    elif any(len(t) > TAG_CHARS for t in tag_list):
        errors["tags"] = f"A tag has at most {TAG_CHARS} characters."
    if errors:
        return errors
    return Entry(title=title_text, body_ko=bodies["body_ko"], body_en=bodies["body_en"], tags=tag_list)


def unknown_variables(text: str) -> list[str]:
    return sorted({name for name in _VARIABLE.findall(text) if name not in VARIABLES})


def body_for(body_ko: str, body_en: str, language: str) -> tuple[str, str]:
    """The body a customer reading ``language`` gets, and its language: theirs, else the other one."""
    if language == "en":
        return ("en", body_en) if body_en else ("ko", body_ko)
    return ("ko", body_ko) if body_ko else ("en", body_en)


def fill(body: str, values: Mapping[str, str]) -> str:
    """The body with its variables replaced (one pass: a value that looks like a variable stays as it is)."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def entries_from(data: Any, source: str) -> list[Entry]:
    """The entries of a seed (the YAML's ``saved_replies:``) or an import file (a list, or {"saved_replies": [...]}
    as export writes it); a ValueError names the first wrong entry and what is wrong with it."""
    if isinstance(data, Mapping) and "saved_replies" in data:
        data = data["saved_replies"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError(f"{source}: a list of saved replies (title, body_ko, body_en, tags)")
    entries: list[Entry] = []
    titles: set[str] = set()
    for i, item in enumerate(data):
        where = f"{source}[{i}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: a mapping with title, body_ko, body_en, tags")
        extra = sorted(set(item) - {"id", "title", "body_ko", "body_en", "tags"})
        if extra:
            raise ValueError(f"{where}: unknown key {extra[0]!r} (title, body_ko, body_en, tags)")
        checked = check_entry(item.get("title"), item.get("body_ko"), item.get("body_en"), item.get("tags"))
        if isinstance(checked, dict):
            field, problem = next(iter(checked.items()))
            raise ValueError(f"{where}.{field}: {problem}")
        if checked.title.lower() in titles:
            raise ValueError(f"{where}.title: {checked.title!r} appears twice")
        titles.add(checked.title.lower())
        entries.append(checked)
    return entries
