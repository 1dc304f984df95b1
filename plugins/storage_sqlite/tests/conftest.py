"""Fixtures of the SQLite backend tests: a settable clock and a storage factory."""

from __future__ import annotations

import zlib
from array import array
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


def build_float24_rollup_blob(size: int, buckets: list[tuple[int, float, float, float]], count: int = 6) -> bytes:
    """Build a rollup blob in the first format by hand: zlib of format byte 2, count planes, float32 high bytes.

    ``buckets`` contains ``(slot, min, avg, max)`` tuples; each filled bucket gets ``count``.
    """
    counts = array("H", bytes(2 * size))
    floats = array("f", bytes(12 * size))
    for slot, low, mean, high in buckets:
        counts[slot] = count
        floats[slot], floats[size + slot], floats[2 * size + slot] = low, mean, high
    count_bytes = counts.tobytes()
    float_bytes = floats.tobytes()
    body = count_bytes[0::2] + count_bytes[1::2] + float_bytes[1::4] + float_bytes[2::4] + float_bytes[3::4]
    return zlib.compress(b"\x02" + body)


@pytest.fixture
def float24_rollup_blob() -> Callable[..., bytes]:
    return build_float24_rollup_blob
