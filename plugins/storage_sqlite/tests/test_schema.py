from __future__ import annotations

import sqlite3
import zlib

import pytest
from pulse_core import Sample, SchemaVersionError, StorageError

from pulse_storage_sqlite import codec
from pulse_storage_sqlite.schema import SCHEMA_VERSION

START = 1_699_920_000

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
