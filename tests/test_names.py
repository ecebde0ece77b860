"""Which names staff can read: blank-looking messenger names are replaced by the @username or the channel's id."""

from __future__ import annotations

import pytest

from bot.domain.names import is_visible, readable_name

INVISIBLE = {
    "empty": "",
    "spaces": "   ",
    "tab and newline": "\t\n",
    "no-break and ideographic space": "\u00a0\u3000",
    "Hangul filler": "\u3164",
    "Hangul choseong filler": "\u115f",
    "Hangul jungseong filler": "\u1160",
    "halfwidth Hangul filler": "\uffa0",
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "left-to-right mark": "\u200e",
    "right-to-left override": "\u202e",
    "tag character": "\U000e0041",
    "combining acute accent alone": "\u0301",
    "combining grapheme joiner": "\u034f",
    "variation selector alone": "\ufe0f",
    "braille blank": "\u2800",
    "a mix of all": "\u3164 \u200b\u0301\ufeff\u2060\u3164",
}

VISIBLE = {
    "latin": "Min Kim",
    "hangul": "김민",
    "filler around a letter": "\u3164M\u3164",
    "accented letter": "e\u0301",
    "emoji": "😀",
    "emoji family (joined)": "👨\u200d👩\u200d👧",
    "punctuation": ".",
    "a character newer than this Python": "\U0001fae8",
}


@pytest.mark.parametrize("name", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_blank_looking_names_are_not_visible(name: str) -> None:
    assert not is_visible(name)


@pytest.mark.parametrize("name", VISIBLE.values(), ids=VISIBLE.keys())
def test_names_with_something_to_see_are_visible(name: str) -> None:
    assert is_visible(name)


def test_a_readable_name_falls_back_to_the_username_then_to_the_fallback() -> None:
    assert readable_name("Min Kim", "minkim", "Telegram user 1") == "Min Kim"
    assert readable_name("\u3164", "minkim", "Telegram user 1") == "@minkim"
    assert readable_name("\u200b\u200d", None, "Telegram user 1") == "Telegram user 1"
    assert readable_name("", "", "Telegram user 1") == "Telegram user 1"
