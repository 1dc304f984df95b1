"""The vectorized read path against the tuple-based one it replaces for queries."""

from __future__ import annotations

import math
import sqlite3
import zlib

import pytest
from pulse_storage_sqlite import codec, history
from pulse_storage_sqlite.columns import decode_raws, decode_rollups
from pulse_storage_sqlite.errors import CorruptBlockError
from pulse_storage_sqlite.tiers import TIERS, choose_tier

from pulse_core import Sample

START = 1_699_920_000  # a multiple of every block span (600 s, 3600 s, 86400 s)
HOUR = 3600
DAY = 86400


def tuple_query(conn, head, retentions, now, start, end, max_points):
    """Run a query through ``history.read_tier`` and ``history.aggregate``, one tuple per bucket."""
    series = history.resolve_series(conn, None, None)
    tier = choose_tier(start, end, now, max_points, retentions)
    first = math.floor(start)
    last = math.ceil(end)
    if tier.bucket:
        first -= first % tier.bucket
    flushed = history.read_flushed(conn)
    width = history.output_width(tier, first, last, max_points)
    if tier.bucket:
        first -= first % width
    out = {}
    for series_id, points in history.read_tier(conn, head, flushed, tier, set(series), first, last).items():
        if not points:
            continue
        if (tier.bucket and width != tier.bucket) or (not tier.bucket and len(points) > max_points):
            points = history.aggregate(points, width)
        resource, metric = series[series_id]
        out.setdefault(resource, {})[metric] = points
    return out


def level(series: int, ts: int) -> float:
    return (ts // 10 * (series + 3)) % 17 + math.sin(ts / 700.0) * 4 + series


async def fill(storage, clock, seconds: int) -> None:
    """Write three series with different rates and gaps, an hour per batch.

    ``dense`` has a sample every 10 s, ``sparse`` every 5 minutes, and ``gappy``
    stops for the third hour of every 6, so some blocks and buckets are absent.
    """
    for hour_start in range(START, START + seconds, HOUR):
        batch = []
        for ts in range(hour_start, hour_start + HOUR, 10):
            batch.append(Sample("pve-100", "cpu", ts, level(0, ts)))
            if ts % 300 == 0:
                batch.append(Sample("pve-101", "cpu", ts, level(1, ts)))
            if (ts - START) // HOUR % 6 != 2:
                batch.append(Sample("pve-102", "memory", ts, level(2, ts)))
        clock.now = batch[-1].ts
        await storage.write_samples(batch)


def assert_same(columns, tuples, case: str) -> None:
    assert sorted(columns) == sorted(tuples), f"{case}: resources differ"
    for resource, metrics in tuples.items():
        assert sorted(columns[resource]) == sorted(metrics), f"{case}: metrics of {resource} differ"
        for metric, expected in metrics.items():
            got = columns[resource][metric]
            where = f"{case}, {resource} {metric}"
            assert list(got.ts) == [bucket[0] for bucket in expected], f"{where}: timestamps differ"
            assert list(got.min) == pytest.approx([bucket[2] for bucket in expected], rel=1e-9), f"{where}: min differs"
            assert list(got.avg) == pytest.approx([bucket[3] for bucket in expected], rel=1e-9), f"{where}: avg differs"
            assert list(got.max) == pytest.approx([bucket[4] for bucket in expected], rel=1e-9), f"{where}: max differs"


async def test_columns_match_tuple_reads(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    await fill(storage, clock, 2 * DAY + 7 * HOUR)
    # Past the last sample but inside the late-sample grace, so every tier has an open part.
    clock.now += 5
    now = clock.now
    cases = [
        ("1h raw, sparse series not bucketed", now - HOUR, now, 100),
        ("1h raw at full resolution", now - HOUR, now, 600),
        ("2h at 1-minute buckets", now - 2 * HOUR, now, 120),
        ("24h at 1-minute tier re-bucketed", now - DAY, now, 600),
        ("24h overview at 48 points", now - DAY, now, 48),
        ("24h overview at 96 points", now - DAY, now, 96),
        ("2 days at 15 minutes", START + HOUR + 17, now, 200),
        ("2 days hourly", START, now, 50),
        ("misaligned window", START + 3 * HOUR + 123, START + DAY + 7, 77),
    ]
    conn = sqlite3.connect(storage.path)
    try:
        for case, start, end, max_points in cases:
            columns = await storage.query_history_columns(None, None, start, end, max_points=max_points)
            conn.execute("BEGIN")
            tuples = tuple_query(conn, storage.head, storage.retentions, now, start, end, max_points)
            conn.execute("COMMIT")
            assert tuples, f"{case}: the reference read returned nothing"
            assert_same(columns, tuples, case)
            points = await storage.query_history(None, None, start, end, max_points=max_points)
            for resource, metrics in columns.items():
                for metric, series in metrics.items():
                    got = points[resource][metric]
                    assert [p.ts for p in got] == list(series.ts), f"{case}: query_history differs from the columns"
                    assert [p.avg for p in got] == list(series.avg), f"{case}: query_history averages differ"
    finally:
        conn.close()
    await storage.aclose()


async def test_columns_filter_resources_and_metrics(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    await fill(storage, clock, 2 * HOUR)
    result = await storage.query_history_columns(["pve-100", "pve-102"], ["cpu"], START, clock.now + 1, max_points=24)
    assert list(result) == ["pve-100"]
    assert list(result["pve-100"]) == ["cpu"]
    assert len(result["pve-100"]["cpu"].ts) == 24
    assert await storage.query_history_columns(["pve-999"], None, START, clock.now) == {}
    await storage.aclose()


def test_rollup_decoding_matches_codec() -> None:
    tier = TIERS[1]
    buckets = [(START + slot * 60, slot + 1, slot - 0.5, slot * 1.25, slot + 0.5) for slot in range(0, 60, 3)]
    blob = codec.encode_rollup(START, 60, tier.buckets_per_block, buckets)
    decoded = decode_rollups([7], [START], [blob], tier, START + 120, START + 1800)
    expected = [b for b in codec.decode_rollup(START, 60, tier.buckets_per_block, blob) if START + 120 <= b[0] < START + 1800]
    assert decoded.ts.tolist() == [b[0] for b in expected]
    assert decoded.count.tolist() == [b[1] for b in expected]
    assert decoded.low.tolist() == [b[2] for b in expected]
    assert decoded.avg.tolist() == [b[3] for b in expected]
    assert decoded.high.tolist() == [b[4] for b in expected]
    assert set(decoded.series.tolist()) == {7}


def test_rollup_decoding_mixes_formats(float24_rollup_blob) -> None:
    tier = TIERS[1]
    size = tier.buckets_per_block
    current = codec.encode_rollup(START, 60, size, [(START + 60, 6, 1.0, 2.0, 3.0)])
    first_format = float24_rollup_blob(size, [(2, 0.1, 0.2, 0.3)])
    decoded = decode_rollups([1, 2], [START, START], [current, first_format], tier, START, START + HOUR)
    assert decoded.series.tolist() == [1, 2]
    assert decoded.ts.tolist() == [START + 60, START + 120]
    assert decoded.avg.tolist() == pytest.approx([2.0, 0.2], rel=3.1e-5)
    assert decoded.high.tolist() == pytest.approx([3.0, 0.3], rel=3.1e-5)


def test_raw_decoding_matches_codec() -> None:
    blobs = [codec.encode_raw(START, [START + 10, START + 25], [1.5, -2.25]), codec.encode_raw(START, [START + 3], [9.0])]
    decoded = decode_raws([5, 4], [START, START], blobs, START, START + 600)
    assert decoded.series.tolist() == [4, 5, 5]
    assert decoded.ts.tolist() == [START + 3, START + 10, START + 25]
    assert decoded.avg.tolist() == [9.0, 1.5, -2.25]


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"not zlib", "cannot be decompressed"),
        (zlib.compress(bytes((1,)) + bytes(11 * 60)), "has format 01, expected 2"),
        (zlib.compress(bytes((2,)) + bytes(10)), "has 10 bytes, expected 660"),
    ],
)
def test_corrupt_rollup_raises(blob: bytes, message: str) -> None:
    with pytest.raises(CorruptBlockError, match=message):
        decode_rollups([1], [START], [blob], TIERS[1], START, START + HOUR)


def test_corrupt_raw_raises() -> None:
    with pytest.raises(CorruptBlockError, match="7 bytes, not a multiple of 5"):
        decode_raws([1], [START], [zlib.compress(bytes((1,)) + bytes(7))], START, START + 600)


async def test_chart_json_same_from_columns(storage_factory, clock) -> None:
    from pulse_core.web.routes.history import _series

    storage = storage_factory()
    await storage.open()
    await fill(storage, clock, 3 * HOUR)
    columns = await storage.query_history_columns(None, None, START, clock.now + 1, max_points=30)
    points = await storage.query_history(None, None, START, clock.now + 1, max_points=30)
    for resource, metrics in points.items():
        for metric, series in metrics.items():
            from_columns = _series(columns[resource][metric])
            assert from_columns == _series(series), f"{resource} {metric}: chart points differ"
            assert type(from_columns[0]["timestamp"]) is int, "timestamps are serialized as integers"
    await storage.aclose()
