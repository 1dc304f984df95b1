"""Vectorized reads: buckets of many series as numpy columns.

A query over every guest touches about a million buckets, and building a
Python tuple per bucket costs seconds. Here blocks are decoded, filtered and
re-bucketed as whole arrays. The layouts are the ones ``codec`` writes.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from pulse_storage_sqlite.codec import ROLLUP_FORMAT, rollup_body, rollup_values
from pulse_storage_sqlite.errors import CorruptBlockError
from pulse_storage_sqlite.tiers import TIERS, Tier

if TYPE_CHECKING:
    from pulse_storage_sqlite.history import Head

_RAW_FORMAT = 1


class SeriesColumns(NamedTuple):
    """The points of one series as parallel arrays, in time order (the fields of ``HistoryPoint``)."""

    ts: array  # typecode "q": bucket start, epoch seconds
    avg: array  # typecode "d"
    min: array  # typecode "d"
    max: array  # typecode "d"


@dataclass(slots=True)
class Columns:
    """Buckets of many series, sorted by series id and then by time."""

    series: np.ndarray  # int64 series ids
    ts: np.ndarray  # int64 bucket start, epoch seconds
    count: np.ndarray  # int64 samples in the bucket
    low: np.ndarray  # float64
    avg: np.ndarray  # float64
    high: np.ndarray  # float64

    @classmethod
    def empty(cls) -> Columns:
        ints = np.empty(0, np.int64)
        floats = np.empty(0, np.float64)
        return cls(ints, ints, ints, floats, floats, floats)

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, index: np.ndarray) -> Columns:
        return Columns(
            self.series[index], self.ts[index], self.count[index], self.low[index], self.avg[index], self.high[index]
        )

    def series_bounds(self) -> np.ndarray:
        """Return the index where each series starts, followed by the total length."""
        changes = np.flatnonzero(self.series[1:] != self.series[:-1]) + 1
        return np.concatenate(([0], changes, [len(self)])).astype(np.int64)


def join_in_time(earlier: Columns, later: Columns) -> Columns:
    """Merge two sorted column sets where, per series, every bucket of ``earlier`` precedes those of ``later``."""
    if not len(later):
        return earlier
    if not len(earlier):
        return later
    joined = Columns(
        *(np.concatenate((a, b)) for a, b in zip(
            (earlier.series, earlier.ts, earlier.count, earlier.low, earlier.avg, earlier.high),
            (later.series, later.ts, later.count, later.low, later.avg, later.high),
        ))
    )
    # A stable sort by series keeps each series' time order (two sorted runs, so close to linear).
    return joined.take(np.argsort(joined.series, kind="stable"))


def aggregate_columns(columns: Columns, width: int) -> Columns:
    """Merge sorted buckets into buckets of ``width`` seconds per series (count-weighted average)."""
    if not len(columns):
        return columns
    slots = columns.ts - columns.ts % width
    starts = np.ones(len(columns), dtype=bool)
    starts[1:] = (columns.series[1:] != columns.series[:-1]) | (slots[1:] != slots[:-1])
    index = np.flatnonzero(starts)
    counts = np.add.reduceat(columns.count, index)
    totals = np.add.reduceat(columns.avg * columns.count, index)
    return Columns(
        columns.series[index],
        slots[index],
        counts,
        np.minimum.reduceat(columns.low, index),
        totals / counts,
        np.maximum.reduceat(columns.high, index),
    )


# --- decoding ---------------------------------------------------------------------------------------


def _decompress(blob: bytes, expected_format: int, what: str) -> bytes:
    try:
        data = zlib.decompress(blob)
    except zlib.error as exc:
        raise CorruptBlockError(f"{what} blob cannot be decompressed: {exc}") from exc
    if not data or data[0] != expected_format:
        raise CorruptBlockError(f"{what} blob has format {data[:1].hex() or 'none'}, expected {expected_format}")
    return data


def _floats24(planes: np.ndarray) -> np.ndarray:
    """Rebuild float32 values from their three high byte planes (``planes[..., k, :]`` is byte ``k + 1``)."""
    bits = (
        planes[..., 0, :].astype(np.uint32) << 8
        | planes[..., 1, :].astype(np.uint32) << 16
        | planes[..., 2, :].astype(np.uint32) << 24
    )
    return bits.view(np.float32).astype(np.float64)


def _rounded_floats(planes: np.ndarray) -> np.ndarray:
    """Rebuild values from the three byte planes of their rounded codes (``planes[..., k, :]`` is byte ``k``)."""
    codes = planes[..., 0, :].astype(np.uint32) | planes[..., 1, :].astype(np.uint32) << 8 | planes[..., 2, :].astype(np.uint32) << 16
    return rollup_values(codes).astype(np.float64)


def decode_rollups(
    series_ids: Sequence[int], starts: Sequence[int], blobs: Sequence[bytes], tier: Tier, start: int, end: int
) -> Columns:
    """Decode rollup blocks of ``tier`` (either blob format) into columns, keeping the filled buckets in ``[start, end)``."""
    size = tier.buckets_per_block
    row_bytes = 11 * size
    decoded = []
    current = []
    for blob in blobs:
        found, data = rollup_body(blob)
        if len(data) != row_bytes:
            raise CorruptBlockError(f"rollup block blob has {len(data)} bytes, expected {row_bytes}")
        decoded.append(data)
        current.append(found == ROLLUP_FORMAT)
    blocks = len(decoded)
    if not blocks:
        return Columns.empty()
    table = np.frombuffer(b"".join(decoded), dtype=np.uint8).reshape(blocks, row_bytes)
    counts = table[:, :size].astype(np.int64) | table[:, size:2 * size].astype(np.int64) << 8
    # One float array per block: all minimums, then all averages, then all maximums.
    planes = table[:, 2 * size:].reshape(blocks, 3, 3 * size)
    if all(current):
        floats = _rounded_floats(planes)
    elif not any(current):
        floats = _floats24(planes)
    else:
        floats = np.where(np.asarray(current)[:, None], _rounded_floats(planes), _floats24(planes))
    block_series = np.asarray(series_ids, dtype=np.int64)
    block_starts = np.asarray(starts, dtype=np.int64)
    stamps = block_starts[:, None] + np.arange(size, dtype=np.int64) * tier.bucket
    keep = (counts > 0) & (stamps >= start) & (stamps < end)
    # Blocks in (series, start) order, so the flattened buckets are in (series, time) order.
    order = np.lexsort((block_starts, block_series))
    keep = keep[order]
    return Columns(
        np.broadcast_to(block_series[order][:, None], keep.shape)[keep],
        stamps[order][keep],
        counts[order][keep],
        floats[order, :size][keep],
        floats[order, size:2 * size][keep],
        floats[order, 2 * size:][keep],
    )


def decode_raws(series_ids: Sequence[int], starts: Sequence[int], blobs: Sequence[bytes], start: int, end: int) -> Columns:
    """Decode raw blocks into count-1 buckets in ``[start, end)``."""
    planes = []
    owners = []
    bases = []
    for series_id, block_start, blob in zip(series_ids, starts, blobs):
        data = _decompress(blob, _RAW_FORMAT, "raw block")
        count, remainder = divmod(len(data) - 1, 5)
        if remainder:
            raise CorruptBlockError(f"raw block blob has {len(data) - 1} bytes, not a multiple of 5")
        # Two planes of 16-bit time offsets, then three planes of float bytes.
        planes.append(np.frombuffer(data, dtype=np.uint8, offset=1).reshape(5, count))
        owners.append(np.full(count, series_id, dtype=np.int64))
        bases.append(np.full(count, block_start, dtype=np.int64))
    if not planes:
        return Columns.empty()
    table = np.concatenate(planes, axis=1)
    series = np.concatenate(owners)
    stamps = np.concatenate(bases) + (table[0].astype(np.int64) | table[1].astype(np.int64) << 8)
    values = _floats24(table[2:5])
    order = np.lexsort((stamps, series))
    order = order[(stamps[order] >= start) & (stamps[order] < end)]
    values = values[order]
    return Columns(series[order], stamps[order], np.ones(len(order), np.int64), values, values, values)


# --- reading a tier -----------------------------------------------------------------------------------


def read_tier_columns(
    conn: sqlite3.Connection,
    head: Head,
    flushed: Sequence[int | None],
    tier: Tier,
    series_ids: set[int] | None,
    start: int,
    end: int,
    width: int = 0,
) -> Columns:
    """Return the buckets of ``tier`` in ``[start, end)`` as columns; the vectorized ``history.read_tier``.

    Stored rows cover the time up to the tier's flush point. The open part
    after it is aggregated from the tier below, and raw samples come from the head.
    """
    stored = Columns.empty()
    done = flushed[tier.index]
    stored_end = end if done is None else min(end, done)
    if done is not None and start < stored_end:
        first = start - start % tier.span
        # Block starts are aligned, so each (start, series) pair is one primary-key lookup.
        sql = "SELECT series_id, start, data FROM blocks WHERE tier = ? AND start IN (SELECT value FROM json_each(?))"
        params: list[object] = [tier.index, json.dumps(list(range(first, stored_end, tier.span)))]
        if series_ids is not None:
            sql += " AND series_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(series_ids)))
        rows = conn.execute(sql, params).fetchall()
        if rows:
            owners, starts, blobs = zip(*rows)
            if tier.bucket:
                stored = decode_rollups(owners, starts, blobs, tier, start, stored_end)
            else:
                stored = decode_raws(owners, starts, blobs, start, stored_end)
    open_part = Columns.empty()
    open_start = start if done is None else max(start, done)
    if open_start < end:
        if tier.index == 0:
            open_part = head.read_columns(series_ids, open_start, end)
        else:
            lower = TIERS[tier.index - 1]
            open_part = read_tier_columns(conn, head, flushed, lower, series_ids, open_start, end, tier.bucket)
    out = join_in_time(stored, open_part)
    # The flush point need not be aligned to ``width``, so bucket only after joining both parts.
    if width > (tier.bucket or 1):
        out = aggregate_columns(out, width)
    return out
