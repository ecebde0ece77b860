"""Customer-facing text in Korean and English.

Only what a customer reads lives here; staff-facing Slack text stays in English in the handlers. Each customer
reads the language of their own (``pick_language``: chosen by staff, else what their channel says of them, else
the team's default); the operator may override texts in the YAML file (`texts:`), for every language at once or
one language at a time (``TextBook``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "SIGNATURES", "CustomerTexts", "TextBook", "customer_texts", "pick_language"]


@dataclass(frozen=True)
class CustomerTexts:
    """Everything the bot itself says to a customer, in one language."""

    greeting: str  # answer to /start
    auto_reply: str  # sent once when a conversation opens; "" means send nothing
    unsupported: str  # for a message kind the bot cannot forward (poll, location, contact, ...)
    too_large: str  # for a file over the 20 MB the Bot API lets a bot download
    after_hours: str  # sent once per conversation when the customer writes outside business hours
    choose_category: str  # above the category buttons offered when a conversation opens
    category_chosen: str  # the short notice after the customer taps a category
    conversation_ended: str  # a tap on the buttons of a conversation that has since been closed


_TEXTS: dict[str, CustomerTexts] = {
    "ko": CustomerTexts(
        greeting=(
            "안녕하세요! 문의를 도와드리는 고객지원팀입니다. 😊\n"
            "궁금하신 점을 이 채팅에 편하게 남겨 주시면, "
            "담당자가 확인한 뒤 여기에서 바로 답변드리겠습니다."
        ),
        auto_reply=(
            "문의가 잘 접수되었습니다. 감사합니다!\n"
            "담당자가 확인하는 대로 이 채팅으로 답변드릴게요. 잠시만 기다려 주세요."
        ),
        unsupported=(
            "죄송하지만 이런 형식의 메시지는 담당자에게 전달할 수 없어요.\n텍스트, 사진 또는 파일로 보내 주시겠어요?"
        ),
        too_large=(
            "죄송하지만 20MB가 넘는 파일은 받을 수 없어요.\n"
            "더 작은 파일로 보내 주시거나, 파일을 올려 두신 곳의 링크를 남겨 주세요."
        ),
        after_hours=(
            "지금은 상담 시간이 아니에요.\n"
            "남겨 주신 문의는 잘 접수되었고, 상담 시간이 시작되면 담당자가 바로 답변드릴게요."
        ),
        choose_category=(
            "어떤 문의인지 아래에서 골라 주시면 담당자에게 더 빨리 연결해 드려요.\n"
            "고르지 않으셔도 메시지는 이미 전달되었어요."
        ),
        category_chosen="감사합니다! 담당자에게 바로 전달할게요.",
        conversation_ended="이미 종료된 문의예요. 새로 메시지를 보내 주세요.",
    ),
    "en": CustomerTexts(
        greeting=(
            "Hi there! You've reached our support team. 😊\n"
            "Just send your question here, and one of us will get back to you right in this chat."
        ),
        auto_reply="Thanks, we've got your message!\nSomeone from our team will reply here shortly.",
        unsupported=(
            "Sorry, we can't pass this kind of message on to the team. "
            "Could you send it as text, a photo or a file instead?"
        ),
        too_large=(
            "Sorry, that file is larger than 20 MB, which is more than we can receive. "
            "Could you send a smaller file, or a link to where it's stored?"
        ),
        after_hours=(
            "Thanks for your message! Our team is away right now.\n"
            "We've got your question and will reply here as soon as we're back."
        ),
        choose_category=(
            "What is your question about? Picking one below gets it to the right person faster.\n"
            "No need to wait for it: your message has already reached us."
        ),
        category_chosen="Thanks! We'll pass it straight to the right person.",
        conversation_ended="This conversation has ended. Just send us a new message.",
    ),
}

LANGUAGES = tuple(_TEXTS)
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}  # what staff pick from, each in its own words

SIGNATURES = {"ko": "— {name} 드림", "en": "— {name}"}
"""The line a reply ends with when the team signs replies (``replies.author: signature``); ``{name}`` is who wrote."""


def customer_texts(
    language: str,
    *,
    greeting: str | None = None,
    auto_reply: str | None = None,
    after_hours: str | None = None,
    choose_category: str | None = None,
) -> CustomerTexts:
    """The texts for `language` ("ko" or "en"), with the operator's overrides; auto_reply="" disables it."""
    try:
        texts = _TEXTS[language]
    except KeyError:
        raise ValueError(f"unsupported language {language!r} (expected one of: {', '.join(LANGUAGES)})") from None
    if greeting is not None:
        texts = replace(texts, greeting=greeting)
    if auto_reply is not None:
        texts = replace(texts, auto_reply=auto_reply)
    if after_hours is not None:
        texts = replace(texts, after_hours=after_hours)
    if choose_category is not None:
        texts = replace(texts, choose_category=choose_category)
    return texts


def pick_language(chosen: str | None, reported: str | None, default: str) -> str:
    """The language a customer reads: the one staff chose for them, else the one their channel reports (a
    Telegram ``language_code``, a browser's ``Accept-Language``: "ko", "ko-KR", "en-US"), else ``default``."""
    if chosen in _TEXTS:
        return chosen
    primary = (reported or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in _TEXTS else default


@dataclass(frozen=True)
class TextBook:
    """Every language's texts, with the operator's overrides: ``overrides`` maps a text's name (``greeting``) to
    {language: text}; a language it leaves out keeps the built-in text."""

    default: str
    overrides: Mapping[str, Mapping[str, str]]

    def __post_init__(self) -> None:
        if self.default not in _TEXTS:
            raise ValueError(f"unsupported language {self.default!r} (expected one of: {', '.join(LANGUAGES)})")
        known = {f.name for f in fields(CustomerTexts)}
        unknown = set(self.overrides) - known
        if unknown:
            raise ValueError(f"no customer text is called {', '.join(sorted(unknown))}")

    def __call__(self, language: str | None = None) -> CustomerTexts:
        """The texts in ``language`` (the default for None or a language the bot does not speak)."""
        lang = language if language in _TEXTS else self.default
        texts = _TEXTS[lang]
        changes = {name: by_lang[lang] for name, by_lang in self.overrides.items() if lang in by_lang}
        return replace(texts, **changes) if changes else texts

    def pick(self, chosen: str | None, reported: str | None) -> CustomerTexts:
        return self(pick_language(chosen, reported, self.default))
