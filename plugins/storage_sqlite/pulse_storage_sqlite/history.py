"""Metric history: the write path, rollups, reads and retention of the four tiers.

Everything here is synchronous and runs in a worker thread. The writer owns
one connection and the ``Head``; readers use their own connections and only
read the ``Head`` under its lock.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import sqlite3
import threading
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from pulse_core import Sample
from pulse_core.protocols import HistoryPoint
from pulse_storage_sqlite import codec
from pulse_storage_sqlite.codec import Bucket
from pulse_storage_sqlite.columns import (
    Columns,
    SeriesColumns,
    aggregate_columns,
    join_in_time,
    read_tier_columns,
)
from pulse_storage_sqlite.tiers import RAW, TIERS, Tier, choose_tier

log = logging.getLogger(__name__)

# Series whose 15-minute rows are folded into 1-hour rows at once.
_FOLD_BATCH = 2000


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

    def read_columns(self, series_ids: set[int] | None, start: int, end: int) -> Columns:
        """Return the samples with ``start <= ts < end`` as count-1 bucket columns."""
        owners: list[int] = []
        sizes: list[int] = []
        # Appending array slices copies the samples, so nothing refers to the stored arrays after the lock.
        times = array("q")
        values = array("d")
        with self._lock:
            wanted = self._series.keys() if series_ids is None else series_ids & self._series.keys()
            for series_id in sorted(wanted):
                stored_times, stored_values = self._series[series_id]
                first = bisect.bisect_left(stored_times, start)
                last = bisect.bisect_left(stored_times, end, first)
                if first < last:
                    owners.append(series_id)
                    sizes.append(last - first)
                    times += stored_times[first:last]
                    values += stored_values[first:last]
        if not owners:
            return Columns.empty()
        samples = np.frombuffer(values, dtype=np.float64)
        return Columns(
            np.repeat(np.asarray(owners, dtype=np.int64), sizes),
            np.frombuffer(times, dtype=np.int64),
            np.ones(len(samples), dtype=np.int64),
            samples,
            samples,
            samples,
        )

    def earliest_at_or_after(self, ts: int) -> int | None:
        with self._lock:
            found = [times[i] for times, _ in self._series.values() if (i := bisect.bisect_left(times, ts)) < len(times)]
        return min(found) if found else None

    def sample_count(self) -> int:
        with self._lock:
            return sum(len(times) for times, _ in self._series.values())

    def series_ids(self) -> set[int]:
        with self._lock:
            return set(self._series)


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


def merge_buckets(stored: list[Bucket], added: list[Bucket]) -> list[Bucket]:
    """Combine two bucket lists of one block; buckets with the same start are merged by count."""
    if not stored:
        return added
    if not added or added[0][0] > stored[-1][0]:
        # The usual case: the new buckets all come after the stored ones.
        return stored + added
    return aggregate(sorted(stored + added), 1)


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
    width: int = 0,
) -> dict[int, list[Bucket]]:
    """Return the buckets of ``tier`` in ``[start, end)`` per series, sorted by time.

    With ``width``, the buckets come aggregated to that many seconds.
    Stored rows cover the time up to the tier's flush point. The open part
    after it is aggregated on the fly from the tier below, and raw samples come from the head.
    """
    out: dict[int, list[Bucket]] = defaultdict(list)
    done = flushed[tier.index]
    stored_end = end if done is None else min(end, done)
    if done is not None and start < stored_end:
        first = start - start % tier.span
        # Block starts are aligned, so each (start, series) pair is one primary-key lookup.
        # JSON lists keep this to three bound parameters, whatever the range and series count.
        starts = json.dumps(list(range(first, stored_end, tier.span)))
        sql = "SELECT series_id, start, data FROM blocks WHERE tier = ? AND start IN (SELECT value FROM json_each(?))"
        params: list[object] = [tier.index, starts]
        if series_ids is not None:
            sql += " AND series_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(series_ids)))
        sql += " ORDER BY start, series_id"
        for series_id, block_start, blob in conn.execute(sql, params):
            points = _decode(tier, block_start, blob)
            if block_start < start or block_start + tier.span > end:
                points = [p for p in points if start <= p[0] < end]
            out[series_id].extend(points)
    open_start = start if done is None else max(start, done)
    if open_start < end:
        if tier.index == 0:
            lower = head.read(series_ids, open_start, end)
        else:
            lower = read_tier(conn, head, flushed, TIERS[tier.index - 1], series_ids, open_start, end, tier.bucket)
        for series_id, points in lower.items():
            out[series_id].extend(points)
    # Everything is at this tier's resolution now. The flush point need not be
    # aligned to ``width``, so bucket only after joining stored and open parts.
    if width > (tier.bucket or 1):
        for series_id, points in out.items():
            out[series_id] = aggregate(points, width)
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
        self._swept_series = False
        self.reload()

    def reload(self) -> None:
        """Load the series ids, flush points and the unflushed raw samples from the database."""
        # The next pruning pass checks every series again.
        self._swept_series = False
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
        """Close every raw block that ``newest`` (plus the late-sample grace) has ended, and fold it into the rollups.

        Each closed raw block is merged into the 1-minute row of its hour at
        once, so 1-minute data is stored up to the last closed raw block. An
        hour of 1-minute data is merged into the 15-minute row of its day when
        the hour is complete. A rollup row is therefore written
        several times while its span is open (filling more buckets each time),
        and queries rebuild from raw samples only the last few minutes.
        """
        if self.flushed[0] is None:
            # First write into an empty history: start at the block of the oldest sample.
            for tier in TIERS:
                self._set_flushed(tier, oldest - oldest % (RAW.span if tier.index < 2 else 3600))
        raw_limit = newest - self.grace
        closed = False
        while self.flushed[0] + RAW.span <= raw_limit:  # type: ignore[operator]
            self._close_raw_block(self.flushed[0])  # type: ignore[arg-type]
            closed = True
        if closed:
            self._fold_hours()

    def _close_raw_block(self, start: int) -> None:
        end = start + RAW.span
        samples = self.head.read(None, start, end)
        rows = []
        for series_id, points in samples.items():
            blob = codec.encode_raw(start, [p[0] for p in points], [p[2] for p in points])
            rows.append((RAW.index, start, series_id, blob))
        rows.sort()
        self.conn.executemany("INSERT OR REPLACE INTO blocks (tier, start, series_id, data) VALUES (?, ?, ?, ?)", rows)
        self.conn.execute("DELETE FROM journal WHERE ts < ?", (end,))
        minute = TIERS[1]
        self._merge_into(minute, {sid: aggregate(points, minute.bucket) for sid, points in samples.items()})
        following = end if rows else self._next_start(end)
        self._set_flushed(RAW, following)
        self._set_flushed(minute, following)

    def _fold_hours(self) -> None:
        """Merge the 1-minute data of every completed hour into the 15-minute rows."""
        quarter = TIERS[2]
        done = self.flushed[quarter.index]
        limit = self.flushed[1] - self.flushed[1] % 3600  # type: ignore[operator]
        assert done is not None
        if limit <= done:
            return
        minutes = read_tier(self.conn, self.head, self.flushed, TIERS[1], None, done, limit)
        self._merge_into(quarter, {sid: aggregate(points, quarter.bucket) for sid, points in minutes.items()})
        self._set_flushed(quarter, limit)

    def _fold_aged_quarters(self, retentions: Sequence[float], now: float) -> None:
        """Merge the 15-minute rows that this pruning pass deletes into 1-hour rows.

        Until then the 1-hour tier is read from the 15-minute rows, so the
        same time is never stored in both tiers. ``flushed_3`` marks where
        the stored 1-hour rows end. Rows are folded a day and up to
        ``_FOLD_BATCH`` series at a time to bound memory.
        """
        quarter, hour = TIERS[2], TIERS[3]
        done = self.flushed[hour.index]
        stored_until = self.flushed[quarter.index]
        if done is None or stored_until is None:
            return
        quarter_cutoff = int(now - retentions[quarter.index]) - quarter.span
        # The end of the last 15-minute row that prune_history deletes.
        limit = min(quarter_cutoff - quarter_cutoff % quarter.span + quarter.span, stored_until)
        if limit <= done:
            return
        hour_cutoff = int(now - retentions[hour.index]) - hour.span
        for block_start in range(done - done % quarter.span, limit, quarter.span):
            if block_start <= hour_cutoff:
                # The 1-hour row would be pruned right away.
                continue
            cursor = self.conn.execute(
                "SELECT series_id, data FROM blocks WHERE tier = ? AND start = ?", (quarter.index, block_start)
            )
            while rows := cursor.fetchmany(_FOLD_BATCH):
                additions = {
                    series_id: aggregate(codec.decode_rollup(block_start, quarter.bucket, quarter.buckets_per_block, blob), hour.bucket)
                    for series_id, blob in rows
                }
                self._merge_into(hour, additions)
        self._set_flushed(hour, limit)

    def prune(self, retentions: Sequence[float], now: float) -> int:
        """Fold aged 15-minute rows into 1-hour rows, then delete what is past retention; return the rows deleted.

        Series rows whose blocks are all gone (removed guests, for example)
        are deleted too, and dropped from ``self.series``. The first pass
        after opening checks every series, so rows left by earlier versions go too.
        """
        self._fold_aged_quarters(retentions, now)
        deleted, emptied = prune_history(self.conn, retentions, now)
        candidates = set(self.series.values()) if not self._swept_series else emptied
        self._swept_series = True
        return deleted + self._prune_series(candidates, retentions, now)

    def _prune_series(self, candidates: set[int], retentions: Sequence[float], now: float) -> int:
        """Delete the series among ``candidates`` that have no block left and no sample in memory."""
        remaining = candidates - self.head.series_ids()
        newest = max([int(now), *(ts for ts in self.flushed if ts is not None)])
        for tier, retention in zip(TIERS, retentions):
            if not remaining:
                return 0
            # Every block start that pruning keeps, so each check is a primary-key lookup.
            first = int(now - retention) - tier.span + 1
            first += -first % tier.span
            starts = json.dumps(list(range(first, newest + tier.span, tier.span)))
            found = self.conn.execute(
                "SELECT DISTINCT series_id FROM blocks WHERE tier = ? AND start IN (SELECT value FROM json_each(?)) "
                "AND series_id IN (SELECT value FROM json_each(?))",
                (tier.index, starts, json.dumps(sorted(remaining))),
            ).fetchall()
            remaining -= {series_id for (series_id,) in found}
        if not remaining:
            return 0
        deleted_series = self.conn.execute(
            "DELETE FROM series WHERE id IN (SELECT value FROM json_each(?)) RETURNING resource, metric",
            (json.dumps(sorted(remaining)),),
        ).fetchall()
        for resource, metric in deleted_series:
            self.series.pop((resource, metric), None)
        log.info("Deleted %d series with no data left in any tier", len(deleted_series))
        return len(deleted_series)

    def _merge_into(self, tier: Tier, additions: dict[int, list[Bucket]]) -> None:
        """Merge buckets of ``tier`` into its stored rows, creating the rows that do not exist yet."""
        by_block: dict[int, dict[int, list[Bucket]]] = defaultdict(dict)
        for series_id, buckets in additions.items():
            for bucket in buckets:
                by_block[bucket[0] - bucket[0] % tier.span].setdefault(series_id, []).append(bucket)
        size = tier.buckets_per_block
        for block_start, series in by_block.items():
            existing = dict(
                self.conn.execute(
                    "SELECT series_id, data FROM blocks WHERE tier = ? AND start = ?", (tier.index, block_start)
                ).fetchall()
            )
            rows = []
            for series_id, buckets in series.items():
                blob = existing.get(series_id)
                if blob is not None:
                    buckets = merge_buckets(codec.decode_rollup(block_start, tier.bucket, size, blob), buckets)
                rows.append((tier.index, block_start, series_id, codec.encode_rollup(block_start, tier.bucket, size, buckets)))
            rows.sort()
            self.conn.executemany("INSERT OR REPLACE INTO blocks (tier, start, series_id, data) VALUES (?, ?, ?, ?)", rows)

    def _next_start(self, end: int) -> int:
        """Return where the next raw block starts after an empty one, skipping spans with no samples.

        After a long stop the loop would otherwise close one empty block per
        span for the whole gap.
        """
        upcoming = self.head.earliest_at_or_after(end)
        if upcoming is None or upcoming <= end:
            return end
        return upcoming - upcoming % RAW.span


# --- reads ----------------------------------------------------------------------------------------


def resolve_series(
    conn: sqlite3.Connection, resource_ids: Sequence[str] | None, metrics: Sequence[str] | None
) -> dict[int, tuple[str, str]]:
    """Return ``{series_id: (resource, metric)}`` for the requested resources and metrics (None = all)."""
    sql = "SELECT id, resource, metric FROM series"
    clauses = []
    params: list[str] = []
    if resource_ids is not None:
        clauses.append("resource IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(resource_ids)))
    if metrics is not None:
        clauses.append("metric IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(metrics)))
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = conn.execute(sql, params).fetchall()
    return {series_id: (resource, metric) for series_id, resource, metric in rows}


def output_width(tier: Tier, start: int, end: int, max_points: int) -> int:
    """Return the bucket width (a multiple of the tier's bucket) that yields at most ``max_points`` points."""
    step = tier.bucket or 1
    width = step * max(1, math.ceil((end - start) / max_points / step))
    while math.ceil((end - (start - start % width)) / width) > max_points:
        width += step
    return width


def _query_columns(
    conn: sqlite3.Connection,
    head: Head,
    retentions: Sequence[float],
    now: float,
    resource_ids: Sequence[str] | None,
    metrics: Sequence[str] | None,
    start: float,
    end: float,
    max_points: int,
) -> tuple[dict[int, tuple[str, str]], Columns]:
    """Return the series asked for and their buckets from the tier that fits the range, at most ``max_points`` each."""
    series = resolve_series(conn, resource_ids, metrics)
    if not series or end <= start:
        return series, Columns.empty()
    tier = choose_tier(start, end, now, max_points, retentions)
    first = math.floor(start)
    last = math.ceil(end)
    if tier.bucket:
        first -= first % tier.bucket
    flushed = read_flushed(conn)
    width = output_width(tier, first, last, max_points)
    if tier.bucket:
        first -= first % width
    data = read_tier_columns(conn, head, flushed, tier, set(series), first, last)
    if tier.bucket and width != tier.bucket:
        data = aggregate_columns(data, width)
    elif not tier.bucket and len(data):
        # Raw samples are bucketed only for the series that have more than ``max_points`` of them.
        bounds = data.series_bounds()
        sizes = np.diff(bounds)
        crowded = np.repeat(sizes > max_points, sizes)
        if crowded.any():
            bucketed = aggregate_columns(data.take(np.flatnonzero(crowded)), width)
            data = join_in_time(data.take(np.flatnonzero(~crowded)), bucketed)
    return series, data


def query_columns(
    conn: sqlite3.Connection,
    head: Head,
    retentions: Sequence[float],
    now: float,
    resource_ids: Sequence[str] | None,
    metrics: Sequence[str] | None,
    start: float,
    end: float,
    max_points: int,
) -> dict[str, dict[str, SeriesColumns]]:
    """Return ``{resource: {metric: columns}}``: ``query`` without a Python object per point."""
    series, data = _query_columns(conn, head, retentions, now, resource_ids, metrics, start, end, max_points)
    out: dict[str, dict[str, SeriesColumns]] = {}
    if not len(data):
        return out
    bounds = data.series_bounds().tolist()
    owners = data.series[bounds[:-1]].tolist()
    # Python arrays rather than lists: slicing one is a memory copy, and they hold no
    # objects for the garbage collector to scan (with a list per column and series, a
    # large query spent about a fifth of its time in collections in one profile).
    stamps, averages, lows, highs = (array(code, column.tobytes()) for code, column in (
        ("q", data.ts), ("d", data.avg), ("d", data.low), ("d", data.high)
    ))
    for series_id, first, last in zip(owners, bounds, bounds[1:]):
        resource, metric = series[series_id]
        out.setdefault(resource, {})[metric] = SeriesColumns(
            stamps[first:last], averages[first:last], lows[first:last], highs[first:last]
        )
    return out


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
    # NOTE: decoding and bucketing are vectorized, but building one HistoryPoint per point still
    # costs about half a microsecond each; query_columns avoids that for large queries.
    columns = query_columns(conn, head, retentions, now, resource_ids, metrics, start, end, max_points)
    return {
        resource: {metric: list(map(HistoryPoint, *points)) for metric, points in metrics_of.items()}
        for resource, metrics_of in columns.items()
    }


# --- retention --------------------------------------------------------------------------------------


def prune_history(conn: sqlite3.Connection, retentions: Sequence[float], now: float) -> tuple[int, set[int]]:
    """Delete blocks whose newest data is older than their tier's retention.

    Returns the number of rows deleted and the series ids that lost a block,
    the only series that can have become empty.
    """
    deleted = 0
    emptied: set[int] = set()
    for tier, retention in zip(TIERS, retentions):
        # A block ends at start + span; keep it while any of its data is inside the retention.
        cutoff = int(now - retention) - tier.span
        rows = conn.execute(
            "DELETE FROM blocks WHERE tier = ? AND start <= ? RETURNING series_id", (tier.index, cutoff)
        ).fetchall()
        deleted += len(rows)
        emptied.update(series_id for (series_id,) in rows)
    deleted += conn.execute("DELETE FROM journal WHERE ts < ?", (int(now - retentions[0]),)).rowcount
    return deleted, emptied
