"""Everything the website channel signs: visitors' session tokens, links to files, and the check of a logged-in
user's ``identity_hash`` (HMAC-SHA256 of the user id with the secret the team's own server holds).

A session token is ``<payload>.<signature>``: the payload (base64url JSON) names the visitor and when the session
began; the signature is an HMAC-SHA256 of it with ``WEBSITE_TOKEN_SECRET``. Nothing a browser holds can be turned
into another visitor's token without that secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

_ALPHABET = string.ascii_lowercase + string.digits
_USER_ID = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
FILE_LINK_SECONDS = 3600  # a link to a file works this long; the widget gets fresh ones whenever it reads again

Kind = Literal["visitor", "user"]


@dataclass(frozen=True)
class Session:
    """What a token said: whose session it is (None when it said nothing trustworthy) and why not."""

    address: str | None
    kind: Kind | None = None
    problem: Literal["invalid", "expired"] | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_visitor() -> str:
    """A new anonymous visitor's address: unguessable, and readable enough for staff ("v-7k3q…")."""
    return "v-" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def user_address(user_id: str) -> str:
    """The address of a logged-in user of the team's site: the same on every device they use."""
    if _USER_ID.match(user_id):
        return f"user-{user_id}"
    return "user-h" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


def identity_hash(secret: str, user_id: str) -> str:
    """What the team's server computes for a logged-in user (see docs/WEBSITE.md)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class Signer:
    def __init__(
        self, token_secret: str, identity_secret: str | None, *, session_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self._key = token_secret.encode()
        self._identity_secret = identity_secret
        self.session_seconds = session_days * 86400
        self.clock = clock

    def _sign(self, purpose: str, message: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\0{message}".encode(), hashlib.sha256).digest())

    def token(self, address: str, kind: Kind, *, began: float | None = None) -> str:
        payload = _b64(json.dumps({"a": address, "k": kind, "t": int(began or self.clock())}).encode())
        return f"{payload}.{self._sign('session', payload)}"

    def read(self, token: object) -> Session:
        """The session a token names, if the signature is ours and the session has not run out."""
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 512:
            return Session(None, problem="invalid" if token else None)
        payload, signature = token.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign("session", payload).encode()):
            return Session(None, problem="invalid")
        try:
            data = json.loads(_unb64(payload))
            address, kind, began = str(data["a"]), data["k"], float(data["t"])
        except (ValueError, KeyError, TypeError):
            return Session(None, problem="invalid")
        if kind not in ("visitor", "user"):
            return Session(None, problem="invalid")
        if self.clock() - began > self.session_seconds:
            return Session(None, problem="expired")
        return Session(address, kind)

    def identity_ok(self, user_id: object, given: object) -> bool:
        """Whether ``given`` is the HMAC the team's server computes for ``user_id``."""
        if self._identity_secret is None or not isinstance(user_id, str) or not isinstance(given, str):
            return False
        if not user_id or len(user_id) > 256 or not _HEX.match(given):
            return False
        return hmac.compare_digest(given.lower(), identity_hash(self._identity_secret, user_id))

    def file_link(self, key: str) -> str:
        expires = int(self.clock()) + FILE_LINK_SECONDS
        return f"/website/files/{key}?e={expires}&s={self._sign('file', f'{key}:{expires}')}"

    def file_ok(self, key: str, expires: str, signature: str) -> bool:
        if not expires.isdigit() or int(expires) < self.clock():
            return False
        return hmac.compare_digest(signature.encode(), self._sign("file", f"{key}:{expires}").encode())
