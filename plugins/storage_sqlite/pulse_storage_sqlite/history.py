"""Metric history: the write path, rollups, reads and retention of the four tiers.

Everything here is synchronous and runs in a worker thread. The writer owns
one connection and the ``Head``; readers use their own connections and only
read the ``Head`` under its lock.
"""

from __future__ import annotations

import bisect
import logging
import math
import sqlite3
import threading
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence

from pulse_core import Sample
from pulse_core.protocols import HistoryPoint

from pulse_storage_sqlite import codec
from pulse_storage_sqlite.codec import Bucket
from pulse_storage_sqlite.tiers import RAW, TIERS, Tier, choose_tier

log = logging.getLogger(__name__)

# Above this many series a read fetches whole blocks and filters in Python:
# SQLite allows a limited number of bound parameters per statement.
_MAX_SQL_IDS = 500


class Head:
    """Raw samples of the open raw blocks, in memory so that reads need not decode the journal.

    It also keeps the block flushed last, because a reader whose snapshot
    predates that flush still looks for those samples here.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[int, tuple[array, array]] = {}

    def add(self, series_ids: Sequence[int], timestamps: Sequence[int], values: Sequence[float]) -> None:
        """Append samples, keeping each series sorted by time (a late sample is inserted in place)."""
        with self._lock:
            for series_id, ts, value in zip(series_ids, timestamps, values):
                entry = self._series.get(series_id)
                if entry is None:
                    entry = self._series[series_id] = (array("q"), array("d"))
                times, stored = entry
                if not times or ts >= times[-1]:
                    times.append(ts)
                    stored.append(value)
                else:
                    at = bisect.bisect_right(times, ts)
                    times.insert(at, ts)
                    stored.insert(at, value)

    def clear(self) -> None:
        with self._lock:
            self._series.clear()

    def drop_before(self, ts: int) -> None:
        with self._lock:
            for series_id in list(self._series):
                times, values = self._series[series_id]
                cut = bisect.bisect_left(times, ts)
                if cut == len(times):
                    del self._series[series_id]
                elif cut:
                    del times[:cut]
                    del values[:cut]

    def read(self, series_ids: set[int] | None, start: int, end: int) -> dict[int, list[Bucket]]:
        """Return the samples with ``start <= ts < end`` as count-1 buckets, sorted by time."""
        out: dict[int, list[Bucket]] = {}
        with self._lock:
            wanted = self._series.keys() if series_ids is None else series_ids & self._series.keys()
            for series_id in wanted:
                times, values = self._series[series_id]
                first = bisect.bisect_left(times, start)
                last = bisect.bisect_left(times, end, first)
                if first < last:
                    out[series_id] = [(t, 1, v, v, v) for t, v in zip(times[first:last], values[first:last])]
        return out

    def earliest_at_or_after(self, ts: int) -> int | None:
        with self._lock:
            found = [times[i] for times, _ in self._series.values() if (i := bisect.bisect_left(times, ts)) < len(times)]
        return min(found) if found else None

    def sample_count(self) -> int:
        with self._lock:
            return sum(len(times) for times, _ in self._series.values())


def aggregate(points: Iterable[Bucket], width: int) -> list[Bucket]:
    """Merge time-sorted buckets into buckets of ``width`` seconds (count-weighted average)."""
    out: list[Bucket] = []
    current = None
    count = 0
    low = high = total = 0.0
    for ts, n, p_low, p_avg, p_high in points:
        slot = ts - ts % width
        if slot != current:
            if current is not None:
                out.append((current, count, low, total / count, high))
            current, count, low, high, total = slot, 0, p_low, p_high, 0.0
        count += n
        total += p_avg * n
        if p_low < low:
            low = p_low
        if p_high > high:
            high = p_high
    if current is not None:
        out.append((current, count, low, total / count, high))
    return out


def read_flushed(conn: sqlite3.Connection) -> list[int | None]:
    """Return, per tier, the time up to which its blocks are stored (None before the first write)."""
    stored = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'flushed_%'").fetchall())
    return [stored.get(f"flushed_{tier.index}") for tier in TIERS]


def _decode(tier: Tier, start: int, blob: bytes) -> list[Bucket]:
    if tier.bucket == 0:
        return codec.decode_raw(start, blob)
    return codec.decode_rollup(start, tier.bucket, tier.buckets_per_block, blob)


def read_tier(
    conn: sqlite3.Connection,
    head: Head,
    flushed: Sequence[int | None],
    tier: Tier,
    series_ids: set[int] | None,
    start: int,
    end: int,
) -> dict[int, list[Bucket]]:
    """Return the buckets of ``tier`` in ``[start, end)`` per series, sorted by time.

    Stored blocks answer up to the tier's flush point; the open part after it
    is aggregated on the fly from the tier below (raw samples come from the head).
    """
    out: dict[int, list[Bucket]] = defaultdict(list)
    done = flushed[tier.index]
    stored_end = end if done is None else min(end, done)
    if done is not None and start < stored_end:
        first = start - start % tier.span
        starts = list(range(first, stored_end, tier.span))
        marks = ",".join("?" * len(starts))
        sql = f"SELECT series_id, start, data FROM blocks WHERE tier = ? AND start IN ({marks})"
        params: list[int] = [tier.index, *starts]
        in_sql = series_ids is not None and len(series_ids) <= _MAX_SQL_IDS
        if in_sql:
            assert series_ids is not None
            sql += f" AND series_id IN ({','.join('?' * len(series_ids))})"
            params.extend(series_ids)
        sql += " ORDER BY series_id, start"
        for series_id, block_start, blob in conn.execute(sql, params):
            if series_ids is not None and not in_sql and series_id not in series_ids:
                continue
            points = _decode(tier, block_start, blob)
            if block_start < start or block_start + tier.span > end:
                points = [p for p in points if start <= p[0] < end]
            out[series_id].extend(points)
    open_start = start if done is None else max(start, done)
    if open_start < end:
        if tier.index == 0:
            lower = head.read(series_ids, open_start, end)
        else:
            lower = read_tier(conn, head, flushed, TIERS[tier.index - 1], series_ids, open_start, end)
        for series_id, points in lower.items():
            out[series_id].extend(points if tier.bucket == 0 else aggregate(points, tier.bucket))
    return out


# --- the writer -----------------------------------------------------------------------------------


class HistoryWriter:
    """Appends samples and closes blocks; used only from the writer thread."""

    def __init__(self, conn: sqlite3.Connection, head: Head, grace: float) -> None:
        self.conn = conn
        self.head = head
        self.grace = int(grace)
        self.series: dict[tuple[str, str], int] = {}
        self.flushed: list[int | None] = [None] * len(TIERS)
        self.late_dropped = 0
        self.reload()

    def reload(self) -> None:
        """Load the series ids, flush points and the unflushed raw samples from the database."""
        self.series = {(resource, metric): sid for sid, resource, metric in self.conn.execute("SELECT id, resource, metric FROM series")}
        self.flushed = read_flushed(self.conn)
        self.head.clear()
        since = self.flushed[0]
        for base, blob in self.conn.execute("SELECT ts, data FROM journal ORDER BY id"):
            # The journal row's ts is its newest sample; older rows are already in blocks.
            series_ids, timestamps, values = codec.decode_batch(0, blob)
            if since is not None:
                keep = [i for i, t in enumerate(timestamps) if t >= since]
                series_ids = [series_ids[i] for i in keep]
                values = [values[i] for i in keep]
                timestamps = [timestamps[i] for i in keep]
            self.head.add(series_ids, timestamps, values)

    def _series_id(self, resource: str, metric: str) -> int:
        key = (resource, metric)
        series_id = self.series.get(key)
        if series_id is None:
            series_id = self.conn.execute(
                "INSERT INTO series (resource, metric) VALUES (?, ?) RETURNING id", key
            ).fetchone()[0]
            self.series[key] = series_id
        return series_id

    def write(self, samples: Sequence[Sample]) -> int:
        """Store one batch and close the blocks it completes, in one transaction; return the samples kept.

        Samples older than the last closed raw block, and values that are NaN
        or infinite, are dropped and counted.
        """
        floor = self.flushed[0]
        series_ids: list[int] = []
        timestamps: list[int] = []
        values: list[float] = []
        dropped = 0
        flushed_before = list(self.flushed)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for sample in samples:
                ts = int(sample.ts)
                value = float(sample.value)
                if (floor is not None and ts < floor) or not math.isfinite(value):
                    dropped += 1
                    continue
                series_ids.append(self._series_id(sample.resource_id, sample.metric))
                timestamps.append(ts)
                values.append(value)
            if timestamps:
                newest = max(timestamps)
                blob = codec.encode_batch(0, series_ids, timestamps, values)
                self.conn.execute("INSERT INTO journal (ts, data) VALUES (?, ?)", (newest, blob))
                self.head.add(series_ids, timestamps, values)
                self._close_blocks(min(timestamps), newest)
            self.conn.execute("COMMIT")
        except BaseException:
            # Undo the in-memory side too: the head and flush points must match the database.
            self.conn.execute("ROLLBACK")
            self.reload()
            raise
        if timestamps and flushed_before[0] is not None and self.flushed[0] != flushed_before[0]:
            # Keep the blocks closed by this call: a reader with an older snapshot reads them here.
            self.head.drop_before(flushed_before[0])
        if dropped:
            self.late_dropped += dropped
            log.warning("Dropped %d samples that were late, NaN or infinite (%d so far)", dropped, self.late_dropped)
        return len(timestamps)

    def _set_flushed(self, tier: Tier, value: int) -> None:
        self.flushed[tier.index] = value
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (f"flushed_{tier.index}", value),
        )

    def _close_blocks(self, oldest: int, newest: int) -> None:
        """Write every block that ``newest`` (plus the late-sample grace) has closed, lowest tier first."""
        for tier in TIERS:
            if self.flushed[tier.index] is None:
                # First write into an empty history: start every tier at the block of its oldest sample.
                self._set_flushed(tier, oldest - oldest % tier.span)
        raw_limit = newest - self.grace
        while self.flushed[0] + RAW.span <= raw_limit:  # type: ignore[operator]
            self._close_raw_block(self.flushed[0])  # type: ignore[arg-type]
        for tier in TIERS[1:]:
            limit = self.flushed[tier.index - 1]
            assert limit is not None
            while self.flushed[tier.index] + tier.span <= limit:  # type: ignore[operator]
                self._close_rollup_block(tier, self.flushed[tier.index])  # type: ignore[arg-type]

    def _close_raw_block(self, start: int) -> None:
        end = start + RAW.span
        rows = []
        for series_id, points in self.head.read(None, start, end).items():
            blob = codec.encode_raw(start, [p[0] for p in points], [p[2] for p in points])
            rows.append((RAW.index, start, series_id, blob))
        rows.sort()
        self.conn.executemany("INSERT OR REPLACE INTO blocks (tier, start, series_id, data) VALUES (?, ?, ?, ?)", rows)
        self.conn.execute("DELETE FROM journal WHERE ts < ?", (end,))
        self._set_flushed(RAW, end if rows else self._next_start(RAW, end))

    def _close_rollup_block(self, tier: Tier, start: int) -> None:
        end = start + tier.span
        lower = TIERS[tier.index - 1]
        rows = []
        for series_id, points in read_tier(self.conn, self.head, self.flushed, lower, None, start, end).items():
            buckets = aggregate(points, tier.bucket)
            blob = codec.encode_rollup(start, tier.bucket, tier.buckets_per_block, buckets)
            rows.append((tier.index, start, series_id, blob))
        rows.sort()
        self.conn.executemany("INSERT OR REPLACE INTO blocks (tier, start, series_id, data) VALUES (?, ?, ?, ?)", rows)
        self._set_flushed(tier, end if rows else self._next_start(tier, end))

    def _next_start(self, tier: Tier, end: int) -> int:
        """Return where the next block of ``tier`` starts after an empty block, skipping spans with no data.

        After a long stop the loop would otherwise close one empty block per
        span for the whole gap.
        """
        if tier.index == 0:
            upcoming = self.head.earliest_at_or_after(end)
        else:
            row = self.conn.execute(
                "SELECT min(start) FROM blocks WHERE tier = ? AND start >= ?", (tier.index - 1, end)
            ).fetchone()
            upcoming = row[0]
            lower_open = self.flushed[tier.index - 1]
            if upcoming is None and lower_open is not None:
                upcoming = lower_open
        if upcoming is None or upcoming <= end:
            return end
        return max(end, upcoming - upcoming % tier.span)


# --- reads ----------------------------------------------------------------------------------------


def resolve_series(
    conn: sqlite3.Connection, resource_ids: Sequence[str] | None, metrics: Sequence[str] | None
) -> dict[int, tuple[str, str]]:
    """Return ``{series_id: (resource, metric)}`` for the requested resources and metrics (None = all)."""
    sql = "SELECT id, resource, metric FROM series"
    clauses = []
    params: list[str] = []
    if resource_ids is not None and len(resource_ids) <= _MAX_SQL_IDS:
        clauses.append(f"resource IN ({','.join('?' * len(resource_ids))})")
        params.extend(resource_ids)
    if metrics is not None:
        clauses.append(f"metric IN ({','.join('?' * len(metrics))})")
        params.extend(metrics)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = conn.execute(sql, params).fetchall()
    if resource_ids is not None and len(resource_ids) > _MAX_SQL_IDS:
        wanted = set(resource_ids)
        rows = [row for row in rows if row[1] in wanted]
    return {series_id: (resource, metric) for series_id, resource, metric in rows}


def output_width(tier: Tier, start: int, end: int, max_points: int) -> int:
    """Return the bucket width (a multiple of the tier's bucket) that yields at most ``max_points`` points."""
    step = tier.bucket or 1
    width = step * max(1, math.ceil((end - start) / max_points / step))
    while math.ceil((end - (start - start % width)) / width) > max_points:
        width += step
    return width


def query(
    conn: sqlite3.Connection,
    head: Head,
    retentions: Sequence[float],
    now: float,
    resource_ids: Sequence[str] | None,
    metrics: Sequence[str] | None,
    start: float,
    end: float,
    max_points: int,
) -> dict[str, dict[str, list[HistoryPoint]]]:
    """Return ``{resource: {metric: points}}`` from the tier that fits the range, at most ``max_points`` each."""
    series = resolve_series(conn, resource_ids, metrics)
    if not series or end <= start:
        return {}
    tier = choose_tier(start, end, now, max_points, retentions)
    first = int(math.floor(start))
    last = int(math.ceil(end))
    if tier.bucket:
        first -= first % tier.bucket
    flushed = read_flushed(conn)
    data = read_tier(conn, head, flushed, tier, set(series), first, last)
    width = output_width(tier, first, last, max_points)
    out: dict[str, dict[str, list[HistoryPoint]]] = {}
    for series_id, points in data.items():
        if not points:
            continue
        if tier.bucket or len(points) > max_points:
            points = aggregate(points, width)
        resource, metric = series[series_id]
        out.setdefault(resource, {})[metric] = [HistoryPoint(ts, avg, low, high) for ts, _, low, avg, high in points]
    return out


# --- retention --------------------------------------------------------------------------------------


def prune_history(conn: sqlite3.Connection, retentions: Sequence[float], now: float) -> int:
    """Delete blocks whose newest data is older than their tier's retention; return the rows deleted."""
    deleted = 0
    for tier, retention in zip(TIERS, retentions):
        # A block ends at start + span; keep it while any of its data is inside the retention.
        cutoff = int(now - retention) - tier.span
        deleted += conn.execute("DELETE FROM blocks WHERE tier = ? AND start <= ?", (tier.index, cutoff)).rowcount
    deleted += conn.execute("DELETE FROM journal WHERE ts < ?", (int(now - retentions[0]),)).rowcount
    return deleted
