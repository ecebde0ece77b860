"""The YAML sections that shape conversations (replies, resurface, after_close, reactions, per-language texts): their
defaults, the forms they accept, and a one-line error naming the key for each mistake."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, parse_bot_config
from bot.config.behaviour import DEFAULT_THANKS
from bot.domain.i18n import SIGNATURES, TextBook, customer_texts, pick_language


def minimal(**top: Any) -> dict[str, Any]:
    return {"slack": {"inbox_channel": "C0INBOX"}, **top}


def error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_bot_config(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_file_without_the_sections_behaves_as_documented() -> None:
    cfg = parse_bot_config(minimal())
    assert (cfg.replies.author, cfg.replies.send, cfg.replies.send_prefix) == ("name", "every_reply", "send:")
    assert dict(cfg.replies.signature) == SIGNATURES
    assert (cfg.resurface.after_minutes, cfg.resurface.broadcast) == (60, False)
    assert (cfg.after_close.thanks, cfg.after_close.within_minutes) == (DEFAULT_THANKS, 1440)
    assert (cfg.reactions.claim, cfg.reactions.close) == (("eyes",), ("white_check_mark",))
    assert dict(cfg.texts) == {}


def test_every_form_the_sections_accept() -> None:
    cfg = parse_bot_config(
        minimal(
            replies={"author": "signature", "signature": {"ko": " — {name}, 스텔라랩 "}, "send": "explicit",
                     "send_prefix": " >> "},
            resurface={"after_minutes": False, "broadcast": True},
            after_close={"thanks": ["Thanks!", "Thanks!", "ㄳ"], "within_minutes": 30},
            reactions={"claim": [":raising_hand:", "eyes"], "close": False},
        )
    )  # fmt: skip
    assert cfg.replies.author == "signature" and cfg.replies.explicit and cfg.replies.send_prefix == ">>"
    assert dict(cfg.replies.signature) == {"ko": "— {name}, 스텔라랩", "en": SIGNATURES["en"]}
    assert (cfg.resurface.after_minutes, cfg.resurface.broadcast) == (None, True)
    assert (cfg.after_close.thanks, cfg.after_close.within_minutes) == (("Thanks!", "ㄳ"), 30)
    assert (cfg.reactions.claim, cfg.reactions.close) == (("raising_hand", "eyes"), ())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal(replies="name"), "replies: a mapping with author, signature, send and/or send_prefix"),
        (minimal(replies={"author": "nick"}), "replies.author: one of name, signature, none"),
        (minimal(replies={"send": "some"}), "replies.send: one of every_reply, explicit"),
        (
            minimal(replies={"send_prefix": ""}),
            "replies.send_prefix: a non-empty text of at most 32 characters, e.g. send:",
        ),
        (
            minimal(replies={"send_prefix": "note:"}),
            "replies.send_prefix: a prefix other than note: and private:, which keep a reply internal",
        ),
        (
            minimal(replies={"signature": {"jp": "x"}}),
            "replies.signature.jp: unknown language (expected one of: ko, en)",
        ),
        (
            minimal(replies={"signature": "x" * 201}),
            "replies.signature: a text of at most 200 characters ({name} is who wrote)",
        ),
        (
            minimal(replies={"sign": "x"}),
            "replies.sign: unknown key (expected one of: author, signature, send, send_prefix)",
        ),
        (
            minimal(resurface={"after_minutes": 0}),
            "resurface.after_minutes: a whole number of minutes from 1 to 43200",
        ),
        (minimal(resurface={"broadcast": "yes"}), "resurface.broadcast: true or false"),
        (
            minimal(after_close={"thanks": "thanks"}),
            "after_close.thanks: a list of at most 100 short thanks (or [] for none)",
        ),
        (
            minimal(after_close={"thanks": ["ok", ""]}),
            "after_close.thanks[1]: a non-empty text of at most 50 characters",
        ),
        (
            minimal(after_close={"within_minutes": -5}),
            "after_close.within_minutes: a whole number of minutes from 1 to 43200",
        ),
        (
            minimal(reactions={"claim": "eyes!"}),
            "reactions.claim: an emoji name as Slack writes it, e.g. eyes or white_check_mark",
        ),
        (minimal(reactions={"claim": "eyes", "close": ["eyes"]}), "reactions.close: emoji other than claim's (eyes)"),
        (minimal(texts={"greeting": {"ko": ""}}), "texts.greeting.ko: a non-empty text of at most 4096 characters"),
        (minimal(texts={"greeting": {"fr": "Salut"}}), "texts.greeting.fr: unknown language (expected one of: ko, en)"),
        (minimal(texts={"greeting": {}}), "texts.greeting: a text, or one per language (ko, en)"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_naming_the_key(data: dict[str, Any], message: str) -> None:
    assert error(data) == message


def test_a_single_text_override_applies_to_every_language_a_mapping_to_its_own() -> None:
    cfg = parse_bot_config(
        minimal(
            language="en",
            texts={"greeting": "Welcome!", "auto_reply": {"ko": "접수했어요."}, "after_hours": {"en": "Away."}},
        )
    )
    book = TextBook(cfg.language, cfg.texts)
    assert book("ko").greeting == book("en").greeting == "Welcome!"  # as before: one text for everyone
    assert book("ko").auto_reply == "접수했어요." and book("en").auto_reply == customer_texts("en").auto_reply
    assert book("en").after_hours == "Away." and book("ko").after_hours == customer_texts("ko").after_hours
    assert cfg.greeting == "Welcome!" and cfg.after_hours_reply == "Away." and cfg.auto_reply is None
    off = TextBook("ko", parse_bot_config(minimal(texts={"auto_reply": False})).texts)
    assert off("ko").auto_reply == off("en").auto_reply == ""


def test_a_team_s_after_hours_reply_may_be_one_per_language() -> None:
    hours = {"default": {"timezone": "UTC", "weekly": {"mon": "09:00-17:00"}, "auto_reply": {"ko": "퇴근했어요."}}}
    cfg = parse_bot_config(minimal(business_hours=hours))
    team = cfg.business_hours["default"]
    assert team.reply_in("ko") == "퇴근했어요." and team.reply_in("en") is None
    single = parse_bot_config(minimal(business_hours={"default": {**hours["default"], "auto_reply": "Closed."}}))
    assert single.business_hours["default"].reply_in("ko") == "Closed."


@pytest.mark.parametrize(
    ("chosen", "reported", "expected"),
    [(None, "ko", "ko"), (None, "ko-KR", "ko"), (None, "en-US", "en"), (None, "EN_gb", "en"), (None, "fr", "ja"),
     (None, None, "ja"), ("en", "ko", "en"), ("xx", "ko", "ko")],
)  # fmt: skip
def test_a_customer_reads_the_language_staff_chose_else_their_own_else_the_default(
    chosen: str | None, reported: str | None, expected: str
) -> None:
    assert pick_language(chosen, reported, "ja") == expected
