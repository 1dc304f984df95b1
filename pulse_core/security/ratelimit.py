"""Per-client rate limits with fixed windows.

Every API request counts against the general limit. Some paths also count
against a tighter limit of their own; the tighter one decides the
``X-RateLimit-*`` headers. ``X-RateLimit-Reset`` is the Unix time (seconds)
when the window that decided ends, and ``Retry-After`` is the seconds until then.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    requests: int
    window_seconds: float


GENERAL = Limit("general", 500, 60)
AUTH = Limit("auth", 10, 60)
TRANSFER = Limit("export_import", 5, 60)
TEST_EMAIL = Limit("test_email", 10, 60)
UPDATE_CHECK = Limit("update_check", 10, 3600)

# (method or None for any, path) -> the tighter limit for that endpoint.
PATH_LIMITS: dict[tuple[str | None, str], Limit] = {
    ("POST", "/api/login"): AUTH,
    ("POST", "/api/security/change-password"): AUTH,
    (None, "/api/config/export"): TRANSFER,
    (None, "/api/config/import"): TRANSFER,
    ("POST", "/api/notifications/email/test"): TEST_EMAIL,
    (None, "/api/updates/check"): UPDATE_CHECK,
}

# Bounds the memory an address-rotating client can make us spend. Beyond it, expired
# windows are pruned first and then the oldest entries are dropped.
MAX_TRACKED = 50_000


@dataclass(slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: float  # Unix time at which the deciding window ends
    retry_after: int  # whole seconds, at least 1 when rejected

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def limits_for(method: str, path: str) -> list[Limit]:
    specific = PATH_LIMITS.get((method.upper(), path)) or PATH_LIMITS.get((None, path))
    return [GENERAL, specific] if specific else [GENERAL]


class RateLimiter:
    """Counts requests per (limit, client) in fixed windows; ``clock`` returns Unix seconds."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        # (limit name, client) -> [window start, count]
        self._windows: dict[tuple[str, str], list[float]] = {}

    def hit(self, client: str, method: str, path: str) -> Decision:
        """Count one request and return the decision of the tightest limit that applies."""
        now = self.clock()
        decisions = [self._hit(limit, client, now) for limit in limits_for(method, path)]
        rejected = [decision for decision in decisions if not decision.allowed]
        if rejected:
            return max(rejected, key=lambda decision: decision.reset)
        return min(decisions, key=lambda decision: decision.remaining)

    def _hit(self, limit: Limit, client: str, now: float) -> Decision:
        key = (limit.name, client)
        window = self._windows.get(key)
        if window is None or now >= window[0] + limit.window_seconds:
            if len(self._windows) >= MAX_TRACKED:
                self._prune(now)
            window = [now, 0]
            self._windows[key] = window
        reset = window[0] + limit.window_seconds
        if window[1] >= limit.requests:
            # Rejected requests are not counted, so a client that waits gets its full quota back.
            return Decision(False, limit.requests, 0, reset, max(1, math.ceil(reset - now)))
        window[1] += 1
        return Decision(True, limit.requests, int(limit.requests - window[1]), reset, 0)

    def _prune(self, now: float) -> None:
        longest = max(limit.window_seconds for limit in (GENERAL, *PATH_LIMITS.values()))
        for key, window in list(self._windows.items()):
            if now >= window[0] + longest:
                del self._windows[key]
        while len(self._windows) >= MAX_TRACKED:
            del self._windows[next(iter(self._windows))]

    def reset(self) -> None:
        self._windows.clear()
