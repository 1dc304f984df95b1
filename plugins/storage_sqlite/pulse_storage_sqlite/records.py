"""Durable state beside the metrics: alerts, audit log, notification queue, sessions and key-value pairs.

Synchronous functions over a connection; the backend runs writes on its
writer connection and reads on a reader connection, each in a worker thread.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from pulse_core import Alert, StorageError
from pulse_core.protocols import QueuedDelivery


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"cannot store {what}: it is not JSON-serializable ({exc})") from exc


# --- alerts ---------------------------------------------------------------------------------------


def alert_to_json(alert: Alert) -> str:
    return _dumps(dataclasses.asdict(alert), f"alert {alert.id}")


def alert_from_json(text: str) -> Alert:
    data = json.loads(text)
    known = {field.name for field in dataclasses.fields(Alert)}
    # Fields added to Alert later get their defaults; fields removed since are ignored.
    return Alert(**{key: value for key, value in data.items() if key in known})


def save_active_alerts(conn: sqlite3.Connection, alerts: Sequence[Alert]) -> None:
    """Replace the stored set of active alerts."""
    conn.execute("DELETE FROM active_alerts")
    conn.executemany("INSERT INTO active_alerts (id, data) VALUES (?, ?)", [(a.id, alert_to_json(a)) for a in alerts])


def load_active_alerts(conn: sqlite3.Connection) -> list[Alert]:
    return [alert_from_json(text) for (text,) in conn.execute("SELECT data FROM active_alerts ORDER BY id")]


def append_alert_history(conn: sqlite3.Connection, alert: Alert) -> None:
    """Store an alert episode; storing the same id again replaces the earlier copy."""
    end = alert.resolved_time if alert.resolved_time is not None else alert.last_seen
    conn.execute(
        "INSERT OR REPLACE INTO alert_history (id, start_time, end_time, data) VALUES (?, ?, ?, ?)",
        (alert.id, alert.start_time, end, alert_to_json(alert)),
    )


def query_alert_history(conn: sqlite3.Connection, since: float | None, limit: int) -> list[Alert]:
    """Return episodes that ended at or after ``since``, newest start first."""
    rows = conn.execute(
        "SELECT data FROM alert_history WHERE end_time >= ? ORDER BY start_time DESC LIMIT ?",
        (since if since is not None else float("-inf"), limit),
    )
    return [alert_from_json(text) for (text,) in rows]


# --- audit log ------------------------------------------------------------------------------------


def append_audit(conn: sqlite3.Connection, event: Mapping[str, Any], now: float) -> None:
    ts = event.get("ts", now)
    if not isinstance(ts, (int, float)):
        raise StorageError(f"audit event ts must be epoch seconds, got {ts!r}")
    conn.execute("INSERT INTO audit (ts, data) VALUES (?, ?)", (float(ts), _dumps(dict(event), "audit event")))


def query_audit(conn: sqlite3.Connection, limit: int, before: float | None) -> list[dict[str, Any]]:
    """Return events older than ``before`` (all when None), newest first."""
    rows = conn.execute(
        "SELECT data FROM audit WHERE ts < ? ORDER BY ts DESC, id DESC LIMIT ?",
        (before if before is not None else float("inf"), limit),
    )
    return [json.loads(text) for (text,) in rows]


# --- notification queue ------------------------------------------------------------------------------

_DELIVERY_COLUMNS = "id, channel_id, payload, attempts, next_attempt, status, last_error, created"


def _delivery_row(delivery: QueuedDelivery) -> tuple[Any, ...]:
    return (
        delivery.id,
        delivery.channel_id,
        _dumps(delivery.payload, f"delivery {delivery.id}"),
        delivery.attempts,
        delivery.next_attempt,
        delivery.status,
        delivery.last_error,
        delivery.created,
    )


def _delivery(row: tuple[Any, ...]) -> QueuedDelivery:
    id_, channel_id, payload, attempts, next_attempt, status, last_error, created = row
    return QueuedDelivery(
        id=id_,
        channel_id=channel_id,
        payload=json.loads(payload),
        attempts=attempts,
        next_attempt=next_attempt,
        status=status,
        last_error=last_error,
        created=created,
    )


def save_delivery(conn: sqlite3.Connection, delivery: QueuedDelivery) -> None:
    """Insert a delivery or replace the stored one with the same id."""
    conn.execute(f"INSERT OR REPLACE INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _delivery_row(delivery))


def update_delivery(conn: sqlite3.Connection, delivery: QueuedDelivery) -> None:
    cursor = conn.execute(
        "UPDATE deliveries SET channel_id = ?, payload = ?, attempts = ?, next_attempt = ?, status = ?, "
        "last_error = ?, created = ? WHERE id = ?",
        (*_delivery_row(delivery)[1:], delivery.id),
    )
    if cursor.rowcount == 0:
        raise StorageError(f"delivery {delivery.id!r} not found: enqueue it before updating it")


def due_deliveries(conn: sqlite3.Connection, now: float, limit: int) -> list[QueuedDelivery]:
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending' AND next_attempt <= ? "
        "ORDER BY next_attempt, created LIMIT ?",
        (now, limit),
    )
    return [_delivery(row) for row in rows]


def list_deliveries(conn: sqlite3.Connection, status: str | None, limit: int) -> list[QueuedDelivery]:
    if status is None:
        rows = conn.execute(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries ORDER BY created DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = ? ORDER BY created DESC LIMIT ?", (status, limit)
        )
    return [_delivery(row) for row in rows]


# --- sessions and key-value state ---------------------------------------------------------------------


def save_session(conn: sqlite3.Connection, key: str, data: Mapping[str, Any], expires: float) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sessions (key, data, expires) VALUES (?, ?, ?)",
        (key, _dumps(dict(data), "session"), expires),
    )


def load_session(conn: sqlite3.Connection, key: str, now: float) -> dict[str, Any] | None:
    row = conn.execute("SELECT data FROM sessions WHERE key = ? AND expires > ?", (key, now)).fetchone()
    return json.loads(row[0]) if row else None


def delete_session(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM sessions WHERE key = ?", (key,))


def delete_sessions(conn: sqlite3.Connection, except_key: str | None) -> None:
    conn.execute("DELETE FROM sessions WHERE key IS NOT ?", (except_key,))


def get_value(conn: sqlite3.Connection, key: str) -> Any | None:
    row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def set_value(conn: sqlite3.Connection, key: str, value: Any) -> None:
    """Store ``value`` as JSON under ``key``; None deletes the key."""
    if value is None:
        conn.execute("DELETE FROM kv WHERE key = ?", (key,))
    else:
        conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, _dumps(value, f"value {key!r}")))


# --- retention --------------------------------------------------------------------------------------


def prune_records(
    conn: sqlite3.Connection, now: float, alert_seconds: float, audit_seconds: float, delivery_seconds: float
) -> int:
    """Delete expired sessions and history older than its retention; return the rows deleted."""
    deleted = conn.execute("DELETE FROM alert_history WHERE end_time < ?", (now - alert_seconds,)).rowcount
    deleted += conn.execute("DELETE FROM audit WHERE ts < ?", (now - audit_seconds,)).rowcount
    deleted += conn.execute(
        "DELETE FROM deliveries WHERE status IN ('delivered', 'dead') AND created < ?", (now - delivery_seconds,)
    ).rowcount
    deleted += conn.execute("DELETE FROM sessions WHERE expires <= ?", (now,)).rowcount
    return deleted
