"""What the widget is sent: a visitor's conversation as entries, each text as text (the frame builds the page with
``textContent`` only), files as signed links.

Two kinds of entry, each with the id the widget's cursors count: ``w`` a message the visitor wrote (an archive id),
``s`` a part the team's side delivered (a ``Sent`` id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.connectors.base import Sent, StoredFile, Transcript, Written
from bot.connectors.website.tokens import Signer
from bot.domain.models import Attachment

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def file_json(signer: Signer, key: str, name: str, mime_type: str | None, size: int | None) -> dict[str, Any]:
    return {
        "name": name,
        "size": size or 0,
        "mime": mime_type or "application/octet-stream",
        "image": mime_type in IMAGE_TYPES,
        "url": signer.file_link(key),
    }


def written_json(signer: Signer, written: Written) -> dict[str, Any]:
    return {
        "k": "w",
        "id": written.id,
        "cid": written.client_id,
        "text": written.text,
        "files": [_attachment(signer, a) for a in written.attachments],
        "at": written.at.isoformat(),
    }


def _attachment(signer: Signer, attachment: Attachment) -> dict[str, Any]:
    return file_json(signer, attachment.ref, attachment.file_name, attachment.mime_type, attachment.size)


def sent_json(signer: Signer, sent: Sent) -> dict[str, Any]:
    return part_json(signer, sent.id, sent.message_id, sent.part, sent.payload, sent.at.isoformat())


def part_json(
    signer: Signer, part_id: int, message_id: int | None, part: int, payload: Mapping[str, Any], at: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "k": "s",
        "id": part_id,
        "msg": message_id,
        "part": part,
        "from": payload.get("from", "bot"),
        "author": payload.get("author"),
        "text": payload.get("text", ""),
        "at": at,
    }
    if payload.get("runs"):
        entry["runs"] = payload["runs"]
    if payload.get("buttons"):
        entry["buttons"] = payload["buttons"]
    file = payload.get("file")
    if isinstance(file, Mapping):
        entry["file"] = file_json(signer, str(file["key"]), str(file["name"]), file.get("mime"), file.get("size"))
    return entry


def transcript_json(signer: Signer, transcript: Transcript, seen: tuple[set[int], set[int]]) -> list[dict[str, Any]]:
    """The entries not yet in ``seen`` (ids of written and sent entries this connection already has), in order."""
    out = [written_json(signer, w) for w in transcript.written if w.id not in seen[0]]
    out += [sent_json(signer, s) for s in transcript.sent if s.id not in seen[1]]
    seen[0].update(w.id for w in transcript.written)
    seen[1].update(s.id for s in transcript.sent)
    out.sort(key=lambda e: e["at"])
    return out


def stored_json(signer: Signer, files: Sequence[StoredFile]) -> list[dict[str, Any]]:
    return [file_json(signer, f.key, f.name, f.mime_type, f.size) for f in files]
