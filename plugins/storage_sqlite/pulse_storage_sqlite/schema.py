"""Database schema, versioned with ``PRAGMA user_version``.

``MIGRATIONS[n]`` upgrades a database from version ``n`` to ``n + 1``. Version
0 is an empty file. Every migration runs in the caller's transaction, so a
failed upgrade leaves the database at its old version.
"""

from __future__ import annotations

import logging
import sqlite3

from pulse_core import SchemaVersionError

log = logging.getLogger(__name__)

# Version 1: metric history. Blocks are keyed time-first so that closing a
# block appends to the end of the B-tree instead of touching one page per series.
_V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    resource TEXT NOT NULL,
    metric TEXT NOT NULL,
    UNIQUE (resource, metric)
);

CREATE TABLE journal (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    data BLOB NOT NULL
);

CREATE TABLE blocks (
    tier INTEGER NOT NULL,
    start INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (tier, start, series_id)
) WITHOUT ROWID;
"""

# Version 2: durable state beside the metrics (alerts, audit log, notification
# queue, sessions, small key-value state).
_V2 = """
CREATE TABLE active_alerts (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE alert_history (
    id TEXT PRIMARY KEY,
    start_time REAL NOT NULL,
    end_time REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX alert_history_start ON alert_history (start_time);
CREATE INDEX alert_history_end ON alert_history (end_time);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX audit_ts ON audit (ts);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt REAL NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT,
    created REAL NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt);
CREATE INDEX deliveries_created ON deliveries (created);

CREATE TABLE sessions (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Version 3: the 1-hour tier stores only the time the 15-minute tier no longer
# covers, and is read from the 15-minute rows elsewhere. Drop the 1-hour rows
# that 15-minute rows cover and move the 1-hour flush point (``flushed_3``) to
# where the 15-minute rows begin. Both tiers use day-long rows, so the two
# ranges meet without a gap.
_V3 = """
DELETE FROM blocks WHERE tier = 3 AND start >= (SELECT min(start) FROM blocks WHERE tier = 2);

UPDATE meta SET value = (SELECT min(start) FROM blocks WHERE tier = 2)
WHERE key = 'flushed_3' AND EXISTS (SELECT 1 FROM blocks WHERE tier = 2);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would commit the open transaction, so run statement by statement.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the database at ``path`` to ``SCHEMA_VERSION``; return the version it had.

    Raises ``SchemaVersionError`` for a database written by a newer Pulse.
    The caller has opened a write transaction (``BEGIN IMMEDIATE``).
    """
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path}: the database has schema version {found}, but this Pulse understands up to "
            f"version {SCHEMA_VERSION}. It was written by a newer Pulse: upgrade Pulse, or point "
            f"storage_sqlite.file at another file to start a new history."
        )
    for version in range(found, SCHEMA_VERSION):
        _execute_script(conn, MIGRATIONS[version])
        log.info("Migrated %s from schema version %d to %d", path, version, version + 1)
    if found != SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return found
