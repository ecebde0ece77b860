"""What the widget says to a visitor, in Korean and English. The frame gets the texts of every language and shows
the one the team chose (or the visitor's browser asks for); ``{name}``-style fields are filled in by the frame."""

from __future__ import annotations

LANGUAGES = ("ko", "en")

_TITLE = {"ko": "고객지원", "en": "Support"}
_GREETING = {
    "ko": "안녕하세요! 무엇을 도와드릴까요?\n메시지를 남겨 주시면 담당자가 이곳에서 바로 답변드려요.",
    "en": "Hi there! How can we help?\nLeave us a message and one of us will answer right here.",
}

WIDGET_TEXTS: dict[str, dict[str, str]] = {
    "ko": {
        "open": "채팅 열기",
        "close": "채팅 닫기",
        "placeholder": "메시지를 입력하세요…",
        "hint": "Enter로 보내기, Shift+Enter로 줄바꿈",
        "send": "보내기",
        "attach": "파일 첨부",
        "file_limit": "사진과 파일은 {size}까지 보낼 수 있어요",
        "too_big": "{name} 파일이 {size}보다 커서 보내지 못했어요.",
        "too_long": "메시지는 {limit}자까지 보낼 수 있어요.",
        "rate_limited": "메시지를 너무 빠르게 보내고 있어요. {seconds}초 뒤에 이어서 보낼게요.",
        "offline": "연결이 끊겼어요. 입력하신 메시지는 다시 연결되면 보내 드릴게요.",
        "pending": "전송 대기 중",
        "away": "지금은 상담 시간이 아니에요. {when}부터 답변드려요.",
        "away_unknown": "지금은 상담 시간이 아니에요.",
        "email_prompt": "자리를 비우셔도 답변드릴 수 있도록 이메일을 남겨 주세요.",
        "email_label": "이메일 주소",
        "email_save": "남기기",
        "email_saved": "감사합니다! {email}(으)로도 답변드릴게요.",
        "email_invalid": "이메일 주소를 다시 확인해 주세요.",
        "closed": "이 문의는 종료되었어요. 아래에 메시지를 남기시면 새 문의가 시작돼요.",
        "expired": "이전 채팅 세션이 만료되어 여기에 표시할 수 없어요. 아래에서 새로 시작하실 수 있어요.",
        "session_reset": "이전 채팅을 불러오지 못했어요. 아래에서 새로 시작하실 수 있어요.",
        "identity_refused": "로그인 정보를 확인하지 못해 게스트로 채팅을 이어가요.",
        "identity_required": "로그인하신 뒤 채팅을 이용해 주세요.",
        "busy": "지금 같은 네트워크에서 열린 채팅이 너무 많아요. 잠시 뒤 다시 시도해 주세요.",
        "unavailable": "지금은 메시지를 보내지 못했어요. 곧 다시 보내 드릴게요.",
        "upload_failed": "파일을 올리지 못했어요. 다시 시도해 주세요.",
        "origin_refused": "이 사이트에서는 채팅을 사용할 수 없어요.",
        "you": "나",
        "unread": "새 메시지 {count}개",
        "messages": "대화 내용",
        "file": "파일",
    },
    "en": {
        "open": "Open chat",
        "close": "Close chat",
        "placeholder": "Write a message…",
        "hint": "Enter to send, Shift+Enter for a new line",
        "send": "Send",
        "attach": "Attach a file",
        "file_limit": "Images and files up to {size}",
        "too_big": "{name} is larger than {size}, so it was not sent.",
        "too_long": "A message can have at most {limit} characters.",
        "rate_limited": "You're sending messages very quickly. We'll send the rest in {seconds} s.",
        "offline": "Connection lost. Your messages are kept and will be sent once it's back.",
        "pending": "Waiting to send",
        "away": "We're away right now. We'll answer from {when}.",
        "away_unknown": "We're away right now.",
        "email_prompt": "Leave your email address so we can answer you even after you've left.",
        "email_label": "Email address",
        "email_save": "Leave it",
        "email_saved": "Thanks! We'll answer at {email} too.",
        "email_invalid": "That doesn't look like an email address.",
        "closed": "This conversation was closed. Write below to start a new one.",
        "expired": "Your earlier chat session has expired, so it can't be shown here. You can start a new one below.",
        "session_reset": "We couldn't bring back your earlier chat. You can start a new one below.",
        "identity_refused": "We couldn't confirm your login, so this chat goes on as a guest.",
        "identity_required": "Please sign in to chat with us.",
        "busy": "Too many chats are open from your network right now. Please try again in a minute.",
        "unavailable": "We couldn't send that just now. We'll try again shortly.",
        "upload_failed": "The file couldn't be uploaded. Please try again.",
        "origin_refused": "Chat is not enabled for this site.",
        "you": "You",
        "unread": "{count} new messages",
        "messages": "Conversation",
        "file": "File",
    },
}


def default_title(language: str) -> str:
    return _TITLE[language]


def default_greeting(language: str) -> str:
    return _GREETING[language]
