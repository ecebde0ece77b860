"""Telegram updates as the bot's plain data: who wrote, what they wrote, which files came with it."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import (
    Chat,
    Message,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Poll,
    Update,
)

from bot.domain.models import Attachment, InboundMessage, Sender, origin_text
from bot.domain.names import is_visible, readable_name

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile serves at most 20 MB


def attachments_of(message: Message) -> list[Attachment]:
    """The files of a Telegram message, named so they make sense once they sit in a Slack thread."""
    mid = message.message_id
    found: list[Attachment] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        found.append(Attachment("photo", largest.file_id, f"photo_{mid}.jpg", "image/jpeg", largest.file_size))
    if message.document:
        doc = message.document
        found.append(
            Attachment("document", doc.file_id, doc.file_name or f"document_{mid}", doc.mime_type, doc.file_size)
        )
    if message.voice:
        found.append(
            Attachment("voice", message.voice.file_id, f"voice_{mid}.ogg", "audio/ogg", message.voice.file_size)
        )
    if message.audio:
        audio = message.audio
        found.append(
            Attachment(
                "audio",
                audio.file_id,
                audio.file_name or f"audio_{mid}.mp3",
                audio.mime_type,
                audio.file_size,
            )
        )
    if message.video:
        video = message.video
        found.append(
            Attachment(
                "video",
                video.file_id,
                video.file_name or f"video_{mid}.mp4",
                video.mime_type,
                video.file_size,
            )
        )
    if message.animation:
        anim = message.animation
        found.append(
            Attachment(
                "animation",
                anim.file_id,
                anim.file_name or f"animation_{mid}.mp4",
                anim.mime_type,
                anim.file_size,
            )
        )
    if message.video_note:
        note = message.video_note
        found.append(Attachment("video_note", note.file_id, f"video_note_{mid}.mp4", "video/mp4", note.file_size))
    if message.sticker:
        sticker = message.sticker
        ext, mime = (
            ("tgs", "application/x-tgsticker")
            if sticker.is_animated
            else (("webm", "video/webm") if sticker.is_video else ("webp", "image/webp"))
        )
        found.append(Attachment("sticker", sticker.file_id, f"sticker_{mid}.{ext}", mime, sticker.file_size))
    return found


def _describe_other(message: Message) -> str:
    """Text for message kinds that carry no text or file, so staff still see what the customer did."""
    if message.venue:  # a venue comes with its location too: the place's name and address say more
        v = message.venue
        return f"[venue: {v.title}, {v.address} ({v.location.latitude}, {v.location.longitude})]"
    if message.location:
        return f"[location: {message.location.latitude}, {message.location.longitude}]"
    if message.contact:
        c = message.contact
        return f"[contact: {c.first_name} {c.last_name or ''} {c.phone_number}]".replace("  ", " ")
    if message.poll:
        return _describe_poll(message.poll)
    if message.story:
        source = _chat_label(message.story.chat) or _forwarded_from(message.forward_origin)
        return f"[forwarded a story from {source}]" if source else "[forwarded a story]"
    if message.dice:
        return f"[dice: {message.dice.emoji} {message.dice.value}]"
    return ""


def _describe_poll(poll: Poll) -> str:
    """The question and every option (the right answers of a quiz marked ✓), and how it is voted on."""
    kind = "quiz" if poll.type == Poll.QUIZ else "poll"
    traits = []
    if poll.is_anonymous:
        traits.append("anonymous")
    if poll.allows_multiple_answers:
        traits.append("multiple answers")
    lines = [f"[{kind}: {poll.question}]" + (f" ({', '.join(traits)})" if traits else "")]
    if poll.description:
        lines.append(poll.description)
    correct = set(poll.correct_option_ids)
    lines += [f"{'✓' if index in correct else '•'} {option.text}" for index, option in enumerate(poll.options)]
    return "\n".join(lines)


def _chat_label(chat: Chat | None) -> str:
    """A chat or person as staff can recognise it: its name and @username, whichever it shows; "" for neither."""
    if chat is None:
        return ""
    return _label(chat.effective_name or "", chat.username)


def _label(name: str, username: str | None) -> str:
    shown = name if is_visible(name) else ""
    if username:
        return f"{shown} (@{username})" if shown else f"@{username}"
    return shown


def _forwarded_from(origin: MessageOrigin | None) -> str:
    """Who a forwarded message first came from, as far as Telegram tells (hidden users give only a name)."""
    if isinstance(origin, MessageOriginUser):
        return _label(origin.sender_user.full_name, origin.sender_user.username)
    if isinstance(origin, MessageOriginHiddenUser):
        return _label(origin.sender_user_name, None)
    if isinstance(origin, MessageOriginChat):
        return _chat_label(origin.sender_chat)
    if isinstance(origin, MessageOriginChannel):
        return _chat_label(origin.chat)
    return ""


def _start_payload(message: Message) -> str | None:
    """The payload of ``/start <payload>``: what a deep link (``t.me/<bot>?start=<payload>``) sends."""
    words = (message.text or "").split(maxsplit=1)
    if len(words) < 2 or words[0] != "/start":
        return None
    return origin_text(words[1])


def to_inbound(update: Update) -> InboundMessage | None:
    """An update from a customer's private chat as the bot's plain data; None for anything else."""
    message = update.message or update.edited_message
    if message is None or message.chat.type != "private" or message.from_user is None:
        return None
    user = message.from_user
    edited = update.edited_message is not None
    attachments = attachments_of(message)
    too_large = [a for a in attachments if a.size and a.size > DOWNLOAD_LIMIT]
    text = message.text or message.caption or _describe_other(message)
    for attachment in too_large:
        text += f"\n[{attachment.kind} {attachment.file_name} is over 20 MB and cannot be fetched from Telegram]"
    key = f"telegram:{message.chat.id}:{message.message_id}"
    if edited:
        stamp = message.edit_date or datetime.now(UTC)
        key += f":edit:{int(stamp.timestamp())}"
    return InboundMessage(
        channel="telegram",
        address=str(message.chat.id),
        sender=Sender(
            external_id=str(message.chat.id),
            display_name=readable_name(user.full_name, user.username, f"Telegram user {user.id}"),
            username=user.username,
            language_code=user.language_code,
        ),
        text=text.strip(),
        source_key=key,
        sent_at=message.date,
        external_message_id=str(message.message_id),
        attachments=tuple(a for a in attachments if a not in too_large),
        edited=edited,
        origin=None if edited else _start_payload(message),
        sticker=message.sticker.emoji if message.sticker else None,
    )
