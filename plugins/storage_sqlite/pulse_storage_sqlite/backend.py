"""``SqliteStorage``: the StorageBackend over one SQLite file in WAL mode.

One writer connection serves every write, one at a time, in a worker thread.
Queries run on a small pool of reader connections in their own worker
threads. WAL lets them read a consistent snapshot while a write is in progress,
so a query does not wait for a long write to finish.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import trio

from pulse_core import Alert, Sample, StorageError
from pulse_core.protocols import HistoryPoint, QueuedDelivery
from pulse_storage_sqlite import history, records, schema
from pulse_storage_sqlite.columns import SeriesColumns
from pulse_storage_sqlite.settings import SqliteStorageSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
_DAY = 86400.0
# Pages of free space kept for reuse after pruning, as a fraction of the file.
_FREE_RESERVE = 0.125


class SqliteStorage:
    """Metric history and durable state in ``<data_dir>/<file>``."""

    def __init__(
        self,
        path: str | Path,
        settings: SqliteStorageSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.settings = settings or SqliteStorageSettings()
        self.clock = clock
        self.retentions = self.settings.retentions()
        self.head = history.Head()
        self._writer: sqlite3.Connection | None = None
        self._history: history.HistoryWriter | None = None
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._reader_count = 0
        self._write_limiter = trio.CapacityLimiter(1)
        self._read_limiter = trio.CapacityLimiter(self.settings.read_connections)
        self._last_prune = float("-inf")
        self.migrated_from: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.settings.busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {self.settings.busy_timeout_ms}")
        return conn

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            fresh = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
            if fresh:
                # Only takes effect before the first table exists.
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StorageError(f"{self.path}: cannot switch the database to WAL mode (got {mode!r})")
            # In WAL mode NORMAL survives a process crash; only an OS crash can lose the last commits.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            conn.execute("BEGIN IMMEDIATE")
            try:
                self.migrated_from = schema.migrate(conn, str(self.path))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._history = history.HistoryWriter(conn, self.head, self.settings.late_sample_grace_seconds)
        except BaseException:
            conn.close()
            raise
        self._writer = conn
        for _ in range(self.settings.read_connections):
            reader = self._connect()
            reader.execute("PRAGMA query_only = ON")
            self._readers.put(reader)
            self._reader_count += 1

    async def open(self) -> None:
        """Open (creating or migrating) the database; raises ``SchemaVersionError`` for a newer one."""
        if self._writer is not None:
            raise StorageError(f"{self.path}: storage is already open")
        try:
            await trio.to_thread.run_sync(self._open_sync)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: cannot open the database: {exc}") from exc
        log.info("Opened %s (schema version %d)", self.path, schema.SCHEMA_VERSION)

    def _close_sync(self) -> None:
        while self._reader_count:
            self._readers.get().close()
            self._reader_count -= 1
        if self._writer is not None:
            try:
                self._writer.execute("PRAGMA optimize")
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("Cannot checkpoint %s on close: %s", self.path, exc)
            self._writer.close()
            self._writer = None
            self._history = None

    async def aclose(self) -> None:
        """Wait for the running write, then close every connection; safe to call twice."""
        async with self._write_limiter:
            await trio.to_thread.run_sync(self._close_sync)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Prune on schedule even when no samples arrive (writes also prune when due)."""
        task_status.started()
        while True:
            await trio.sleep(self.settings.prune_interval_seconds)
            try:
                await self.prune()
            except StorageError:
                log.exception("Scheduled pruning of %s failed; retrying in %.0f s", self.path, self.settings.prune_interval_seconds)

    # --- plumbing -------------------------------------------------------------------------------------

    def _require_writer(self) -> sqlite3.Connection:
        if self._writer is None:
            raise StorageError(f"{self.path}: storage is not open; call open() first")
        return self._writer

    def _in_transaction(self, operation: str, fn: Callable[..., T], *args: Any) -> T:
        conn = self._require_writer()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, *args)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {operation} failed: {exc}") from exc
        return result

    async def _write(self, operation: str, fn: Callable[..., T], *args: Any) -> T:
        return await trio.to_thread.run_sync(self._in_transaction, operation, fn, *args, limiter=self._write_limiter)

    def _read_sync(self, operation: str, fn: Callable[..., T], *args: Any) -> T:
        if self._writer is None:
            raise StorageError(f"{self.path}: storage is not open; call open() first")
        conn = self._readers.get()
        try:
            # One read transaction, so every statement reads the same snapshot.
            conn.execute("BEGIN")
            try:
                return fn(conn, *args)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {operation} failed: {exc}") from exc
        finally:
            self._readers.put(conn)

    async def _read(self, operation: str, fn: Callable[..., T], *args: Any) -> T:
        return await trio.to_thread.run_sync(self._read_sync, operation, fn, *args, limiter=self._read_limiter)

    # --- metric history --------------------------------------------------------------------------------

    def _write_samples_sync(self, samples: Sequence[Sample]) -> None:
        self._require_writer()
        assert self._history is not None
        try:
            self._history.write(samples)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: writing {len(samples)} samples failed: {exc}") from exc
        if self.clock() - self._last_prune >= self.settings.prune_interval_seconds:
            self._prune_sync(None)

    async def write_samples(self, samples: Sequence[Sample]) -> None:
        """Store one poll's samples in one transaction; prunes first when a pruning pass is due."""
        if not samples:
            return
        await trio.to_thread.run_sync(self._write_samples_sync, samples, limiter=self._write_limiter)

    async def query_history(
        self,
        resource_ids: Sequence[str] | None,
        metrics: Sequence[str] | None,
        start: float,
        end: float,
        max_points: int = 600,
    ) -> dict[str, dict[str, list[HistoryPoint]]]:
        return await self._query("history query", history.query, resource_ids, metrics, start, end, max_points)

    async def query_history_columns(
        self,
        resource_ids: Sequence[str] | None,
        metrics: Sequence[str] | None,
        start: float,
        end: float,
        max_points: int = 600,
    ) -> dict[str, dict[str, SeriesColumns]]:
        """Return what ``query_history`` returns, with each series as four arrays instead of point objects.

        Charts of many series use this: a point object per bucket costs more
        than reading and bucketing the data.
        """
        return await self._query("history query", history.query_columns, resource_ids, metrics, start, end, max_points)

    async def _query(
        self,
        operation: str,
        fn: Callable[..., T],
        resource_ids: Sequence[str] | None,
        metrics: Sequence[str] | None,
        start: float,
        end: float,
        max_points: int,
    ) -> T:
        if max_points < 1:
            raise StorageError(f"max_points must be at least 1, got {max_points}")
        if end < start:
            raise StorageError(f"query range is reversed: start {start} is after end {end}")
        return await self._read(
            operation,
            fn,
            self.head,
            self.retentions,
            self.clock(),
            list(resource_ids) if resource_ids is not None else None,
            list(metrics) if metrics is not None else None,
            start,
            end,
            max_points,
        )

    def _prune_sync(self, now: float | None) -> None:
        now = self.clock() if now is None else now
        settings = self.settings

        def prune_all(conn: sqlite3.Connection) -> int:
            assert self._history is not None
            deleted = self._history.prune(self.retentions, now)
            deleted += records.prune_records(
                conn,
                now,
                settings.alert_history_days * _DAY,
                settings.audit_retention_days * _DAY,
                settings.delivery_retention_days * _DAY,
            )
            return deleted

        self._require_writer()
        try:
            deleted = self._in_transaction("pruning", prune_all)
        except BaseException:
            # The rollback undid the database side; bring the writer's flush points back in line.
            if self._history is not None:
                self._history.reload()
            raise
        self._last_prune = now
        freed = self._incremental_vacuum()
        log.debug("Pruned %d rows from %s, released %d pages", deleted, self.path, freed)

    def _incremental_vacuum(self) -> int:
        """Return free pages to the file system, keeping a reserve that the next writes reuse."""
        conn = self._require_writer()
        try:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            excess = free - int(pages * _FREE_RESERVE)
            if excess > 0:
                conn.execute(f"PRAGMA incremental_vacuum({excess})").fetchall()
                return excess
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: incremental vacuum failed: {exc}") from exc
        return 0

    async def prune(self, now: float | None = None) -> None:
        """Delete data older than each retention and release free pages."""
        await trio.to_thread.run_sync(self._prune_sync, now, limiter=self._write_limiter)

    # --- alerts ------------------------------------------------------------------------------------------

    async def save_active_alerts(self, alerts: Sequence[Alert]) -> None:
        await self._write("saving active alerts", records.save_active_alerts, list(alerts))

    async def load_active_alerts(self) -> list[Alert]:
        return await self._read("loading active alerts", records.load_active_alerts)

    async def append_alert_history(self, alert: Alert) -> None:
        await self._write("appending alert history", records.append_alert_history, alert)

    async def query_alert_history(self, since: float | None = None, limit: int = 1000) -> list[Alert]:
        return await self._read("alert history query", records.query_alert_history, since, limit)

    async def clear_alert_history(self) -> None:
        await self._write("clearing alert history", lambda conn: conn.execute("DELETE FROM alert_history"))

    # --- audit log -----------------------------------------------------------------------------------------

    async def append_audit(self, event: Mapping[str, Any]) -> None:
        await self._write("appending an audit event", records.append_audit, dict(event), self.clock())

    async def query_audit(self, limit: int = 200, before: float | None = None) -> list[dict[str, Any]]:
        return await self._read("audit query", records.query_audit, limit, before)

    # --- notification queue ----------------------------------------------------------------------------------

    async def enqueue_delivery(self, delivery: QueuedDelivery) -> None:
        await self._write("queueing a delivery", records.save_delivery, delivery)

    async def due_deliveries(self, now: float, limit: int = 100) -> list[QueuedDelivery]:
        return await self._read("due deliveries query", records.due_deliveries, now, limit)

    async def update_delivery(self, delivery: QueuedDelivery) -> None:
        await self._write("updating a delivery", records.update_delivery, delivery)

    async def list_deliveries(self, status: str | None = None, limit: int = 200) -> list[QueuedDelivery]:
        return await self._read("delivery list query", records.list_deliveries, status, limit)

    # --- sessions ---------------------------------------------------------------------------------------------

    async def save_session(self, key: str, data: Mapping[str, Any], expires: float) -> None:
        await self._write("saving a session", records.save_session, key, dict(data), expires)

    async def load_session(self, key: str) -> dict[str, Any] | None:
        return await self._read("loading a session", records.load_session, key, self.clock())

    async def delete_session(self, key: str) -> None:
        await self._write("deleting a session", records.delete_session, key)

    async def delete_sessions(self, except_key: str | None = None) -> None:
        await self._write("deleting sessions", records.delete_sessions, except_key)

    # --- key-value state ------------------------------------------------------------------------------------

    async def get_value(self, key: str) -> Any | None:
        return await self._read("reading a value", records.get_value, key)

    async def set_value(self, key: str, value: Any) -> None:
        await self._write("storing a value", records.set_value, key, value)

    # --- introspection ----------------------------------------------------------------------------------------

    async def statistics(self) -> dict[str, Any]:
        """Return the file size, row counts per tier and samples waiting in memory."""

        def collect(conn: sqlite3.Connection) -> dict[str, Any]:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            blocks = dict(conn.execute("SELECT tier, count(*) FROM blocks GROUP BY tier").fetchall())
            return {
                "file_bytes": page_size * pages,
                "free_bytes": page_size * free,
                "series": conn.execute("SELECT count(*) FROM series").fetchone()[0],
                "journal_rows": conn.execute("SELECT count(*) FROM journal").fetchone()[0],
                "blocks": blocks,
                "head_samples": self.head.sample_count(),
            }

        return await self._read("statistics", collect)
