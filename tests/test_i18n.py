"""Customer-facing text: both languages, overrides, a disabled acknowledgement, unknown languages."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.domain.i18n import LANGUAGES, CustomerTexts, customer_texts

HANGUL = re.compile(r"[가-힣]")


def test_languages() -> None:
    assert LANGUAGES == ("ko", "en")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_text_is_present_and_short(language: str) -> None:
    texts = customer_texts(language)
    assert isinstance(texts, CustomerTexts)
    for field in dataclasses.fields(CustomerTexts):
        value = getattr(texts, field.name)
        assert value.strip(), field.name
        assert len(value) < 300, field.name  # short enough to read at a glance on a phone
        assert "<" not in value and "*" not in value, field.name  # plain text: no markup is parsed


def test_korean_texts_are_korean_and_polite() -> None:
    texts = customer_texts("ko")
    for field in dataclasses.fields(CustomerTexts):
        value = getattr(texts, field.name)
        assert HANGUL.search(value), field.name
        # 존댓말: every sentence ends politely, none in 반말
        assert re.search(r"(니다|세요|요)[.!?]?\s*$", value.rstrip(" 😊")), field.name
    assert "20MB" in texts.too_large


def test_english_texts_are_english() -> None:
    texts = customer_texts("en")
    for field in dataclasses.fields(CustomerTexts):
        assert not HANGUL.search(getattr(texts, field.name)), field.name
    assert "20 MB" in texts.too_large
    assert "text" in texts.unsupported and "photo" in texts.unsupported and "file" in texts.unsupported


def test_languages_differ() -> None:
    ko, en = customer_texts("ko"), customer_texts("en")
    for field in dataclasses.fields(CustomerTexts):
        assert getattr(ko, field.name) != getattr(en, field.name)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_overrides_replace_only_what_is_given(language: str) -> None:
    default = customer_texts(language)
    greeted = customer_texts(language, greeting="Welcome to Acme support!")
    assert greeted.greeting == "Welcome to Acme support!"
    assert greeted.auto_reply == default.auto_reply
    assert greeted.unsupported == default.unsupported
    assert greeted.too_large == default.too_large

    acked = customer_texts(language, auto_reply="접수되었습니다.")
    assert acked.auto_reply == "접수되었습니다."
    assert acked.greeting == default.greeting

    both = customer_texts(language, greeting="A", auto_reply="B")
    assert (both.greeting, both.auto_reply) == ("A", "B")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_none_keeps_the_default(language: str) -> None:
    assert customer_texts(language, greeting=None, auto_reply=None) == customer_texts(language)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_disabled_auto_reply(language: str) -> None:
    texts = customer_texts(language, auto_reply="")
    assert texts.auto_reply == ""
    assert texts.greeting == customer_texts(language).greeting


def test_overrides_do_not_change_the_defaults() -> None:
    before = customer_texts("ko")
    customer_texts("ko", greeting="X", auto_reply="")
    assert customer_texts("ko") == before


def test_texts_are_frozen() -> None:
    texts = customer_texts("en")
    with pytest.raises(dataclasses.FrozenInstanceError):
        texts.greeting = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("language", ["jp", "", "KO", "ko-KR", "english"])
def test_unknown_language(language: str) -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        customer_texts(language)
