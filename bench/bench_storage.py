"""Benchmarks of the SQLite storage backend (storage_sqlite plugin).

    .venv/bin/python bench/bench_storage.py [ingest] [queries] [size] [idle] [codecs] [noise]

With no argument the first four run (``codecs`` and ``noise`` only on request). Each prints a Markdown table row per
measurement. Time is simulated with an injected clock; CPU is measured with
``time.process_time()``, which counts the worker threads too.
"""

from __future__ import annotations

import argparse
import lzma
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import trio
from pulse_core import Sample
from pulse_core.web.routes.history import _series as chart_series

from pulse_storage_sqlite import SqliteStorage, SqliteStorageSettings, codec
from pulse_storage_sqlite.tiers import TIERS

DAY = 86400
HOUR = 3600
START = 1_699_920_000  # a multiple of every block span
METRICS = ["cpu", "memory", "disk", "netin", "netout", "diskread", "diskwrite", "usage"]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class GuestLoad:
    """Plausible, varying metric values: CPU and memory wander, network and disk I/O burst, disk usage creeps."""

    def __init__(self, guests: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.resources = [f"pve-{100 + g}" for g in range(guests)]
        self.cpu = [self.rng.uniform(1, 40) for _ in range(guests)]
        self.memory = [self.rng.uniform(20, 80) for _ in range(guests)]
        self.disk = [self.rng.uniform(10, 70) for _ in range(guests)]
        self.net = [self.rng.uniform(1e3, 5e5) for _ in range(guests)]

    def poll(self, ts: float) -> list[Sample]:
        rng = self.rng
        out: list[Sample] = []
        add = out.append
        for g, resource in enumerate(self.resources):
            self.cpu[g] = min(100.0, max(0.0, self.cpu[g] + rng.gauss(0, 1.5)))
            self.memory[g] = min(100.0, max(0.0, self.memory[g] + rng.gauss(0, 0.05)))
            self.disk[g] += 1e-5
            net = self.net[g]
            burst = rng.random() < 0.05
            add(Sample(resource, "cpu", ts, round(self.cpu[g], 2)))
            add(Sample(resource, "memory", ts, round(self.memory[g], 3)))
            add(Sample(resource, "disk", ts, round(self.disk[g], 3)))
            add(Sample(resource, "netin", ts, round(net * rng.uniform(0.8, 1.2) * (10 if burst else 1))))
            add(Sample(resource, "netout", ts, round(net * 0.3 * rng.uniform(0.8, 1.2))))
            add(Sample(resource, "diskread", ts, round(rng.expovariate(1 / 2e5)) if burst else 0.0))
            add(Sample(resource, "diskwrite", ts, round(rng.expovariate(1 / 5e4))))
            add(Sample(resource, "usage", ts, round(self.disk[g], 2)))
        return out


def row(label: str, value: str, note: str = "") -> None:
    print(f"| {label} | {value} | {note} |", flush=True)


# --- ingest --------------------------------------------------------------------------------------------


async def bench_ingest(guests: int, hours: float) -> None:
    """CPU per 10-second poll of ``guests`` x 8 metrics, through the real write path (rollups included)."""
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock(START)
        storage = SqliteStorage(Path(tmp) / "pulse.db", SqliteStorageSettings(), clock=clock)
        await storage.open()
        load = GuestLoad(guests)
        polls = int(hours * HOUR / 10)
        per_poll: list[float] = []
        generate = 0.0
        for i in range(polls):
            clock.now = START + i * 10
            t0 = time.process_time()
            batch = load.poll(clock.now)
            t1 = time.process_time()
            await storage.write_samples(batch)
            per_poll.append(time.process_time() - t1)
            generate += t1 - t0
        await storage.aclose()
    windows = [sum(per_poll[i:i + 60]) / 60 for i in range(0, polls - 59, 60)]
    median_window = statistics.median(windows)
    mean = sum(per_poll) / polls
    row(
        f"Ingest {guests:,} guests x 8 metrics per 10 s poll, {hours:g} simulated hours",
        f"{median_window / 10 * 100:.2f} % of one core (median of 10-minute windows)",
        f"mean {mean * 1000:.1f} ms CPU per poll ({mean / 10 * 100:.2f} %), median poll {statistics.median(per_poll) * 1000:.1f} ms, "
        f"max poll {max(per_poll) * 1000:.0f} ms (a block close); sample generation excluded",
    )


# --- queries ---------------------------------------------------------------------------------------------


def _synthetic_buckets(rng: random.Random, start: int, bucket: int, size: int) -> list[codec.Bucket]:
    level = rng.uniform(5, 60)
    out = []
    for slot in range(size):
        level = min(100.0, max(0.0, level + rng.gauss(0, 1)))
        low = level - rng.uniform(0, 3)
        high = level + rng.uniform(0, 3)
        out.append((start + slot * bucket, 6, low, level, high))
    return out


async def build_history(path: Path, guests: int, until: int) -> None:
    """Write 2 days of 1-minute and 7 days of 15-minute rows for every series, up to ``until``.

    There are no 1-hour rows: the backend writes them only for time that the
    15-minute rows no longer cover, and reads the 1-hour tier from those rows.

    Rows are encoded by the backend's codec from a pool of 32 distinct random
    walks per block start, so the file has the real layout and row sizes
    without generating every value (decoding cost does not depend on the values).
    """
    storage = SqliteStorage(path, SqliteStorageSettings())
    # Create the schema through the backend, then fill it directly (this blocks the loop, which is fine here).
    await storage.open()
    await storage.aclose()
    rng = random.Random(3)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    series = [(f"pve-{100 + g}", metric) for g in range(guests) for metric in METRICS]
    conn.executemany("INSERT INTO series (resource, metric) VALUES (?, ?)", series)
    ids = [sid for (sid,) in conn.execute("SELECT id FROM series ORDER BY id")]
    hour_end = until - until % HOUR
    for tier, days, end in ((TIERS[1], 2, until), (TIERS[2], 7, hour_end)):
        for start in range(end - end % tier.span - days * DAY, end, tier.span):
            # The row of the current day holds only the hours completed so far, as in a running system.
            filled = min(tier.buckets_per_block, (end - start) // tier.bucket)
            pool = [
                codec.encode_rollup(start, tier.bucket, tier.buckets_per_block,
                                    _synthetic_buckets(rng, start, tier.bucket, filled))
                for _ in range(32)
            ]
            conn.executemany(
                "INSERT INTO blocks (tier, start, series_id, data) VALUES (?, ?, ?, ?)",
                [(tier.index, start, sid, pool[sid % 32]) for sid in ids],
            )
            conn.commit()
    first_quarter = hour_end - hour_end % TIERS[2].span - 7 * DAY
    flushed = {0: until, 1: until, 2: hour_end, 3: first_quarter}
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [(f"flushed_{k}", v) for k, v in flushed.items()])
    conn.commit()
    conn.close()


async def _timed(runs: int, query: Callable[[], object]) -> tuple[float, int]:
    times = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await query()  # type: ignore[misc]
        times.append(time.perf_counter() - t0)
    return statistics.median(times), _count_points(result)


def _count_points(result: object) -> int:
    """Count the points of a ``query_history`` or ``query_history_columns`` result."""
    series = [points for metrics in result.values() for points in metrics.values()]  # type: ignore[attr-defined]
    return sum(len(points.ts) if hasattr(points, "ts") else len(points) for points in series)


async def bench_queries(guests: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pulse.db"
        # 22 hours into a day, so the open 15-minute and 1-hour rows are nearly full.
        history_end = START + 10 * DAY + 22 * HOUR
        t0 = time.perf_counter()
        await build_history(path, guests, history_end)
        build = time.perf_counter() - t0
        clock = Clock(history_end)
        storage = SqliteStorage(path, SqliteStorageSettings(), clock=clock)
        await storage.open()
        # Two hours of real polls on top, so the open blocks of every tier are in play.
        load = GuestLoad(guests)
        for i in range(720):
            clock.now = history_end + i * 10
            await storage.write_samples(load.poll(clock.now))
        now = clock.now + 10
        size = (await storage.statistics())["file_bytes"]
        row("Query fixture", f"{guests:,} guests, {size / 1e6:.0f} MB", f"built in {build:.0f} s + 2 h of 10 s polls")

        cases = [
            ("1-hour chart, one guest, 8 metrics", ["pve-107"], None, HOUR, 600),
            ("7-day chart, one guest, 8 metrics", ["pve-107"], None, 7 * DAY, 600),
            ("7-day chart, one guest, cpu", ["pve-107"], ["cpu"], 7 * DAY, 600),
            ("24-hour overview, all guests, cpu + memory, 48 points", None, ["cpu", "memory"], DAY, 48),
            ("24-hour overview, all guests, cpu, 96 points", None, ["cpu"], DAY, 96),
            ("24-hour overview, all guests, cpu, 600 points", None, ["cpu"], DAY, 600),
        ]
        for label, resources, metrics, seconds, max_points in cases:
            median, points = await _timed(
                runs, lambda: storage.query_history(resources, metrics, now - seconds, now, max_points=max_points)
            )
            row(label, f"{median * 1000:.1f} ms median of {runs}", f"{points:,} points returned")
            if resources is not None:
                continue
            median, points = await _timed(
                runs, lambda: storage.query_history_columns(resources, metrics, now - seconds, now, max_points=max_points)
            )
            row(f"{label}, as columns", f"{median * 1000:.1f} ms median of {runs}", f"{points:,} points returned")

            async def body() -> dict[str, object]:
                # What GET /api/charts does without ?ids=: the query, then a JSON body with a dict per point.
                result = await storage.query_history_columns(resources, metrics, now - seconds, now, max_points=max_points)
                guests = {rid: {m: chart_series(series) for m, series in by_metric.items()} for rid, by_metric in result.items()}
                orjson.dumps({"guests": guests})
                return result

            median, points = await _timed(runs, body)
            row(f"{label}, as columns + JSON body", f"{median * 1000:.1f} ms median of {runs}", f"{points:,} points returned")
        await storage.aclose()


# --- database size --------------------------------------------------------------------------------------


class SteadyLoad(GuestLoad):
    """Every metric keeps its first value, as on an idle system."""

    def poll(self, ts: float) -> list[Sample]:
        return [Sample(resource, metric, ts, 42.5) for resource in self.resources for metric in METRICS]


async def bench_size(guests: int, days: float, target_guests: int, steady: bool = False) -> None:
    """Run ``days`` of 10 s polls for ``guests``, then extrapolate the 90-day file for ``target_guests``.

    The 15-minute retention is cut to one day for the run, so that pruning
    folds aged 15-minute rows into 1-hour rows (as it does after 30 days in
    production) and the run measures real 1-hour rows. Row sizes do not
    depend on how long rows are kept.
    """
    if days < 3:
        raise SystemExit(f"--size-days must be at least 3 so that 1-hour rows get written, got {days:g}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pulse.db"
        clock = Clock(START)
        storage = SqliteStorage(path, SqliteStorageSettings(quarter_hour_retention_days=1), clock=clock)
        await storage.open()
        load = SteadyLoad(guests) if steady else GuestLoad(guests)
        t0 = time.perf_counter()
        for i in range(int(days * DAY / 10)):
            clock.now = START + i * 10
            await storage.write_samples(load.poll(clock.now))
        elapsed = time.perf_counter() - t0

        stats = await storage.statistics()
        await storage.aclose()
        conn = sqlite3.connect(path)
        per_tier = {
            tier: (count, blob_bytes)
            for tier, count, blob_bytes in conn.execute("SELECT tier, count(*), sum(length(data)) FROM blocks GROUP BY tier")
        }
        conn.close()

    series = guests * len(METRICS)
    retentions = SqliteStorageSettings().retentions()
    # Bytes per row as stored: the blob, the key (tier, start, series id) and the cell header.
    key_and_cell = 14
    modeled_now = sum(count * key_and_cell + blob for count, blob in per_tier.values())
    page_overhead = stats["file_bytes"] / modeled_now
    target_series = target_guests * len(METRICS)

    total = 0.0
    parts = []
    for tier, retention in zip(TIERS, retentions):
        count, blob = per_tier.get(tier.index, (0, 0))
        if not count:
            raise SystemExit(f"the size run stored no {tier.name} rows; run more --size-days")
        kept = retention
        if tier.index == 3:
            # 1-hour rows exist only for the time the 15-minute tier no longer covers.
            kept = max(0.0, retention - retentions[2])
        rows_per_series = math.ceil(kept / tier.span) + 1 if kept else 0
        row_bytes = blob / count + key_and_cell
        tier_bytes = target_series * rows_per_series * row_bytes * page_overhead
        total += tier_bytes
        parts.append(f"{tier.name} {tier_bytes / 1e6:.0f} MB ({row_bytes:.0f} B/row)")
    row(
        f"Database at 90 days, {target_guests:,} guests x 8 metrics, {'steady' if steady else 'varying'} values (extrapolated)",
        f"{total / 1e6:.0f} MB",
        f"from {days:g} simulated days of 10 s polls for {guests} guests ({series:,} series, {elapsed:.0f} s); "
        f"file {stats['file_bytes'] / 1e6:.1f} MB = {page_overhead:.2f} x modeled rows; " + ", ".join(parts),
    )


# --- rollup encodings --------------------------------------------------------------------------------


def _float24_blob(counts: np.ndarray, floats: np.ndarray) -> bytes:
    """Encode a rollup row in the first blob format: zlib of count planes and float32 high-byte planes."""
    count_bytes = counts.astype("<u2").view(np.uint8).reshape(-1, 2).T.tobytes()
    float_bytes = floats.astype("<f4").view(np.uint8).reshape(-1, 4)[:, 1:].T.tobytes()
    return zlib.compress(b"\x02" + count_bytes + float_bytes, 6)


def _zigzag(values: np.ndarray) -> np.ndarray:
    return np.where(values >= 0, 2 * values, -2 * values - 1)


def _code_planes(codes: np.ndarray) -> bytes:
    return codes.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3].T.tobytes()


def _signed_codes(values: np.ndarray) -> np.ndarray:
    """Return the codec's 10-bit codes of ``values`` as signed integers (the sign is bit 18), so differences are small."""
    codes = codec.round_rollup_values(values).astype(np.int64)
    return np.where(codes >= 1 << 18, -(codes & 0x3FFFF), codes)


def _raw_deflate(body: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return b"\x04" + compressor.compress(body) + compressor.flush()


def _entropy_bits(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def bench_codecs(guests: int, days: float) -> None:
    """Bytes per rollup bucket of candidate encodings, on the varying load's 1-minute, 15-minute and 1-hour buckets.

    Values come from ``GuestLoad``; buckets are computed with numpy from the
    raw samples, so this measures encodings only, without the database.
    """
    load = GuestLoad(guests)
    polls = int(days * DAY / 10)
    samples = np.array([[sample.value for sample in load.poll(START + i * 10)] for i in range(polls)])
    for tier in TIERS[1:]:
        per_bucket = tier.bucket // 10
        size = tier.buckets_per_block
        rows = polls // per_bucket // size
        if not rows:
            row(f"Encodings, {tier.name} rows", "skipped", f"needs more than {days:g} simulated days")
            continue
        usable = rows * size * per_bucket
        grouped = samples[:usable].reshape(rows * size, per_bucket, -1)
        low, avg, high = grouped.min(axis=1), grouped.mean(axis=1), grouped.max(axis=1)
        counts = np.full(size, per_bucket)
        totals = {"first format (float24, zlib)": 0, "current (10 bits, planes, raw deflate)": 0,
                  "10 bits, deltas of average, min/max from average": 0, "10 bits, planes, lzma": 0}
        entropy = 0.0
        for series in range(samples.shape[1]):
            codes = [_signed_codes(column[:, series]) for column in (low, avg, high)]
            entropy += _entropy_bits(np.diff(codes[1])) + _entropy_bits(codes[1] - codes[0]) + _entropy_bits(codes[2] - codes[1])
            for r in range(rows):
                part = slice(r * size, (r + 1) * size)
                floats = np.concatenate([low[part, series], avg[part, series], high[part, series]])
                count_planes = counts.astype("<u2").view(np.uint8).reshape(-1, 2).T.tobytes()
                plain = count_planes + _code_planes(codec.round_rollup_values(floats))
                deltas = np.concatenate([np.diff(codes[1][part], prepend=0), codes[1][part] - codes[0][part], codes[2][part] - codes[1][part]])
                totals["first format (float24, zlib)"] += len(_float24_blob(counts, floats))
                totals["current (10 bits, planes, raw deflate)"] += len(codec.encode_rollup(0, 1, size, [
                    (slot, per_bucket, *values) for slot, values in enumerate(zip(low[part, series], avg[part, series], high[part, series]))
                ]))
                totals["10 bits, deltas of average, min/max from average"] += len(_raw_deflate(count_planes + _code_planes(_zigzag(deltas))))
                totals["10 bits, planes, lzma"] += len(lzma.compress(plain, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6}])) + 1
        buckets = rows * size * samples.shape[1]
        for name, total in totals.items():
            row(f"Encodings, {tier.name} rows of {size} buckets: {name}", f"{total / buckets:.2f} B/bucket", f"{total / (rows * samples.shape[1]):.0f} B/row")
        row(
            f"Encodings, {tier.name}: order-0 entropy of the 10-bit codes",
            f"{entropy / samples.shape[1] / 8:.2f} B/bucket",
            "average deltas plus min and max offsets, estimated per series from the values, so low where a series has few buckets",
        )


# --- noise of the load against a recorded series ----------------------------------------------------------

RECORDED_SERIES = Path(__file__).resolve().parents[1] / ".." / "shared" / "proxmox-samples" / "pve-qemu-rrddata.go-proxmox-pve7x.json"
# The rrddata field of each GuestLoad metric, where Proxmox records one.
RRD_FIELDS = {"cpu": "cpu", "memory": "mem", "disk": "disk", "netin": "netin", "netout": "netout",
              "diskread": "diskread", "diskwrite": "diskwrite"}


def _step_changes(values: np.ndarray) -> str:
    """Describe a series by its distinct values and the median relative change between neighbours."""
    steps = np.abs(np.diff(values)) / np.maximum(np.abs(values[:-1]), 1e-9)
    return f"{len(np.unique(values))} distinct, median change {float(np.median(steps)) * 100:.2f} %"


def bench_noise(guests: int) -> None:
    """Compare the varying load's 1-minute averages with a recorded guest ``rrddata`` series (1-minute rows)."""
    if not RECORDED_SERIES.is_file():
        row("Recorded series", "skipped", f"{RECORDED_SERIES} is not present")
        return
    recorded = orjson.loads(RECORDED_SERIES.read_bytes())["data"]
    load = GuestLoad(guests)
    polls = len(recorded) * 6
    samples = np.array([[sample.value for sample in load.poll(START + i * 10)] for i in range(polls)])
    minutes = samples.reshape(len(recorded), 6, guests, len(METRICS)).mean(axis=1)
    for index, metric in enumerate(METRICS):
        field = RRD_FIELDS.get(metric)
        present = [entry[field] for entry in recorded if field is not None and field in entry]
        recorded_text = f"{len(present)} of {len(recorded)} rows" + (f", {_step_changes(np.array(present, dtype=float))}" if len(present) > 1 else "")
        load_text = "; ".join(_step_changes(minutes[:, guest, index]) for guest in range(min(guests, 3)))
        row(f"Noise, {metric}", f"recorded: {recorded_text}", f"load, first guests: {load_text}")


# --- bytes written when idle ----------------------------------------------------------------------------


def _write_chars() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no wchar line")


async def bench_idle(hours: float) -> None:
    """Bytes written per day by a steady homelab: 3 nodes, 120 guests, 9 storages, 1 PBS datastore."""
    series = [(f"pve-pve{n}", m) for n in range(1, 4) for m in ("cpu", "memory", "disk")]
    series += [(f"pve-{vmid}", m) for vmid in range(100, 220) for m in METRICS[:7]]
    series += [(f"pve-pve{n}-{s}", "usage") for n in range(1, 4) for s in ("local", "local-lvm", "nfs")]
    series += [("pbs-main", "usage")]
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock(START)
        storage = SqliteStorage(Path(tmp) / "pulse.db", SqliteStorageSettings(), clock=clock)
        await storage.open()
        # Warm up for 2 hours so the raw tier is at its retention, then measure.
        polls = int((2 * HOUR + hours * HOUR) / 10)
        warmup = int(2 * HOUR / 10)
        before = 0
        for i in range(polls):
            if i == warmup:
                before = _write_chars()
            clock.now = START + i * 10
            await storage.write_samples([Sample(r, m, clock.now, 42.5) for r, m in series])
        written = _write_chars() - before
        await storage.aclose()
    per_day = written * 24 / hours
    # The samples themselves: a 4-byte timestamp and an 8-byte value each.
    samples_per_day = len(series) * DAY / 10 * 12
    row(
        f"Bytes written per day, steady homelab ({len(series)} series, 10 s polls)",
        f"{per_day / 1e6:.0f} MB/day",
        f"write() bytes from /proc/self/io over {hours:g} simulated hours after a 2-hour warm-up; "
        f"the samples themselves are {samples_per_day / 1e6:.0f} MB/day at 12 bytes each "
        f"({per_day / samples_per_day:.2f} x)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmarks", nargs="*", default=["ingest", "queries", "size", "idle"])
    parser.add_argument("--guests", type=int, default=2500, help="guests for ingest and queries (default 2500)")
    parser.add_argument("--ingest-hours", type=float, default=2.0, help="simulated hours of ingest (default 2)")
    parser.add_argument("--runs", type=int, default=20, help="repetitions of each query (default 20)")
    parser.add_argument("--size-guests", type=int, default=100, help="guests in the accelerated size run (default 100)")
    parser.add_argument("--size-days", type=float, default=3.0, help="simulated days of the size run, at least 3 (default 3)")
    parser.add_argument("--steady", action="store_true", help="size run with constant values instead of varying ones")
    parser.add_argument("--idle-hours", type=float, default=6.0, help="simulated hours measured when idle (default 6)")
    parser.add_argument("--codec-guests", type=int, default=10, help="guests whose values the codecs and noise benchmarks use (default 10)")
    parser.add_argument("--codec-days", type=float, default=7.0, help="simulated days of values for the codecs benchmark (default 7)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}", flush=True)
    print("| Measurement | Result | Notes |\n| --- | --- | --- |", flush=True)
    for name in args.benchmarks:
        if name == "ingest":
            trio.run(bench_ingest, args.guests, args.ingest_hours)
        elif name == "queries":
            trio.run(bench_queries, args.guests, args.runs)
        elif name == "size":
            trio.run(bench_size, args.size_guests, args.size_days, args.guests, args.steady)
        elif name == "idle":
            trio.run(bench_idle, args.idle_hours)
        elif name == "codecs":
            bench_codecs(args.codec_guests, args.codec_days)
        elif name == "noise":
            bench_noise(args.codec_guests)
        else:
            parser.error(f"unknown benchmark {name!r}: choose from ingest, queries, size, idle, codecs, noise")


if __name__ == "__main__":
    main()
