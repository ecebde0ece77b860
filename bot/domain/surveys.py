"""Satisfaction surveys as facts: the rating buttons' data, which conversations are asked (a sample decided by a
hash of the conversation id, so every process and every test decides alike), and what the customer reads, in
Korean and English.

A rating button carries ``rate:<conversation>:<1-5>``: at most 26 bytes for any id, within Telegram's 64.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.domain.ids import parse_id

RATE_PREFIX = "rate:"
RATINGS = (1, 2, 3, 4, 5)


def rate_data(conversation_id: int, rating: int) -> str:
    return f"{RATE_PREFIX}{conversation_id}:{rating}"


def parse_rate(data: str) -> tuple[int, int] | None:
    """(conversation id, rating) from a rating button's data; None for anything the bot did not write."""
    if not data.startswith(RATE_PREFIX):
        return None
    conversation, _, rating = data[len(RATE_PREFIX) :].partition(":")
    conversation_id = parse_id(conversation)
    if conversation_id is None or rating not in {str(r) for r in RATINGS}:
        return None
    return conversation_id, int(rating)


def in_sample(conversation_id: int, percent: int) -> bool:
    """Whether a closed conversation is among the ``percent`` asked: the same answer everywhere, every time."""
    if percent >= 100:
        return True
    digest = hashlib.sha256(f"survey:{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


@dataclass(frozen=True)
class SurveyTexts:
    question: str  # above the five buttons
    labels: tuple[str, ...]  # the buttons, 1 to 5
    rated: str  # the short notice a tap shows
    ask_comment: str  # sent after a rating, when a comment may follow
    commented: str  # after the comment
    already_rated: str  # a second press: the first rating stands
    too_late: str  # a press after the survey closed


_LABELS = ("1 ★", "2 ★", "3 ★", "4 ★", "5 ★")

SURVEY_TEXTS = {
    "ko": SurveyTexts(
        question="상담은 만족스러우셨나요?\n1점(아쉬워요)부터 5점(아주 좋아요)까지 골라 주세요.",
        labels=_LABELS,
        rated="평가해 주셔서 감사합니다!",
        ask_comment="감사합니다! 더 하실 말씀이 있으면 이 채팅에 편하게 남겨 주세요. (선택 사항이에요)",
        commented="소중한 의견 감사합니다. 팀에 잘 전달할게요.",
        already_rated="이미 평가해 주셨어요. 감사합니다!",
        too_late="죄송하지만 이 설문은 마감되었어요. 그래도 감사합니다!",
    ),
    "en": SurveyTexts(
        question="How did we do?\nPlease rate this conversation from 1 (poor) to 5 (excellent).",
        labels=_LABELS,
        rated="Thank you for your rating!",
        ask_comment="Thank you! If you'd like to tell us more, just write it here. (Entirely optional.)",
        commented="Thank you for your feedback, we've passed it on to the team.",
        already_rated="You've already rated this conversation. Thank you!",
        too_late="Sorry, this survey has closed. Thank you all the same!",
    ),
}


def survey_texts(language: str) -> SurveyTexts:
    return SURVEY_TEXTS.get(language, SURVEY_TEXTS["en"])
