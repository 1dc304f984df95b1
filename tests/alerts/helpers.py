"""Shared helpers for the alert tests: a fake clock, in-memory storage, a recording dispatcher, state builders."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pulse_core.alerts import AlertEngine
from pulse_core.config import SettingsStore
from pulse_core.model import (
    Alert,
    ConnectionHealth,
    Guest,
    Node,
    Notification,
    PollResult,
    Storage,
    Usage,
    guest_id,
    node_id,
    storage_id,
)
from pulse_core.protocols import QueuedDelivery
from pulse_core.state import State

INSTANCE = "pve1"
GIB = 1024**3


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MemoryStorage:
    """The alert, key-value and delivery-queue parts of a StorageBackend, kept in memory."""

    def __init__(self) -> None:
        self.active: list[Alert] = []
        self.history: list[Alert] = []
        self.audit: list[dict[str, Any]] = []
        self.values: dict[str, Any] = {}
        self.deliveries: dict[str, QueuedDelivery] = {}
        self.save_calls = 0

    async def save_active_alerts(self, alerts: Sequence[Alert]) -> None:
        self.save_calls += 1
        self.active = [_copy_alert(alert) for alert in alerts]

    async def load_active_alerts(self) -> list[Alert]:
        return [_copy_alert(alert) for alert in self.active]

    async def append_alert_history(self, alert: Alert) -> None:
        self.history.append(_copy_alert(alert))

    async def query_alert_history(self, since: float | None = None, limit: int = 1000) -> list[Alert]:
        found = [alert for alert in self.history if since is None or (alert.resolved_time or 0) >= since]
        return sorted(found, key=lambda alert: alert.resolved_time or 0, reverse=True)[:limit]

    async def clear_alert_history(self) -> None:
        self.history.clear()

    async def append_audit(self, event: Mapping[str, Any]) -> None:
        self.audit.append(dict(event))

    async def get_value(self, key: str) -> Any | None:
        return self.values.get(key)

    async def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value

    async def enqueue_delivery(self, delivery: QueuedDelivery) -> None:
        self.deliveries[delivery.id] = delivery

    async def due_deliveries(self, now: float, limit: int = 100) -> list[QueuedDelivery]:
        due = [item for item in self.deliveries.values() if item.status == "pending" and item.next_attempt <= now]
        return due[:limit]

    async def update_delivery(self, delivery: QueuedDelivery) -> None:
        self.deliveries[delivery.id] = delivery

    async def list_deliveries(self, status: str | None = None, limit: int = 200) -> list[QueuedDelivery]:
        return [item for item in self.deliveries.values() if status is None or item.status == status][:limit]


def _copy_alert(alert: Alert) -> Alert:
    # Storage keeps its own copy, as a database would.
    return copy.deepcopy(alert)


class RecordingDispatcher:
    """Collects what the engine sends, like the dispatcher's ``send_notification``."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def send_notification(self, notification: Notification) -> list[str]:
        self.sent.append(notification)
        return []

    def events(self) -> list[tuple[str, list[str]]]:
        return [(item.event, [alert.id for alert in item.alerts]) for item in self.sent]


def make_engine(
    data_dir: Path,
    clock: FakeClock,
    storage: Any | None = None,
    dispatcher: Any | None = None,
    settings: SettingsStore | None = None,
) -> AlertEngine:
    engine = AlertEngine(settings or SettingsStore(data_dir), storage or MemoryStorage(), clock=clock)
    engine.attach_dispatcher(dispatcher or RecordingDispatcher())
    return engine


def usage(percent: float | None, total: int = 100 * GIB) -> Usage:
    if percent is None:
        return Usage(total=total, used=None, unknown_reason="no guest agent")
    return Usage(total=total, used=int(total * percent / 100))


def make_guest(
    vmid: int = 101,
    *,
    cpu: float | None = 0.1,
    memory: float | None = 10.0,
    disk: float | None = 10.0,
    status: str = "running",
    node: str = "node1",
    tags: Sequence[str] = (),
    instance: str = INSTANCE,
) -> Guest:
    return Guest(
        id=guest_id(instance, vmid), vmid=vmid, name=f"vm{vmid}", node=node, instance=instance, type="qemu",
        status=status, cpu=None if cpu is None else cpu / 100.0, memory=usage(memory), disk=usage(disk),
        tags=list(tags),
    )


def make_node(
    name: str = "node1", *, cpu: float | None = 5.0, memory: float | None = 20.0, status: str = "online",
    instance: str = INSTANCE,
) -> Node:
    return Node(
        id=node_id(instance, name), name=name, instance=instance, status=status,  # type: ignore[arg-type]
        cpu=None if cpu is None else cpu / 100.0, memory=usage(memory), disk=usage(30.0),
    )


def make_storage(
    name: str = "local", *, percent: float | None = 40.0, active: bool = True, status: str = "available",
    node: str = "node1", instance: str = INSTANCE,
) -> Storage:
    return Storage(
        id=storage_id(instance, node, name), name=name, node=node, instance=instance, active=active,
        status=status, usage=usage(percent),
    )


def apply_poll(state: State, clock: FakeClock, instance: str = INSTANCE, **lists: Any) -> None:
    """Apply a successful poll of ``instance`` with the given resource lists."""
    state.apply(PollResult(instance=instance, **lists))
    state.set_health(ConnectionHealth(instance=instance, healthy=True, last_success=clock()))


def fail_poll(state: State, clock: FakeClock, instance: str = INSTANCE, failures: int = 1) -> None:
    """Record a poll of ``instance`` that could not connect."""
    state.mark_instance_failed(instance)
    state.set_health(ConnectionHealth(
        instance=instance, healthy=False, status="connect", message="connection refused",
        last_error=clock(), consecutive_failures=failures,
    ))
