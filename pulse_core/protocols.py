"""Typed contracts for the objects that plugin hooks return.

Hooks stay synchronous and cheap; the async work lives in these objects. The
core only ever talks to plugins through these protocols, so a third-party
plugin needs nothing from the core beyond what ``pulse_core`` exports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pulse_core.model import (
    Alert,
    ConnectionReport,
    DeliveryResult,
    Notification,
    PollResult,
    Sample,
)

# --- data sources ----------------------------------------------------------


@runtime_checkable
class Source(Protocol):
    """One configured connection (a PVE cluster or node, a PBS server)."""

    instance: str

    async def poll(self) -> PollResult:
        """Fetch what is due this cycle and return it normalized.

        Takes no timeout: the scheduler wraps each call in ``trio.fail_after``.
        Raises a ``SourceError`` subclass when nothing could be fetched at all.
        """
        ...

    async def test_connection(self) -> ConnectionReport: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PollingDefaults:
    """The configuration's ``polling`` section, handed to every source with its node.

    A source plugin derives its cadences from these and lets the node's own
    ``options`` override them, so one setting in the configuration file changes
    every connection.
    """

    interval_seconds: float = 10.0
    timeout_seconds: float = 8.0
    max_concurrency: int = 8
    detail_interval_seconds: float = 60.0
    slow_interval_seconds: float = 300.0


@dataclass(slots=True)
class NodeSettings:
    """A configured connection as the core stores it; plugins read ``options``.

    ``polling`` is not stored with the node: the daemon fills it from the
    configuration each time it builds a source.
    """

    id: str
    type: str
    name: str
    host: str
    user: str | None = None
    password: str | None = None
    token_name: str | None = None
    token_value: str | None = None
    verify_ssl: bool = True
    fingerprint: str | None = None
    enabled: bool = True
    # Per-source settings beyond the common ones (cadences, PBS namespaces ...).
    options: dict[str, Any] = field(default_factory=dict)
    polling: PollingDefaults = field(default_factory=PollingDefaults)


class SourceType(Protocol):
    """Factory for one kind of source, registered by ``pulse_source_types``."""

    name: str  # "pve", "pbs", ...
    default_port: int

    def validate(self, settings: NodeSettings) -> list[str]:
        """Return one "field: reason" line per problem; empty when valid."""
        ...

    def create(self, settings: NodeSettings) -> Source: ...


# --- storage ---------------------------------------------------------------


@dataclass(slots=True)
class HistoryPoint:
    ts: float
    avg: float
    min: float
    max: float


@dataclass(slots=True)
class QueuedDelivery:
    """A notification waiting for (re)delivery to one channel."""

    id: str
    channel_id: str
    payload: dict[str, Any]
    attempts: int
    next_attempt: float
    status: str  # pending, delivered, dead
    last_error: str | None = None
    created: float = 0.0


@runtime_checkable
class StorageBackend(Protocol):
    """Everything Pulse keeps across restarts apart from the settings file.

    Every method may run blocking I/O in a worker thread but must never block
    the Trio event loop.
    """

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    # metric history
    async def write_samples(self, samples: Sequence[Sample]) -> None: ...

    async def query_history(
        self,
        resource_ids: Sequence[str] | None,
        metrics: Sequence[str] | None,
        start: float,
        end: float,
        max_points: int = 600,
    ) -> dict[str, dict[str, list[HistoryPoint]]]:
        """Return ``{resource_id: {metric: points}}`` from the tier that fits the range."""
        ...

    async def prune(self, now: float | None = None) -> None: ...

    # alerts
    async def save_active_alerts(self, alerts: Sequence[Alert]) -> None: ...

    async def load_active_alerts(self) -> list[Alert]: ...

    async def append_alert_history(self, alert: Alert) -> None: ...

    async def query_alert_history(self, since: float | None = None, limit: int = 1000) -> list[Alert]: ...

    async def clear_alert_history(self) -> None: ...

    # audit log
    async def append_audit(self, event: Mapping[str, Any]) -> None: ...

    async def query_audit(self, limit: int = 200, before: float | None = None) -> list[dict[str, Any]]: ...

    # notification queue
    async def enqueue_delivery(self, delivery: QueuedDelivery) -> None: ...

    async def due_deliveries(self, now: float, limit: int = 100) -> list[QueuedDelivery]: ...

    async def update_delivery(self, delivery: QueuedDelivery) -> None: ...

    async def list_deliveries(self, status: str | None = None, limit: int = 200) -> list[QueuedDelivery]: ...

    # sessions (keys are hashes of the cookie value, never the value itself)
    async def save_session(self, key: str, data: Mapping[str, Any], expires: float) -> None: ...

    async def load_session(self, key: str) -> dict[str, Any] | None: ...

    async def delete_session(self, key: str) -> None: ...

    async def delete_sessions(self, except_key: str | None = None) -> None: ...

    # small key-value state (lockouts, update status, ...)
    async def get_value(self, key: str) -> Any | None: ...

    async def set_value(self, key: str, value: Any) -> None: ...


class StorageType(Protocol):
    name: str  # "sqlite", ...

    def create(self, data_dir: str, options: Mapping[str, Any]) -> StorageBackend: ...


# --- notifiers -------------------------------------------------------------


@runtime_checkable
class Notifier(Protocol):
    """One delivery channel (an SMTP account, one webhook)."""

    id: str

    async def send(self, notification: Notification) -> DeliveryResult:
        """Deliver once; never retries itself (the dispatcher retries)."""
        ...


class NotifierType(Protocol):
    name: str  # "email", "webhook", ...

    def channels(self, settings: Any) -> list[Notifier]:
        """Build the enabled channels from this notifier's section of the settings store.

        ``settings`` is the ``SettingsStore``; read the section with ``settings.get(name, default)``.
        Channel ids must be unique across all notifiers (prefix them with the type name).
        """
        ...


# --- authentication ----------------------------------------------------------


@dataclass(slots=True)
class Principal:
    """Identity behind a request, as decided by an authenticator."""

    name: str
    method: str  # session, token, proxy
    scopes: frozenset[str] = frozenset({"*"})
    session_key: str | None = None

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


class RequestInfo(Protocol):
    """The parts of an HTTP request an authenticator may read."""

    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    client_address: str
    path: str
    method: str


class Authenticator(Protocol):
    name: str

    async def authenticate(self, request: RequestInfo) -> Principal | None:
        """Return the principal, or None when this method does not apply."""
        ...


# --- what plugins receive from the daemon ----------------------------------------


class DaemonContext(Protocol):
    """The running daemon as lifecycle and route hooks see it.

    ``settings`` is the persisted settings store, ``state`` the merged state,
    ``storage`` the storage backend. Plugins must treat all three as shared and
    change settings only through ``settings.update()``.
    """

    data_dir: str
    settings: Any
    state: Any
    storage: StorageBackend

    async def audit(self, action: str, **fields: Any) -> None: ...

    def reload_channels(self) -> None:
        """Rebuild notifier channels after a notifier's settings changed."""
        ...
