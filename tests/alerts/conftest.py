"""Fixtures shared by the alert engine tests: a fake clock, a State on it and an engine with in-memory storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse_core.alerts import AlertEngine
from pulse_core.state import State

from .helpers import FakeClock, MemoryStorage, RecordingDispatcher, make_engine


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> State:
    return State(clock=clock)


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock, storage: MemoryStorage, dispatcher: RecordingDispatcher) -> AlertEngine:
    return make_engine(tmp_path, clock, storage, dispatcher)
