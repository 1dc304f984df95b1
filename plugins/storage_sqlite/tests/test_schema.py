from __future__ import annotations

import sqlite3
import zlib

import pytest
from pulse_core import Sample, SchemaVersionError, StorageError

from pulse_storage_sqlite import codec
from pulse_storage_sqlite.schema import MIGRATIONS, SCHEMA_VERSION

START = 1_699_920_000
HOUR = 3600
DAY = 86400

# The first released schema, written out by hand: metric history only.
VERSION_1 = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE series (id INTEGER PRIMARY KEY, resource TEXT NOT NULL, metric TEXT NOT NULL, UNIQUE (resource, metric))",
    "CREATE TABLE journal (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, data BLOB NOT NULL)",
    "CREATE TABLE blocks (tier INTEGER NOT NULL, start INTEGER NOT NULL, series_id INTEGER NOT NULL, "
    "data BLOB NOT NULL, PRIMARY KEY (tier, start, series_id)) WITHOUT ROWID",
]


def build_version_1(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    for statement in VERSION_1:
        conn.execute(statement)
    conn.execute("INSERT INTO series (id, resource, metric) VALUES (1, 'pve-100', 'cpu')")
    stamps = list(range(START, START + 600, 10))
    conn.execute(
        "INSERT INTO blocks VALUES (0, ?, 1, ?)", (START, codec.encode_raw(START, stamps, [12.5] * len(stamps)))
    )
    for tier in range(4):
        conn.execute("INSERT INTO meta VALUES (?, ?)", (f"flushed_{tier}", START + 600 if tier == 0 else START))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


async def test_old_version_migrated_on_open(storage_factory, clock, tmp_path) -> None:
    build_version_1(tmp_path / "pulse.db")
    clock.now = START + 900
    storage = storage_factory()
    await storage.open()
    assert storage.migrated_from == 1
    points = (await storage.query_history(["pve-100"], ["cpu"], START, START + 600))["pve-100"]["cpu"]
    assert len(points) == 60
    assert points[0].avg == 12.5
    # The tables added by version 2 work.
    await storage.set_value("k", 1)
    await storage.write_samples([Sample("pve-100", "cpu", START + 610, 1.0)])
    await storage.aclose()
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental


async def test_new_database_is_current(storage_factory, tmp_path) -> None:
    storage = storage_factory()
    await storage.open()
    assert storage.migrated_from == 0
    await storage.aclose()
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2


async def test_newer_version_rejected(storage_factory, tmp_path) -> None:
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    storage = storage_factory()
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}.*written by a newer Pulse"):
        await storage.open()
    # Nothing was changed: the file still carries the newer version.
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


async def test_not_a_database_rejected(storage_factory, tmp_path) -> None:
    (tmp_path / "pulse.db").write_bytes(zlib.compress(b"x" * 5000))
    storage = storage_factory()
    with pytest.raises(StorageError, match="pulse.db: cannot open the database"):
        await storage.open()


async def test_open_twice_rejected(storage_factory) -> None:
    storage = storage_factory()
    await storage.open()
    with pytest.raises(StorageError, match="already open"):
        await storage.open()
    await storage.aclose()
    await storage.aclose()


def quarter_values(day: int, slot: int) -> tuple[float, float, float]:
    """Return (min, avg, max) of 15-minute bucket ``slot`` of ``day`` in the hand-built version 2 file."""
    avg = 10 + day + slot * 0.125 + (slot % 4) * 0.1
    return avg - 1 - (slot % 4) * 0.01, avg, avg + 2 + (slot % 4) * 0.02


def hour_values(day: int, hour: int) -> tuple[float, float, float]:
    quarters = [quarter_values(day, 4 * hour + q) for q in range(4)]
    return min(q[0] for q in quarters), sum(q[1] for q in quarters) / 4, max(q[2] for q in quarters)


def build_version_2(path, float24_rollup_blob) -> None:
    """Write a version 2 file by hand: 1-hour rows for days 0 to 4 and 15-minute rows for days 3 and 4."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    for statement in VERSION_1:
        conn.execute(statement)
    for statement in MIGRATIONS[1].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO series (id, resource, metric) VALUES (1, 'pve-100', 'cpu')")
    for day in range(5):
        hours = [(hour, *hour_values(day, hour)) for hour in range(24)]
        conn.execute("INSERT INTO blocks VALUES (3, ?, 1, ?)", (START + day * DAY, float24_rollup_blob(24, hours, 360)))
    for day in (3, 4):
        quarters = [(slot, *quarter_values(day, slot)) for slot in range(96)]
        conn.execute("INSERT INTO blocks VALUES (2, ?, 1, ?)", (START + day * DAY, float24_rollup_blob(96, quarters, 90)))
    for tier in range(4):
        conn.execute("INSERT INTO meta VALUES (?, ?)", (f"flushed_{tier}", START + 5 * DAY))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


async def test_hour_rows_under_quarters_migrated(storage_factory, clock, tmp_path, float24_rollup_blob) -> None:
    path = tmp_path / "pulse.db"
    build_version_2(path, float24_rollup_blob)
    clock.now = START + 5 * DAY + 60
    storage = storage_factory()
    await storage.open()
    assert storage.migrated_from == 2

    points = (await storage.query_history(["pve-100"], ["cpu"], START, START + 5 * DAY, max_points=120))["pve-100"]["cpu"]
    assert [point.ts for point in points] == list(range(START, START + 5 * DAY, HOUR))
    for point in points:
        day, hour = divmod((point.ts - START) // HOUR, 24)
        low, avg, high = hour_values(day, hour)
        where = f"day {day} hour {hour}"
        assert point.min == pytest.approx(low, rel=6.2e-5), where
        assert point.avg == pytest.approx(avg, rel=6.2e-5), where
        assert point.max == pytest.approx(high, rel=6.2e-5), where
    await storage.write_samples([Sample("pve-100", "cpu", clock.now, 1.0)])
    await storage.aclose()

    with sqlite3.connect(path) as conn:
        hour_starts = [start for (start,) in conn.execute("SELECT start FROM blocks WHERE tier = 3 ORDER BY start")]
        flushed = conn.execute("SELECT value FROM meta WHERE key = 'flushed_3'").fetchone()[0]
    # The 1-hour rows of days 3 and 4 repeated the 15-minute rows and are gone.
    assert hour_starts == [START, START + DAY, START + 2 * DAY]
    assert flushed == START + 3 * DAY


async def test_first_format_row_merged_on_write(storage_factory, clock, tmp_path, float24_rollup_blob) -> None:
    # A version 2 file whose open 1-minute row, in the first blob format, has its first 30 buckets filled.
    path = tmp_path / "pulse.db"
    conn = sqlite3.connect(path)
    for statement in VERSION_1 + MIGRATIONS[1].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO series (id, resource, metric) VALUES (1, 'pve-100', 'cpu')")
    minutes = [(slot, 10.0 + slot * 0.37, 11.0 + slot * 0.37, 12.0 + slot * 0.37) for slot in range(30)]
    conn.execute("INSERT INTO blocks VALUES (1, ?, 1, ?)", (START, float24_rollup_blob(60, minutes)))
    for tier, value in enumerate((START + 1800, START + 1800, START, START)):
        conn.execute("INSERT INTO meta VALUES (?, ?)", (f"flushed_{tier}", value))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    storage = storage_factory()
    await storage.open()
    for ts in range(START + 1800, START + HOUR + 700, 10):
        clock.now = ts
        await storage.write_samples([Sample("pve-100", "cpu", ts, 50.0)])
    points = (await storage.query_history(["pve-100"], ["cpu"], START, START + HOUR, max_points=60))["pve-100"]["cpu"]
    await storage.aclose()

    assert [point.ts for point in points] == list(range(START, START + HOUR, 60))
    for point, (slot, low, avg, high) in zip(points, minutes):
        assert point.min == pytest.approx(low, rel=6e-4), f"slot {slot}"
        assert point.avg == pytest.approx(avg, rel=6e-4), f"slot {slot}"
        assert point.max == pytest.approx(high, rel=6e-4), f"slot {slot}"
    assert all(point.avg == 50.0 for point in points[30:])
    with sqlite3.connect(path) as conn:
        blob = conn.execute("SELECT data FROM blocks WHERE tier = 1 AND start = ?", (START,)).fetchone()[0]
    # The merge rewrote the row in the current format.
    assert blob[0] == codec.ROLLUP_FORMAT
