"""Faults injected into simulated responses: latency, errors, broken bodies."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

FAULT_KINDS = ("latency", "error", "malformed", "truncated", "oversized")
SERVERS = ("pve", "pbs")


@dataclass
class Fault:
    """One active fault.

    ``pattern`` is a shell-style glob matched against the API path without the
    ``/api2/json`` prefix and without the query string, e.g. ``/cluster/resources``
    or ``/nodes/*/qemu/*/agent/*`` (``*`` also matches ``/``). ``remaining`` is
    how many more requests it hits; None means until cleared.
    """

    kind: str
    pattern: str
    server: str | None = None
    seconds: float = 0.0
    status: int = 500
    body: str | None = None
    # Size in bytes of an oversized body.
    size: int = 0
    remaining: int | None = None

    def matches(self, server: str, path: str) -> bool:
        if self.server is not None and self.server != server:
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


class FaultSet:
    """The active faults of a simulator, shared by all its endpoints."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if fault.server is not None and fault.server not in SERVERS:
            raise ValueError(f"unknown server {fault.server!r}; expected 'pve', 'pbs' or none for both")
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError(f"times must be at least 1 (or omitted for 'until cleared'), got {fault.remaining}")
        # A newer fault of the same kind and pattern replaces the older one.
        self._faults = [
            item for item in self._faults
            if not (item.kind == fault.kind and item.pattern == fault.pattern and item.server == fault.server)
        ]
        self._faults.append(fault)
        return fault

    def clear(self, pattern: str | None = None, kind: str | None = None) -> int:
        """Remove faults matching ``pattern`` and ``kind`` (None = any); return how many."""
        before = len(self._faults)
        self._faults = [
            item for item in self._faults
            if not ((pattern is None or item.pattern == pattern) and (kind is None or item.kind == kind))
        ]
        return before - len(self._faults)

    def active(self) -> list[Fault]:
        return list(self._faults)

    def take(self, server: str, path: str) -> list[Fault]:
        """Return the faults that hit this request and count the hit against them."""
        if not self._faults:
            return []
        hits = [fault for fault in self._faults if fault.matches(server, path)]
        for fault in hits:
            if fault.remaining is not None:
                fault.remaining -= 1
        self._faults = [fault for fault in self._faults if fault.remaining is None or fault.remaining > 0]
        return hits
