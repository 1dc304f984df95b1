"""The login password: bcrypt (cost 12) hashes, checked and created in a worker thread.

The configured password (``auth.password`` / ``PULSE_AUTH_PASS``) may be plain
text, hashed once at start, or a bcrypt hash used as is. A password changed in
Settings → Security is stored hashed in the settings store. It wins over the
configured one until the configured value itself changes. An admin who forgot
the UI password can therefore reset it by setting a new ``PULSE_AUTH_PASS``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

import bcrypt
import trio

from pulse_core.security.errors import SecurityError

log = logging.getLogger(__name__)

BCRYPT_COST = 12
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
SETTINGS_SECTION = "security"
DEFAULT_USERNAME = "admin"
# bcrypt reads only the first 72 bytes, so longer passwords are rejected rather than silently truncated.
MAX_PASSWORD_BYTES = 72


def is_bcrypt_hash(value: str) -> bool:
    return value.startswith(BCRYPT_PREFIXES) and len(value) == 60


def hash_password_sync(password: str, cost: int = BCRYPT_COST) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(cost)).decode("ascii")


async def hash_password(password: str) -> str:
    return await trio.to_thread.run_sync(hash_password_sync, password)


def _check_sync(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii"))
    except ValueError:  # a malformed stored hash never matches
        return False


def _fingerprint(salt: str, configured: str) -> str:
    return hmac.new(salt.encode(), configured.encode("utf-8"), hashlib.sha256).hexdigest()


class PasswordStore:
    """The current username and password hash, from the configuration or the settings store."""

    def __init__(self, settings: Any, configured_user: str, configured_password: str, min_length: int) -> None:
        self.settings = settings
        self.configured_user = configured_user.strip()
        self.configured_password = configured_password
        self.min_length = min_length
        self._configured_hash: str | None = (
            configured_password if is_bcrypt_hash(configured_password) else None
        )
        self._lock = trio.Lock()
        # Compared against when the username is unknown, so both paths cost one bcrypt check.
        self._dummy_hash: str | None = None

    # --- reading ---------------------------------------------------------------------------

    def _stored(self) -> dict[str, Any] | None:
        section = self.settings.get(SETTINGS_SECTION, {}) or {}
        stored = section.get("password")
        if not isinstance(stored, dict) or not stored.get("password_hash"):
            return None
        basis = stored.get("configured_fingerprint")
        if self.configured_password:
            if basis != _fingerprint(stored.get("salt", ""), self.configured_password):
                return None  # the configured password changed since, so it takes over again
        elif basis:
            return None  # it replaced a configured password that has since been removed
        return stored

    @property
    def configured(self) -> bool:
        return bool(self.configured_password) or self._stored() is not None

    @property
    def username(self) -> str:
        stored = self._stored()
        if stored is not None:
            return str(stored.get("username") or DEFAULT_USERNAME)
        return self.configured_user or DEFAULT_USERNAME

    @property
    def source(self) -> str | None:
        if self._stored() is not None:
            return "settings"
        return "config" if self.configured_password else None

    async def prepare(self) -> None:
        """Hash a plain configured password once. The guard calls this at start, so the first login is not slower."""
        async with self._lock:
            if self.configured_password and self._configured_hash is None:
                if len(self.configured_password) < self.min_length:
                    log.warning(
                        "The configured login password is shorter than auth.min_password_length (%d); "
                        "choose a longer one", self.min_length,
                    )
                self._configured_hash = await hash_password(self.configured_password)
                log.info("Hashed the configured login password (bcrypt cost %d)", BCRYPT_COST)
            if self._dummy_hash is None:
                self._dummy_hash = await trio.to_thread.run_sync(hash_password_sync, secrets.token_hex(16), 4)

    async def _current_hash(self) -> str | None:
        stored = self._stored()
        if stored is not None:
            return str(stored["password_hash"])
        if not self.configured_password:
            return None
        await self.prepare()
        return self._configured_hash

    # --- checking ---------------------------------------------------------------------------

    async def verify(self, username: str, password: str) -> bool:
        """Return True when both match; costs one bcrypt check whether or not the username is right."""
        await self.prepare()
        hashed = await self._current_hash()
        user_ok = hmac.compare_digest(username.encode("utf-8"), self.username.encode("utf-8"))
        target = hashed if (hashed and user_ok) else self._dummy_hash
        assert target is not None
        password_ok = await trio.to_thread.run_sync(_check_sync, password, target)
        return bool(hashed) and user_ok and password_ok

    def validate_new(self, password: Any) -> str:
        if not isinstance(password, str) or not password:
            raise SecurityError("newPassword: required, a string of at least "
                                f"{self.min_length} characters")
        if len(password) < self.min_length:
            raise SecurityError(f"newPassword: too short ({len(password)} characters); "
                                f"use at least {self.min_length}")
        if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
            raise SecurityError(f"newPassword: too long; bcrypt uses at most {MAX_PASSWORD_BYTES} bytes")
        if password.strip() != password:
            raise SecurityError("newPassword: must not start or end with whitespace")
        return password

    async def change(self, username: str, new_password: str) -> None:
        """Hash and store a new password; the caller has already checked the current one."""
        self.validate_new(new_password)
        username = username.strip() or DEFAULT_USERNAME
        if len(username) > 64 or any(ch.isspace() for ch in username):
            raise SecurityError("username: must be 1-64 characters without spaces")
        hashed = await hash_password(new_password)
        salt = secrets.token_hex(16)
        record = {
            "username": username,
            "password_hash": hashed,
            "salt": salt,
            "configured_fingerprint": _fingerprint(salt, self.configured_password) if self.configured_password else "",
        }
        section = self.settings.get(SETTINGS_SECTION, {}) or {}
        section["password"] = record
        await self.settings.set(SETTINGS_SECTION, section)
