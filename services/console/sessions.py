"""Who is signed in: the person's tokens stay on the server, the browser holds only a signed,
HttpOnly, SameSite cookie naming its session (Starlette's SessionMiddleware).

Sessions live in this process's memory: the console owns no data, and a restart only asks people
to sign in again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from services.runtime.auth import Principal


@dataclass
class Session:
    sid: str
    principal: Principal
    access_token: str
    refresh_token: str
    expires_at: float
    id_token: str = ""
    created_at: float = field(default_factory=time.time)

    def expiring(self, margin_s: float = 30.0) -> bool:
        return time.time() + margin_s >= self.expires_at


class SessionStore:
    def __init__(self, secret: bytes, max_sessions: int = 10_000) -> None:
        self._secret = secret
        self._sessions: dict[str, Session] = {}
        self._max = max_sessions

    def new_sid(self) -> str:
        return secrets.token_urlsafe(32)

    def put(self, session: Session) -> None:
        if len(self._sessions) >= self._max:
            oldest = min(self._sessions.values(), key=lambda s: s.created_at)
            self._sessions.pop(oldest.sid, None)
        self._sessions[session.sid] = session

    def get(self, sid: str | None) -> Session | None:
        return self._sessions.get(sid) if sid else None

    def drop(self, sid: str | None) -> Session | None:
        return self._sessions.pop(sid, None) if sid else None

    def csrf_token(self, sid: str) -> str:
        """Bound to the session: a form from another session (or site) does not carry it."""
        return hmac.new(self._secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str | None, token: str | None) -> bool:
        return bool(sid and token) and hmac.compare_digest(self.csrf_token(sid or ""), token or "")
