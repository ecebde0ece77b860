"""How conversations behave: who a reply is signed by and which replies go out (``replies``), quiet threads that
resurface (``resurface``), a thanks after Close (``after_close``) and the emoji that act on a thread
(``reactions``). Every section is optional, and a file without them behaves as the defaults below say."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.config.errors import ConfigError
from bot.config.fields import check_keys, minutes
from bot.config.texts import localized
from bot.domain.i18n import SIGNATURES

AUTHOR_STYLES = ("name", "signature", "none")
SEND_MODES = ("every_reply", "explicit")
DEFAULT_THANKS = ("감사합니다", "감사해요", "고맙습니다", "고마워요", "thanks", "thank you", "thanks a lot", "👍", "🙏")
SIGNATURE_LIMIT = 200
PREFIX_LIMIT = 32
THANKS_LIMIT = 100  # phrases in the list
_EMOJI = re.compile(r"^[a-z0-9_+'-]{1,100}$")
_INTERNAL = re.compile(r"^\s*(note|private)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Replies:
    """``author``: the customer reads who answered as a name before the reply ("name"), a signature line after it
    ("signature", ``{name}`` in it is who wrote) or not at all ("none"). ``send``: every thread reply goes to the
    customer ("every_reply"), or only those starting with ``send_prefix`` or sent with the message shortcut
    ("explicit")."""

    author: str = "name"
    signature: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(dict(SIGNATURES)))
    send: str = "every_reply"
    send_prefix: str = "send:"

    @property
    def explicit(self) -> bool:
        return self.send == "explicit"


@dataclass(frozen=True)
class Resurface:
    """A customer writing into a thread quiet for ``after_minutes`` (None: never) mentions its holder there;
    ``broadcast`` also shows the message in the channel."""

    after_minutes: int | None = 60
    broadcast: bool = False


@dataclass(frozen=True)
class AfterClose:
    """A message after Close that is only one of ``thanks`` (within ``within_minutes``) is archived into the
    closed thread instead of opening a new inquiry."""

    thanks: tuple[str, ...] = DEFAULT_THANKS
    within_minutes: int = 24 * 60


@dataclass(frozen=True)
class Reactions:
    """Emoji names that act when staff put them on a thread's first message."""

    claim: tuple[str, ...] = ("eyes",)
    close: tuple[str, ...] = ("white_check_mark",)


def parse_replies(node: object) -> Replies:
    if node is None:
        return Replies()
    if not isinstance(node, Mapping):
        raise ConfigError("replies", "a mapping with author, signature, send and/or send_prefix")
    check_keys(node, "replies.", ("author", "signature", "send", "send_prefix"))
    author = node.get("author", "name")
    if author not in AUTHOR_STYLES:
        raise ConfigError("replies.author", "one of " + ", ".join(AUTHOR_STYLES))
    signature = dict(SIGNATURES)
    if node.get("signature") is not None:
        signature.update(localized(node["signature"], "replies.signature"))
        for lang, text in signature.items():
            if len(text.strip()) > SIGNATURE_LIMIT:
                key = "replies.signature" if isinstance(node["signature"], str) else f"replies.signature.{lang}"
                raise ConfigError(key, f"a text of at most {SIGNATURE_LIMIT} characters ({{name}} is who wrote)")
    send = node.get("send", "every_reply")
    if send not in SEND_MODES:
        raise ConfigError("replies.send", "one of " + ", ".join(SEND_MODES))
    prefix = node.get("send_prefix", "send:")
    if not isinstance(prefix, str) or not prefix.strip() or len(prefix.strip()) > PREFIX_LIMIT:
        raise ConfigError("replies.send_prefix", f"a non-empty text of at most {PREFIX_LIMIT} characters, e.g. send:")
    if _INTERNAL.match(prefix):
        raise ConfigError("replies.send_prefix", "a prefix other than note: and private:, which keep a reply internal")
    signature_view = MappingProxyType({k: v.strip() for k, v in signature.items()})
    return Replies(author=author, signature=signature_view, send=send, send_prefix=prefix.strip())


def parse_resurface(node: object) -> Resurface:
    if node is None:
        return Resurface()
    if not isinstance(node, Mapping):
        raise ConfigError("resurface", "a mapping with after_minutes and/or broadcast")
    check_keys(node, "resurface.", ("after_minutes", "broadcast"))
    after = node.get("after_minutes", 60)
    broadcast = node.get("broadcast", False)
    if not isinstance(broadcast, bool):
        raise ConfigError("resurface.broadcast", "true or false")
    if after is False or after is None:
        return Resurface(after_minutes=None, broadcast=broadcast)
    return Resurface(after_minutes=minutes(after, "resurface.after_minutes"), broadcast=broadcast)


def parse_after_close(node: object) -> AfterClose:
    if node is None:
        return AfterClose()
    if not isinstance(node, Mapping):
        raise ConfigError("after_close", "a mapping with thanks and/or within_minutes")
    check_keys(node, "after_close.", ("thanks", "within_minutes"))
    raw = node.get("thanks", list(DEFAULT_THANKS))
    if raw is False or raw is None:
        raw = []
    if not isinstance(raw, list) or len(raw) > THANKS_LIMIT:
        raise ConfigError("after_close.thanks", f"a list of at most {THANKS_LIMIT} short thanks (or [] for none)")
    thanks = []
    for i, phrase in enumerate(raw):
        if not isinstance(phrase, str) or not phrase.strip() or len(phrase.strip()) > 50:
            raise ConfigError(f"after_close.thanks[{i}]", "a non-empty text of at most 50 characters")
        thanks.append(phrase.strip())
    within = minutes(node.get("within_minutes", 24 * 60), "after_close.within_minutes")
    return AfterClose(thanks=tuple(dict.fromkeys(thanks)), within_minutes=within)


def parse_reactions(node: object) -> Reactions:
    if node is None:
        return Reactions()
    if not isinstance(node, Mapping):
        raise ConfigError("reactions", "a mapping with claim and/or close: emoji names")
    check_keys(node, "reactions.", ("claim", "close"))
    claim = _emoji(node.get("claim", ["eyes"]), "reactions.claim")
    close = _emoji(node.get("close", ["white_check_mark"]), "reactions.close")
    if both := set(claim) & set(close):
        raise ConfigError("reactions.close", f"emoji other than claim's ({', '.join(sorted(both))})")
    return Reactions(claim=claim, close=close)


def _emoji(value: object, key: str) -> tuple[str, ...]:
    """Emoji names as Slack writes them (``eyes``, ``:eyes:``), one or a list; false or [] for none."""
    if value is False or value is None:
        return ()
    names = value if isinstance(value, list) else [value]
    found = []
    for i, name in enumerate(names):
        where = key if not isinstance(value, list) else f"{key}[{i}]"
        if not isinstance(name, str) or not _EMOJI.match(name.strip().strip(":").lower()):
            raise ConfigError(where, "an emoji name as Slack writes it, e.g. eyes or white_check_mark")
        found.append(name.strip().strip(":").lower())
    return tuple(dict.fromkeys(found))
