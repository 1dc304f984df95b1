"""Login lockout: 5 failed logins within 15 minutes lock the username and the client address for 15 minutes.

Both keys are tracked separately, so an attacker rotating usernames is still
stopped by the address lock, and one rotating addresses by the username lock.
The state is kept in the storage backend's key-value store, so a restart does
not lift a lock.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from pulse_core.errors import PulseError

log = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
FAILURE_WINDOW_SECONDS = 15 * 60
STORAGE_KEY = "security.lockouts"
# Bounds the state an attacker can create by trying many usernames. The oldest entries go first.
MAX_ENTRIES = 10_000


def user_key(username: str) -> str:
    """Return the lockout key for a username, hashed: people type passwords into the username box."""
    normalized = username.strip().lower()[:256].encode("utf-8")
    return "user:" + hashlib.sha256(normalized).hexdigest()[:24]


def address_key(address: str) -> str:
    return "addr:" + address


class LockoutTracker:
    """Counts failed logins per username and per client address."""

    def __init__(self, storage: Any, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.clock = clock
        self._entries: dict[str, dict[str, Any]] | None = None

    async def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            try:
                stored = await self.storage.get_value(STORAGE_KEY)
            except PulseError:
                log.exception("Cannot load login lockouts from storage; starting with none")
                stored = None
            self._entries = dict(stored) if isinstance(stored, dict) else {}
        return self._entries

    async def _save(self) -> None:
        try:
            await self.storage.set_value(STORAGE_KEY, self._entries or {})
        except PulseError:
            log.exception("Cannot store login lockouts")

    async def locked_for(self, *keys: str) -> float:
        """Return how many seconds the longest lock among ``keys`` still lasts (0 when none is locked)."""
        entries = await self._load()
        now = self.clock()
        remaining = 0.0
        for key in keys:
            entry = entries.get(key)
            if entry:
                remaining = max(remaining, float(entry.get("locked_until", 0)) - now)
        return max(0.0, remaining)

    async def record_failure(self, *keys: str) -> list[str]:
        """Count a failed login against every key; return the keys this failure locked."""
        entries = await self._load()
        now = self.clock()
        newly_locked = []
        for key in keys:
            entry = entries.setdefault(key, {"failures": [], "locked_until": 0})
            failures = [ts for ts in entry["failures"] if ts > now - FAILURE_WINDOW_SECONDS]
            failures.append(now)
            entry["failures"] = failures
            if len(failures) >= MAX_FAILURES and float(entry.get("locked_until", 0)) <= now:
                entry["locked_until"] = now + LOCK_SECONDS
                entry["failures"] = []
                newly_locked.append(key)
        self._trim(now)
        await self._save()
        return newly_locked

    async def record_success(self, *keys: str) -> None:
        entries = await self._load()
        if any(key in entries for key in keys):
            for key in keys:
                entries.pop(key, None)
            await self._save()

    async def reset(self, keys: list[str] | None = None) -> int:
        """Lift locks and forget failures for ``keys``, or for everything when None; return how many were cleared."""
        entries = await self._load()
        if keys is None:
            count = len(entries)
            entries.clear()
        else:
            count = sum(1 for key in keys if entries.pop(key, None) is not None)
        await self._save()
        return count

    async def active(self) -> list[dict[str, Any]]:
        entries = await self._load()
        now = self.clock()
        return [
            {"key": key, "lockedUntil": entry["locked_until"]}
            for key, entry in entries.items()
            if float(entry.get("locked_until", 0)) > now
        ]

    def _trim(self, now: float) -> None:
        assert self._entries is not None
        for key, entry in list(self._entries.items()):
            if float(entry.get("locked_until", 0)) <= now and not any(
                ts > now - FAILURE_WINDOW_SECONDS for ts in entry.get("failures", [])
            ):
                del self._entries[key]
        while len(self._entries) > MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]
