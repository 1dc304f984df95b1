"""Fixtures of the SQLite backend tests: a settable clock and a storage factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pulse_core import Sample
from pulse_storage_sqlite import SqliteStorage, SqliteStorageSettings

START = 1_699_920_000  # a multiple of every block span (600 s, 3600 s, 86400 s)


class Clock:
    """A clock the test moves by hand; the storage reads it for pruning and tier choice."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_storage(tmp_path: Path, clock: Clock, **settings: object) -> SqliteStorage:
    return SqliteStorage(tmp_path / "pulse.db", SqliteStorageSettings(**settings), clock=clock)


def poll(resources: list[str], metrics: list[str], ts: float, value: float = 50.0) -> list[Sample]:
    return [Sample(resource, metric, ts, value) for resource in resources for metric in metrics]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage_factory(tmp_path: Path, clock: Clock) -> Callable[..., SqliteStorage]:
    def build(**settings: object) -> SqliteStorage:
        return make_storage(tmp_path, clock, **settings)

    return build


@pytest.fixture
def sample_poll() -> Callable[..., list[Sample]]:
    return poll
