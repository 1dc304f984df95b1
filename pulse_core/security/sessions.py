"""Login sessions: random cookie values, stored only as SHA-256 hashes in the storage backend.

The storage backend keeps sessions across restarts. The cookie value itself is
never stored or logged. Each session carries the hash of its CSRF token, so a
CSRF token from one session is useless with another.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulse_core.errors import PulseError

log = logging.getLogger(__name__)

SESSION_COOKIE = "pulse_session"
CSRF_COOKIE = "pulse_csrf"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class Session:
    key: str  # SHA-256 of the cookie value
    username: str
    created: float
    expires: float
    csrf_hash: str
    client: str


@dataclass(slots=True)
class NewSession:
    session: Session
    cookie_value: str
    csrf_token: str


class SessionManager:
    """Creates, looks up and ends sessions in ``storage``."""

    def __init__(self, storage: Any, lifetime_seconds: float, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.lifetime = lifetime_seconds
        self.clock = clock

    async def create(self, username: str, client: str) -> NewSession:
        cookie_value = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(
            key=digest(cookie_value),
            username=username,
            created=now,
            expires=now + self.lifetime,
            csrf_hash=digest(csrf_token),
            client=client,
        )
        data = {"username": username, "created": now, "csrf_hash": session.csrf_hash, "client": client,
                "expires": session.expires}
        await self.storage.save_session(session.key, data, session.expires)
        return NewSession(session=session, cookie_value=cookie_value, csrf_token=csrf_token)

    async def lookup(self, cookie_value: str | None) -> Session | None:
        """Return the live session for a cookie value, or None when unknown, expired or unreadable."""
        if not cookie_value or len(cookie_value) > 256:
            return None
        key = digest(cookie_value)
        try:
            data = await self.storage.load_session(key)
        except PulseError:
            log.exception("Cannot load a session from storage")
            return None
        if not data:
            return None
        # The backend may or may not drop expired rows itself, so check the copy kept in ``data``.
        expires = float(data.get("expires", 0) or 0)
        if expires <= self.clock():
            await self.end(key)
            return None
        return Session(
            key=key,
            username=str(data.get("username", "")),
            created=float(data.get("created", 0) or 0),
            expires=expires,
            csrf_hash=str(data.get("csrf_hash", "")),
            client=str(data.get("client", "")),
        )

    async def end(self, key: str) -> None:
        try:
            await self.storage.delete_session(key)
        except PulseError:
            log.exception("Cannot delete a session from storage")

    async def end_all(self, except_key: str | None = None) -> None:
        await self.storage.delete_sessions(except_key=except_key)
