"""Fixtures for the notification core: an in-memory queue store and a fake clock."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pulse_core.protocols import QueuedDelivery


class MemoryQueueStorage:
    """The delivery-queue and key-value part of a StorageBackend, kept in memory.

    Deliveries are deep-copied on the way in and out, as a database would, so
    a test cannot pass by sharing objects with the dispatcher.
    """

    def __init__(self) -> None:
        self.deliveries: dict[str, QueuedDelivery] = {}
        self.values: dict[str, Any] = {}

    async def enqueue_delivery(self, delivery: QueuedDelivery) -> None:
        self.deliveries[delivery.id] = copy.deepcopy(delivery)

    async def due_deliveries(self, now: float, limit: int = 100) -> list[QueuedDelivery]:
        due = [item for item in self.deliveries.values() if item.status == "pending" and item.next_attempt <= now]
        due.sort(key=lambda item: item.next_attempt)
        return copy.deepcopy(due[:limit])

    async def update_delivery(self, delivery: QueuedDelivery) -> None:
        self.deliveries[delivery.id] = copy.deepcopy(delivery)

    async def list_deliveries(self, status: str | None = None, limit: int = 200) -> list[QueuedDelivery]:
        items = [item for item in self.deliveries.values() if status is None or item.status == status]
        return copy.deepcopy(items[:limit])

    async def get_value(self, key: str) -> Any | None:
        return copy.deepcopy(self.values.get(key))

    async def set_value(self, key: str, value: Any) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = copy.deepcopy(value)


class FakeClock:
    """Wall-clock stand-in the dispatcher reads; tests move it by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def memory_storage() -> MemoryQueueStorage:
    return MemoryQueueStorage()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
