"""Customer-facing text in Korean and English.

Only what a customer reads on Telegram lives here; staff-facing Slack text stays in English in the handlers.
The operator may override the greeting and the acknowledgement in the YAML file (`texts:`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["LANGUAGES", "CustomerTexts", "customer_texts"]


@dataclass(frozen=True)
class CustomerTexts:
    """Everything the bot itself says to a customer, in one language."""

    greeting: str  # answer to /start
    auto_reply: str  # sent once when a conversation opens; "" means send nothing
    unsupported: str  # for a message kind the bot cannot forward (poll, location, contact, ...)
    too_large: str  # for a file over the 20 MB the Bot API lets a bot download


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
    ),
}

LANGUAGES = tuple(_TEXTS)


def customer_texts(language: str, *, greeting: str | None = None, auto_reply: str | None = None) -> CustomerTexts:
    """The texts for `language` ("ko" or "en"), with the operator's overrides; auto_reply="" disables it."""
    try:
        texts = _TEXTS[language]
    except KeyError:
        raise ValueError(f"unsupported language {language!r} (expected one of: {', '.join(LANGUAGES)})") from None
    if greeting is not None:
        texts = replace(texts, greeting=greeting)
    if auto_reply is not None:
        texts = replace(texts, auto_reply=auto_reply)
    return texts
