"""The dashboard's session cookie and CSRF token, both derived from the admin token.

Logging in at /ui/login with the admin token gives a cookie holding
`actor.issued.nonce.signature` (HMAC-SHA256 keyed by the admin token), so no session is
stored anywhere and a new admin token ends every session. The CSRF token is another
HMAC of the nonce: the page reads it from a <meta> tag and sends it as `X-CSRF-Token`
with every state-changing call; a cross-site request cannot know it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from flask import Request

from router.errors import RouterError

COOKIE = "strangler_ui"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = 12 * 3600  # seconds a session lasts
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ACTOR = re.compile(r"[^\w .@-]")


class CsrfRefused(RouterError):
    code = "csrf_refused"


@dataclass(frozen=True)
class Session:
    actor: str
    issued: int
    nonce: str

    def csrf(self, token: str) -> str:
        return _mac(token, f"csrf:{self.nonce}")


def clean_actor(name: str) -> str:
    """The name recorded as the actor of the page's changes (default "dashboard")."""
    name = _ACTOR.sub("", name).strip()[:60]
    return f"ui:{name or 'dashboard'}"


def issue(token: str, actor: str, now: float | None = None) -> str:
    """Return a signed cookie value for a new session of `actor`."""
    issued = int(time.time() if now is None else now)
    nonce = secrets.token_urlsafe(18)
    name = base64.urlsafe_b64encode(actor.encode()).decode().rstrip("=")
    payload = f"{name}.{issued}.{nonce}"
    return f"{payload}.{_mac(token, payload)}"


def read(token: str, value: str, now: float | None = None) -> Session | None:
    """Return the session a cookie value holds, or None if forged, malformed or expired."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    name, issued, nonce, signature = parts
    if not hmac.compare_digest(signature, _mac(token, f"{name}.{issued}.{nonce}")):
        return None
    if not issued.isdigit() or (time.time() if now is None else now) - int(issued) > LIFETIME:
        return None
    actor = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    return Session(actor, int(issued), nonce)


def from_request(request: Request, token: str) -> Session | None:
    value = request.cookies.get(COOKIE)
    return read(token, value) if value else None


def session_actor(request: Request, token: str) -> str | None:
    """The actor of a dashboard session calling the admin API, or None without one.

    A state-changing call must carry the session's CSRF token (CsrfRefused otherwise).
    """
    session = from_request(request, token)
    if session is None:
        return None
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), session.csrf(token).encode()):
            raise CsrfRefused(f"missing or wrong {CSRF_HEADER} header for the dashboard session")
    return session.actor


def _mac(token: str, text: str) -> str:
    return hmac.new(token.encode(), text.encode(), hashlib.sha256).hexdigest()
