from __future__ import annotations

import math
import sqlite3

import pytest
from pulse_core import Sample

from pulse_storage_sqlite.tiers import TIERS

START = 1_699_920_000  # a multiple of every block span (600 s, 3600 s, 86400 s)
HOUR = 3600
DAY = 86400


def wave(i: int) -> float:
    # Varies inside every minute and every hour, so min, avg and max all differ.
    return (i * 7) % 13 + math.sin(i / 5.0) * 3 + i * 0.01


async def write_dense(storage, clock, start: int, seconds: int, step: int = 10, resource: str = "pve-100") -> dict[int, float]:
    """Write one cpu sample every ``step`` seconds, an hour per batch; return ``{ts: value}``."""
    written: dict[int, float] = {}
    for hour_start in range(start, start + seconds, HOUR):
        batch = []
        for ts in range(hour_start, min(hour_start + HOUR, start + seconds), step):
            value = wave((ts - START) // step)
            written[ts] = value
            batch.append(Sample(resource, "cpu", ts, value))
        clock.now = batch[-1].ts
        await storage.write_samples(batch)
    return written


def expected_buckets(written: dict[int, float], width: int, start: int, end: int) -> dict[int, tuple[float, float, float]]:
    groups: dict[int, list[float]] = {}
    for ts, value in written.items():
        if start <= ts < end:
            groups.setdefault(ts - ts % width, []).append(value)
    return {slot: (min(vs), sum(vs) / len(vs), max(vs)) for slot, vs in groups.items()}


# The codec's documented precision: a rollup min or max is within 0.05 % of the
# sample, and averages of the coarsest tier within 0.15 % of the true average.
EXTREME_REL = 5.2e-4
AVERAGE_REL = 1.5e-3


def assert_points_match(points, expected) -> None:
    assert [p.ts for p in points] == sorted(expected)
    for point in points:
        low, avg, high = expected[point.ts]
        assert point.min == pytest.approx(low, rel=EXTREME_REL, abs=1e-4)
        assert point.avg == pytest.approx(avg, rel=AVERAGE_REL, abs=1e-4)
        assert point.max == pytest.approx(high, rel=EXTREME_REL, abs=1e-4)


async def test_minute_rollups_min_avg_max(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    written = await write_dense(storage, clock, START, 3 * HOUR + 1200)
    end = START + 3 * HOUR + 1200
    # Two hours at 120 points needs 60-second buckets: the 1-minute tier, partly
    # from stored rows and partly rebuilt from raw samples in memory.
    result = await storage.query_history(["pve-100"], ["cpu"], end - 2 * HOUR, end, max_points=120)
    points = result["pve-100"]["cpu"]
    assert len(points) == 120
    assert_points_match(points, expected_buckets(written, 60, end - 2 * HOUR, end))
    await storage.aclose()


async def test_quarter_and_hour_rollups(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    written = await write_dense(storage, clock, START, 2 * DAY + 5 * HOUR, step=30)
    end = START + 2 * DAY + 5 * HOUR
    begin = START + HOUR
    quarter = (await storage.query_history(["pve-100"], ["cpu"], begin, end, max_points=(end - begin) // 900))["pve-100"]["cpu"]
    assert_points_match(quarter, expected_buckets(written, 900, begin, end))
    hourly = (await storage.query_history(["pve-100"], ["cpu"], begin, end, max_points=(end - begin) // 3600))["pve-100"]["cpu"]
    assert_points_match(hourly, expected_buckets(written, 3600, begin, end))
    stats = await storage.statistics()
    # Two whole days have passed, so the finer tiers have written closed blocks. The
    # 1-hour tier writes rows only when 15-minute rows age out, and reads them until then.
    assert set(stats["blocks"]) == {0, 1, 2}
    await storage.aclose()


async def test_hour_rows_written_when_quarters_age(storage_factory, clock, tmp_path) -> None:
    storage = storage_factory(quarter_hour_retention_days=1, hour_retention_days=10)
    await storage.open()
    written = await write_dense(storage, clock, START, 4 * DAY + 5 * HOUR, step=30)
    await storage.prune()
    end = START + 4 * DAY + 5 * HOUR
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        hour_starts = [start for (start,) in conn.execute("SELECT start FROM blocks WHERE tier = 3 ORDER BY start")]
        quarter_starts = [start for (start,) in conn.execute("SELECT start FROM blocks WHERE tier = 2 ORDER BY start")]
        flushed = dict(conn.execute("SELECT key, value FROM meta WHERE key = 'flushed_3'").fetchall())
    # Days 0 to 2 aged out of the 15-minute tier, and days 3 and 4 are still there.
    assert hour_starts == [START, START + DAY, START + 2 * DAY]
    assert quarter_starts == [START + 3 * DAY, START + 4 * DAY]
    assert flushed["flushed_3"] == START + 3 * DAY
    # An hourly chart joins the stored 1-hour rows and the 15-minute rows without a gap or an overlap.
    hourly = (await storage.query_history(["pve-100"], ["cpu"], START, end, max_points=(end - START) // 3600))["pve-100"]["cpu"]
    assert_points_match(hourly, expected_buckets(written, 3600, START, end))
    # Another pruning pass folds nothing twice.
    await storage.prune()
    again = (await storage.query_history(["pve-100"], ["cpu"], START, end, max_points=(end - START) // 3600))["pve-100"]["cpu"]
    assert [(p.ts, p.avg) for p in again] == [(p.ts, p.avg) for p in hourly]
    await storage.aclose()


async def test_hour_tier_skipped_when_shorter(storage_factory, clock, tmp_path) -> None:
    # With the 1-hour retention at most the 15-minute one, aged 15-minute rows are already too old for it.
    storage = storage_factory(quarter_hour_retention_days=2, hour_retention_days=2)
    await storage.open()
    await write_dense(storage, clock, START, 5 * DAY, step=300)
    await storage.prune()
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        assert conn.execute("SELECT count(*) FROM blocks WHERE tier = 3").fetchone()[0] == 0
    end = START + 5 * DAY
    points = (await storage.query_history(["pve-100"], ["cpu"], end - DAY, end, max_points=24))["pve-100"]["cpu"]
    assert [point.ts for point in points] == list(range(end - DAY, end, HOUR))
    await storage.aclose()


async def test_rebucketing_keeps_weighted_average(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    written = await write_dense(storage, clock, START, 2 * HOUR, step=10)
    # 2 hours in 10 points: 1-minute tier re-bucketed into 12-minute points.
    result = await storage.query_history(["pve-100"], ["cpu"], START, START + 2 * HOUR, max_points=10)
    assert_points_match(result["pve-100"]["cpu"], expected_buckets(written, 720, START, START + 2 * HOUR))
    await storage.aclose()


CHART_CASES = [
    # (range label, seconds, max_points, bucket of the tier expected to return the points; 0 = raw)
    ("1h", HOUR, 600, 0),
    ("1h", HOUR, 100, 0),
    ("24h", DAY, 600, 60),
    ("7d", 7 * DAY, 600, 900),
    ("30d", 30 * DAY, 600, 3600),
    ("90d", 90 * DAY, 600, 3600),
    ("90d", 90 * DAY, 50, 3600),
]


async def test_chart_ranges_capped(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    # One sample every 10 minutes for 90 days, then every 10 seconds for the last 2 hours.
    sparse_end = START + 90 * DAY
    for day in range(START, sparse_end, DAY):
        batch = [Sample("pve-100", "cpu", ts, wave(ts // 600)) for ts in range(day, day + DAY, 600)]
        clock.now = batch[-1].ts
        await storage.write_samples(batch)
    await write_dense(storage, clock, sparse_end, 2 * HOUR)
    end = clock.now + 1
    for label, seconds, max_points, tier_bucket in CHART_CASES:
        case = f"{label} at {max_points} points"
        points = (await storage.query_history(["pve-100"], ["cpu"], end - seconds, end, max_points=max_points))["pve-100"]["cpu"]
        assert 0 < len(points) <= max_points, f"{case}: {len(points)} points"
        gaps = {b.ts - a.ts for a, b in zip(points, points[1:])}
        if tier_bucket:
            assert all(gap % tier_bucket == 0 for gap in gaps), f"{case}: spacing {sorted(gaps)[:3]} is not a multiple of {tier_bucket}"
        else:
            assert min(gaps) >= 10, f"{case}: raw points closer than the poll interval"
        # The chart reaches back to the start of the range, give or take one output bucket.
        assert points[0].ts <= end - seconds + 2 * seconds / max_points, f"{case}: first point at {end - points[0].ts} s ago"
    await storage.aclose()


async def test_unknown_series_and_empty_range(storage_factory, clock, sample_poll) -> None:
    storage = storage_factory()
    await storage.open()
    await storage.write_samples(sample_poll(["pve-100"], ["cpu"], clock.now))
    assert await storage.query_history(["pve-999"], None, clock.now - HOUR, clock.now + 1) == {}
    assert await storage.query_history(["pve-100"], ["cpu"], clock.now - 10 * DAY, clock.now - 9 * DAY) == {}
    await storage.aclose()


async def test_bad_query_arguments_raise(storage_factory, clock) -> None:
    from pulse_core import StorageError

    storage = storage_factory()
    await storage.open()
    with pytest.raises(StorageError, match="max_points must be at least 1"):
        await storage.query_history(None, None, 0, 10, max_points=0)
    with pytest.raises(StorageError, match="start 10 is after end 0"):
        await storage.query_history(None, None, 10, 0)
    await storage.aclose()


async def test_late_and_invalid_samples_dropped(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    await write_dense(storage, clock, START, HOUR)
    await storage.write_samples(
        [
            Sample("pve-100", "cpu", START + 5, 99.0),  # its raw block closed long ago
            Sample("pve-100", "cpu", clock.now + 10, float("nan")),
            Sample("pve-100", "cpu", clock.now + 20, 7.0),
        ]
    )
    points = (await storage.query_history(["pve-100"], ["cpu"], START, clock.now + 30))["pve-100"]["cpu"]
    assert all(point.max < 99.0 for point in points)
    assert points[-1].avg == pytest.approx(7.0)
    assert storage._history.late_dropped == 2
    await storage.aclose()


async def test_unflushed_samples_survive_reopen(storage_factory, clock, sample_poll) -> None:
    storage = storage_factory()
    await storage.open()
    for i in range(5):
        await storage.write_samples(sample_poll(["pve-100", "node-a"], ["cpu", "memory"], START + 10 * i, float(i)))
    await storage.aclose()

    reopened = storage_factory()
    await reopened.open()
    clock.now = START + 60
    result = await reopened.query_history(None, None, START, START + 60)
    assert sorted(result) == ["node-a", "pve-100"]
    assert [p.avg for p in result["node-a"]["memory"]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    await reopened.aclose()


async def test_long_gap_skips_empty_blocks(storage_factory, clock, sample_poll, tmp_path) -> None:
    storage = storage_factory()
    await storage.open()
    await storage.write_samples(sample_poll(["pve-100"], ["cpu"], START))
    clock.now = START + 20 * DAY
    await storage.write_samples(sample_poll(["pve-100"], ["cpu"], clock.now))
    clock.now += 2 * DAY
    await storage.write_samples(sample_poll(["pve-100"], ["cpu"], clock.now))
    await storage.aclose()
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        rows = conn.execute("SELECT tier, count(*) FROM blocks GROUP BY tier").fetchall()
    # A block per span across the gap would be thousands of rows.
    assert all(count <= 4 for _, count in rows), rows


async def test_prune_respects_each_retention(storage_factory, clock, tmp_path) -> None:
    storage = storage_factory(minute_retention_hours=30, quarter_hour_retention_days=3, hour_retention_days=4)
    await storage.open()
    await write_dense(storage, clock, START, 6 * DAY, step=120)
    await storage.prune()
    now = clock.now
    retentions = storage.settings.retentions()
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        for tier, retention in zip(TIERS, retentions):
            oldest_end = conn.execute("SELECT min(start) + ? FROM blocks WHERE tier = ?", (tier.span, tier.index)).fetchone()[0]
            assert oldest_end is not None, f"tier {tier.name} is empty"
            assert oldest_end > now - retention, f"tier {tier.name} keeps a block ending {now - oldest_end} s ago"
            assert oldest_end <= now - retention + tier.span + 600, f"tier {tier.name} pruned too much"
        assert conn.execute("SELECT count(*) FROM journal WHERE ts < ?", (now - retentions[0],)).fetchone()[0] == 0
    await storage.aclose()


async def write_hours(storage, clock, resources: list[str], start: int, hours: int, step: int = 300) -> None:
    """Write a cpu sample for each resource every ``step`` seconds, an hour per batch."""
    for hour_start in range(start, start + hours * HOUR, HOUR):
        batch = [Sample(resource, "cpu", ts, 20.0) for ts in range(hour_start, hour_start + HOUR, step) for resource in resources]
        clock.now = batch[-1].ts
        await storage.write_samples(batch)


def stored_series(path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {resource: series_id for series_id, resource in conn.execute("SELECT id, resource FROM series")}


async def test_removed_resource_series_pruned(storage_factory, clock, tmp_path) -> None:
    storage = storage_factory(
        raw_retention_hours=1.5, minute_retention_hours=2, quarter_hour_retention_days=1, hour_retention_days=2
    )
    await storage.open()
    await write_hours(storage, clock, ["pve-100", "pve-101"], START, 3)
    kept_id = stored_series(tmp_path / "pulse.db")["pve-100"]
    # pve-101 is removed; a day later its 15-minute rows still hold data, so it keeps its series.
    await write_hours(storage, clock, ["pve-100"], START + 3 * HOUR, 24)
    await storage.prune()
    assert "pve-101" in stored_series(tmp_path / "pulse.db")
    assert ("pve-101", "cpu") in storage._history.series
    assert (await storage.query_history(["pve-101"], ["cpu"], START, clock.now, max_points=24))["pve-101"]["cpu"]

    # Past every retention, the last block of pve-101 is gone and so is its series.
    await write_hours(storage, clock, ["pve-100"], START + 27 * HOUR, 3 * 24)
    await storage.prune()
    series = stored_series(tmp_path / "pulse.db")
    assert "pve-101" not in series
    assert ("pve-101", "cpu") not in storage._history.series
    assert series["pve-100"] == kept_id
    assert storage._history.series[("pve-100", "cpu")] == kept_id
    assert (await storage.statistics())["series"] == 1

    # The resource comes back: it gets a new series and its history starts again.
    await write_hours(storage, clock, ["pve-100", "pve-101"], clock.now + 300 - (clock.now + 300) % HOUR, 1)
    assert stored_series(tmp_path / "pulse.db")["pve-101"] != kept_id
    points = (await storage.query_history(["pve-101"], ["cpu"], clock.now - HOUR, clock.now + 1))["pve-101"]["cpu"]
    assert points
    await storage.aclose()


async def test_series_sweep_after_reopen(storage_factory, clock, tmp_path) -> None:
    # A series row with no blocks, as versions without series pruning left behind.
    storage = storage_factory()
    await storage.open()
    await write_hours(storage, clock, ["pve-100"], START, 1)
    await storage.aclose()
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        conn.execute("INSERT INTO series (resource, metric) VALUES ('pve-gone', 'cpu')")

    reopened = storage_factory()
    await reopened.open()
    await reopened.prune()
    assert sorted(stored_series(tmp_path / "pulse.db")) == ["pve-100"]
    await reopened.aclose()
