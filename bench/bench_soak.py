"""Soak benchmark: daemon RSS over 20,000+ polls, and RSS with 2,500 guests.

Phase ``soak``: a simulator child process serves a 3-node cluster with 120
guests and a PBS with 2,000 snapshots, plus 25 standalone PVE nodes (one
simulator instance each, so 26 PVE endpoints and one PBS, all HTTPS on
127.0.0.1).

Time is accelerated. With ``--speed 10`` (the default) the simulator and the
daemon's clock (state, alerts, SQLite storage) move 10 s per real second. So
polling every real second stores samples as densely as the default 10 s
interval, and an 18-minute run covers 3 hours of history blocks, cooldowns and
pruning. Poll deadlines, backoff and cadences stay in real (Trio) time. The
poll deadline is raised to 30 s after start (the configuration caps it below
the interval), so a poll slowed by a busy machine finishes instead of being
cancelled and retried.

The daemon runs in this process through its real scheduler (``Daemon.run``
with SQLite storage, alerts and Hypercorn on 127.0.0.1). It polls every second,
reads guest details every 6 s and slow data (backups, tasks, snapshots, disks)
every 30 s: the default cadences (10 s, 60 s, 300 s) in simulated time. A client
process reads every WebSocket update (each client gets the newest state) and scrapes
``/metrics`` and ``/api/state`` every 10 s; ``--clients-in-process`` runs
those clients in the daemon's process instead, as the bench did before, so
that their buffers count in the RSS. The run stops after ``--polls`` polls
summed over all sources, or after ``--max-minutes``. RSS (``VmRSS`` from
``/proc/self/status``), glibc malloc's and CPython's small-object
allocator's figures are sampled every 5 s into a CSV under ``bench/results/``.

Phase ``large``: a fresh process polls ``Scenario.large(nodes=16, guests=2500)``
(PVE and its PBS) at a 10 s interval and reports the median RSS over the
samples taken after every source has completed ``--large-polls`` polls.

Each phase runs in its own process so one does not inflate the other's RSS.
From the repository root:

    .venv/bin/python bench/bench_soak.py [--polls 20000] [--max-minutes 18] [--phase all|soak|large]
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import ctypes.util
import functools
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pulse_core import allocator  # noqa: E402
from pulse_core.simulator import Scenario, open_simulator  # noqa: E402
from pulse_core.simulator.scenario import PBSScenario  # noqa: E402

RESULTS = ROOT / "bench" / "results"
STANDALONE_NODES = 25
STANDALONE_GUESTS = 6
SAMPLE_SECONDS = 5.0
POLL_DEADLINE = 30.0
SCRAPE_SECONDS = 10.0
# RSS growth is measured from the end of this share of the run, when caches and allocator pools are warm.
WARMUP_SHARE = 0.2


def memory_status() -> dict[str, int]:
    """Return VmRSS, RssAnon (heap and other private memory) and RssFile in bytes, from /proc/self/status."""
    found: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            found[name] = int(value.split()[0]) * 1024
    if "VmRSS" not in found:
        raise RuntimeError("VmRSS missing from /proc/self/status")
    return found


def rss_bytes() -> int:
    return memory_status()["VmRSS"]


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc 2.33 and later), all fields in bytes."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
    )]


def _glibc_mallinfo2() -> Any:
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    function = getattr(ctypes.CDLL(library), "mallinfo2", None)
    if function is None:
        return None
    function.restype = MallInfo2
    return function


MALLINFO2 = _glibc_mallinfo2()


def malloc_status() -> dict[str, int]:
    """Return glibc malloc's heap bytes in use, free heap bytes and mmapped bytes; empty off glibc 2.33+.

    Free heap bytes that grow while bytes in use stay flat are fragmentation: freed
    chunks that malloc keeps but cannot hand back to the system.
    """
    if MALLINFO2 is None:
        return {}
    info = MALLINFO2()
    return {"malloc_used_bytes": info.uordblks, "malloc_free_bytes": info.fordblks, "malloc_mmap_bytes": info.hblkhd}


OBMALLOC_FIELDS = {
    "# arenas allocated current": "obmalloc_arenas",
    "# bytes in allocated blocks": "obmalloc_used_bytes",
    "# bytes in available blocks": "obmalloc_free_bytes",
}


def obmalloc_status() -> dict[str, int]:
    """Return CPython's small-object allocator figures: arenas held, bytes in use and free bytes in them.

    CPython takes its 1 MiB arenas straight from ``mmap``, so ``mallinfo2`` does not
    count them. ``sys._debugmallocstats`` writes to the C-level stderr, which is
    redirected to a temporary file for the call.
    """
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    found: dict[str, int] = {}
    for line in text.splitlines():
        label, _, value = line.partition("=")
        name = OBMALLOC_FIELDS.get(label.strip())
        if name and value.strip():
            found[name] = int(value.strip().replace(",", ""))
    if "obmalloc_arenas" in found:
        found["obmalloc_arena_bytes"] = found.pop("obmalloc_arenas") * 2**20
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- simulator child process -------------------------------------------------------------------

def node_entry(node_id: str, node_type: str, url: str, token: dict[str, str], fingerprint: str | None) -> dict[str, Any]:
    return {
        "id": node_id, "type": node_type, "name": node_id, "host": url, "user": token["user"],
        "token_name": token["token_name"], "token_value": token["token_value"], "verify_ssl": True,
        "fingerprint": fingerprint, "enabled": True, "options": {},
    }


def soak_start(hour: float) -> float:
    """Return the epoch of the most recent ``hour`` o'clock UTC: the simulated time the soak starts at.

    What the simulator builds depends on its start time (how many nightly backups
    lie behind it, job schedules, where the history blocks begin), so a fixed
    hour lets runs made at different times of day be compared.
    """
    now = time.time()
    start = now - now % 86400 + hour * 3600
    return start if start <= now else start - 86400


def soak_scenarios(start_time: float | None = None) -> list[tuple[str, Scenario]]:
    cluster = Scenario(seed=1, nodes=3, cluster_name="soak", guests=120, pbs=PBSScenario(snapshots=2000),
                       start_time=start_time)
    scenarios = [("cluster", cluster)]
    for index in range(STANDALONE_NODES):
        standalone = Scenario(seed=100 + index, nodes=1, node_names=[f"solo{index:02d}"], cluster_name=None,
                              guests=STANDALONE_GUESTS, replication_jobs=0, pbs=None, start_time=start_time)
        scenarios.append((f"solo{index:02d}", standalone))
    return scenarios


async def serve_simulators(kind: str, speed: float, start_time: float | None = None) -> None:
    """Run the phase's simulators, print their node settings as one JSON line, and serve until stdin closes."""
    if kind == "soak":
        scenarios = soak_scenarios(start_time)
    else:
        scenarios = [("large", Scenario.large(nodes=16, guests=2500))]
    async with trio.open_nursery() as nursery:
        sims: list[Any] = []
        nodes: list[dict[str, Any]] = []
        ready = trio.Event()

        async def run_one(name: str, scenario: Scenario) -> None:
            async with open_simulator(scenario) as sim:
                sims.append(sim)
                nodes.append(node_entry(name, "pve", sim.pve_url, sim.pve_token, sim.fingerprint))
                if sim.pbs_url:
                    nodes.append(node_entry(f"{name}-pbs", "pbs", sim.pbs_url, sim.pbs_token, sim.pbs_fingerprint))
                if len(sims) == len(scenarios):
                    ready.set()
                await trio.sleep_forever()

        for name, scenario in scenarios:
            nursery.start_soon(run_one, name, scenario)
        await ready.wait()
        print(json.dumps(nodes), flush=True)

        async def advance_time() -> None:
            while True:
                await trio.sleep(1)
                for sim in sims:
                    sim.control.advance(speed)

        nursery.start_soon(advance_time)
        # The parent closes stdin (or exits) to stop the simulators.
        await trio.to_thread.run_sync(sys.stdin.read)
        nursery.cancel_scope.cancel()


def start_simulator_child(kind: str, speed: float = 1.0,
                          start_time: float | None = None) -> tuple[subprocess.Popen[str], list[dict[str, Any]]]:
    extra = [] if start_time is None else ["--start-time", str(start_time)]
    child = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--speed", str(speed), *extra], cwd=ROOT,
                             stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        raise RuntimeError(f"the {kind} simulator exited before printing its nodes (exit code {child.wait()})")
    return child, json.loads(line)


def stop_child(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()


# --- daemon phases -----------------------------------------------------------------------------

class FastClock:
    """A wall clock that runs ``speed`` times faster than real time from the moment it is made.

    It starts at ``start`` (an epoch), or at the real time when that is None.
    """

    def __init__(self, speed: float, start: float | None = None) -> None:
        self.speed = speed
        self.origin = time.time()
        self.start = self.origin if start is None else start

    def __call__(self) -> float:
        return self.start + (time.time() - self.origin) * self.speed


async def start_bench_daemon(nursery: trio.Nursery, data_dir: Path, nodes: list[dict[str, Any]],
                             interval: float, speed: float = 1.0, start_time: float | None = None) -> Any:
    """Start a daemon on 127.0.0.1 whose state, alerts and storage run on a clock ``speed`` times real time."""
    from pulse_core.cli import make_host
    from pulse_core.config import load_config
    from pulse_core.daemon import NODES_SECTION, Daemon

    overrides = {
        "data_dir": str(data_dir), "server.bind": "127.0.0.1", "server.port": free_port(),
        "polling.interval_seconds": interval, "polling.timeout_seconds": max(interval * 0.95, 0.95),
        "polling.detail_interval_seconds": max(60 / speed, 5), "polling.slow_interval_seconds": max(300 / speed, 10),
        "logging.level": "WARNING",
    }
    host = make_host()
    config = load_config(None, env={}, overrides=overrides, section_models=host.config_sections())
    clock = FastClock(speed, start_time)
    daemon = Daemon(config, host, clock=clock)
    # Sample timestamps come from the daemon's clock and block flushes from the storage's, so both must agree.
    daemon.storage.clock = clock
    daemon.settings.set_sync(NODES_SECTION, nodes)
    await nursery.start(functools.partial(daemon.run, handle_signals=False))
    # The configuration caps the poll deadline below the interval. On a shared 2-CPU machine a 1 s
    # deadline cancels the 2,000-snapshot PBS poll again and again, so the soak allows 30 s.
    for poller in daemon.scheduler.pollers.values():
        poller.timeout = POLL_DEADLINE
    return daemon


def poll_totals(daemon: Any) -> tuple[int, int]:
    pollers = daemon.scheduler.pollers.values()
    return sum(p.stats.polls for p in pollers), sum(p.stats.failures for p in pollers)


async def read_websocket(url: str, counter: list[int], drops: list[int]) -> None:
    """Read every WebSocket update; reconnect when the hub drops this client for falling behind."""
    from trio_websocket import ConnectionClosed, open_websocket_url

    while True:
        try:
            async with open_websocket_url(url, max_message_size=256 * 1024 * 1024) as ws:
                while True:
                    await ws.get_message()
                    counter[0] += 1
        except ConnectionClosed:
            drops[0] += 1
            await trio.sleep(1)


async def serve_clients(base: str, counters_path: str, websocket: bool) -> None:
    """Run the soak's API clients until stdin closes, writing their counters to ``counters_path`` every second.

    They run in their own process so that the buffers of the WebSocket client and the
    scraper, each holding states of several MB, are not counted in the daemon's RSS.
    """
    messages, scrapes, drops = [0], [0], [0]
    target = Path(counters_path)

    async def write_counters() -> None:
        while True:
            await trio.sleep(1)
            scratch = target.with_suffix(".tmp")
            scratch.write_text(json.dumps({"ws_messages": messages[0], "ws_drops": drops[0], "scrapes": scrapes[0]}))
            scratch.replace(target)

    async with trio.open_nursery() as nursery:
        if websocket:
            nursery.start_soon(read_websocket, base.replace("http://", "ws://") + "/ws", messages, drops)
        nursery.start_soon(scrape, base, scrapes)
        nursery.start_soon(write_counters)
        await trio.to_thread.run_sync(sys.stdin.read)
        nursery.cancel_scope.cancel()


def read_counters(path: Path) -> dict[str, int]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"ws_messages": 0, "ws_drops": 0, "scrapes": 0}


async def scrape(base: str, counter: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while True:
            await trio.sleep(SCRAPE_SECONDS)
            for path in ("/metrics", "/api/state"):
                response = await http.get(path)
                response.raise_for_status()
            counter[0] += 1


def print_allocation_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int = 20) -> None:
    """Print to stderr the source lines whose live allocations grew most between two snapshots."""
    print("Allocation growth since warm-up (tracemalloc):", file=sys.stderr)
    for stat in after.compare_to(before, "lineno")[:top]:
        print(f"  {stat.size_diff / 1024:+10.0f} KiB {stat.count_diff:+8d} blocks  {stat.traceback}", file=sys.stderr)


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    if args.trace:
        tracemalloc.start()
    start_time = soak_start(args.start_hour)
    child, nodes = start_simulator_child("soak", args.speed, start_time)
    timer = FullCollectionTimer()
    gc.callbacks.append(timer)
    RESULTS.mkdir(parents=True, exist_ok=True)
    csv_path = RESULTS / f"soak-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.csv"
    rows: list[dict[str, Any]] = []
    rss_before = rss_bytes()
    clients: subprocess.Popen[str] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="pulse-soak-") as data_dir:
            async with trio.open_nursery() as nursery:
                daemon = await start_bench_daemon(nursery, Path(data_dir), nodes, interval=1.0, speed=args.speed,
                                                  start_time=start_time)
                base = daemon.bound_urls[0]
                messages, scrapes, drops = [0], [0], [0]
                counters_path = Path(data_dir) / "client-counters.json"
                if args.clients_in_process:
                    if args.websocket:
                        nursery.start_soon(read_websocket, base.replace("http://", "ws://") + "/ws", messages, drops)
                    nursery.start_soon(scrape, base, scrapes)
                else:
                    clients = subprocess.Popen(
                        [sys.executable, __file__, "--serve", "clients", "--url", base, "--counters", str(counters_path)]
                        + ([] if args.websocket else ["--no-websocket"]),
                        cwd=ROOT, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                started = time.monotonic()
                deadline = started + args.max_minutes * 60
                baseline = None
                while True:
                    await trio.sleep(SAMPLE_SECONDS)
                    polls, failures = poll_totals(daemon)
                    if args.trace and baseline is None and polls >= args.polls * WARMUP_SHARE:
                        baseline = tracemalloc.take_snapshot()
                    memory = memory_status()
                    if not args.clients_in_process:
                        counted = read_counters(counters_path)
                        messages[0], drops[0], scrapes[0] = counted["ws_messages"], counted["ws_drops"], counted["scrapes"]
                    rows.append({
                        "elapsed_s": round(time.monotonic() - started, 1), "polls": polls, "failures": failures,
                        "rss_bytes": memory["VmRSS"], "rss_anon_bytes": memory.get("RssAnon", 0),
                        "rss_file_bytes": memory.get("RssFile", 0), "guests": len(daemon.state.all("guests")),
                        "active_alerts": len(daemon.state.active_alerts), "state_bytes": len(daemon.state.serialized()),
                        "ws_messages": messages[0], "ws_drops": drops[0], "scrapes": scrapes[0],
                        "gc_full_collections": gc.get_stats()[2]["collections"], **malloc_status(), **obmalloc_status(),
                    })
                    if polls >= args.polls or time.monotonic() >= deadline:
                        break
                if baseline is not None:
                    print_allocation_growth(baseline, tracemalloc.take_snapshot())
                if clients is not None:
                    stop_child(clients)
                gc.callbacks.remove(timer)
                reclaimable = measure_full_collection(args.garbage)
                sources = len(daemon.scheduler.pollers)
                guests = len(daemon.state.all("guests"))
                pbs_backups = len(daemon.state.all("pbs_backups"))
                daemon.request_shutdown()
                nursery.cancel_scope.cancel()
    finally:
        if clients is not None and clients.poll() is None:
            stop_child(clients)
        stop_child(child)

    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    total_polls = rows[-1]["polls"]
    warm_polls = total_polls * WARMUP_SHARE
    warm_index = next(index for index, row in enumerate(rows) if row["polls"] >= warm_polls)
    # Medians of five samples (25 s) smooth out allocator steps at both ends.
    warm_rss = statistics.median(row["rss_bytes"] for row in rows[warm_index:warm_index + 5])
    end_rss = statistics.median(row["rss_bytes"] for row in rows[-5:])
    return {
        "phase": "soak", "csv": str(csv_path.relative_to(ROOT)), "sources": sources, "guests": guests,
        "pbs_backups": pbs_backups, "polls": total_polls, "failures": rows[-1]["failures"],
        "seconds": rows[-1]["elapsed_s"], "ws_messages": rows[-1]["ws_messages"],
        "ws_drops": rows[-1]["ws_drops"], "scrapes": rows[-1]["scrapes"],
        "speed": args.speed, "start_hour_utc": args.start_hour, "simulated_hours": rows[-1]["elapsed_s"] * args.speed / 3600,
        "rss_before_daemon_mb": rss_before / 2**20, "warmup_polls": rows[warm_index]["polls"],
        "warmup_rss_mb": warm_rss / 2**20, "end_rss_mb": end_rss / 2**20,
        "growth_percent": (end_rss - warm_rss) / warm_rss * 100,
        **period_medians(rows, warm_index),
        "anon_growth_mb": (statistics.median(row["rss_anon_bytes"] for row in rows[-5:])
                           - statistics.median(row["rss_anon_bytes"] for row in rows[warm_index:warm_index + 5])) / 2**20,
        "peak_rss_mb": max(r["rss_bytes"] for r in rows) / 2**20,
        "gc_full_collections": rows[-1]["gc_full_collections"], "full_gc_pauses": len(timer.pauses),
        "full_gc_pause_median_ms": statistics.median(timer.pauses) * 1000 if timer.pauses else 0.0,
        "full_gc_pause_max_ms": max(timer.pauses, default=0.0) * 1000, **reclaimable,
        **{f"{name.removesuffix('_bytes')}_growth_mb": median_growth(rows, warm_index, name) / 2**20
           for name in ("malloc_used_bytes", "malloc_free_bytes", "malloc_mmap_bytes") if name in rows[0]},
    }


class FullCollectionTimer:
    """Times the garbage collector's full (generation 2) collections, which pause the event loop."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)


def print_garbage(garbage: list[Any], top: int = 25) -> None:
    """Print to stderr the types of the objects a full collection found unreachable, by count and by size."""
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for obj in garbage:
        name = f"{type(obj).__module__}.{type(obj).__qualname__}"
        counts[name] = counts.get(name, 0) + 1
        try:
            sizes[name] = sizes.get(name, 0) + sys.getsizeof(obj)
        except TypeError:
            pass
    print(f"Unreachable objects in the final full collection: {len(garbage)}", file=sys.stderr)
    for name, count in sorted(counts.items(), key=lambda item: -item[1])[:top]:
        print(f"  {count:8d} objects {sizes.get(name, 0) / 1024:10.0f} KiB  {name}", file=sys.stderr)
    print("Largest types by size:", file=sys.stderr)
    for name, size in sorted(sizes.items(), key=lambda item: -item[1])[:10]:
        print(f"  {size / 1024:10.0f} KiB {counts[name]:8d} objects  {name}", file=sys.stderr)


def measure_full_collection(show_garbage: bool = False) -> dict[str, float]:
    """Run a full garbage collection and then malloc_trim at the end of the soak; return what each gave back.

    Memory that only a full collection frees is garbage in reference cycles waiting
    for the collector, not a leak. With ``show_garbage`` the collection keeps what it
    found (``gc.DEBUG_SAVEALL``) long enough to print its types, then lets it go.
    """
    rss_before, malloc_before = rss_bytes(), malloc_status()
    if show_garbage:
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        gc.set_debug(0)
        print_garbage(gc.garbage)
        gc.garbage.clear()
    unreachable = gc.collect()
    rss_after, malloc_after = rss_bytes(), malloc_status()
    freed = {"full_gc_unreachable_objects": float(unreachable), "full_gc_rss_drop_mb": (rss_before - rss_after) / 2**20}
    if allocator.glibc() is not None:
        allocator.trim_heap()
        freed["malloc_trim_rss_drop_mb"] = (rss_after - rss_bytes()) / 2**20
    if malloc_before:
        in_use = ("malloc_used_bytes", "malloc_mmap_bytes")
        freed["full_gc_malloc_freed_mb"] = sum(malloc_before[n] - malloc_after[n] for n in in_use) / 2**20
    return freed


def period_medians(rows: list[dict[str, Any]], warm_index: int) -> dict[str, float]:
    """Return warm-up and end RSS as medians over two full-collection periods, and the growth between them.

    The daemon's scheduled full collection makes RSS a sawtooth with its period, so a 25 s
    window measures where in the cycle it fell as much as the level. Two whole periods do not.
    """
    from pulse_core.daemon import FULL_COLLECTION_SECONDS

    count = max(5, round(2 * FULL_COLLECTION_SECONDS / SAMPLE_SECONDS))
    warm = statistics.median(row["rss_bytes"] for row in rows[warm_index:warm_index + count])
    end = statistics.median(row["rss_bytes"] for row in rows[-count:])
    return {"warmup_rss_2_periods_mb": warm / 2**20, "end_rss_2_periods_mb": end / 2**20,
            "growth_2_periods_percent": (end - warm) / warm * 100}


def median_growth(rows: list[dict[str, Any]], warm_index: int, name: str) -> float:
    """Return the change of a CSV column from warm-up to the end, as medians of five samples each."""
    return (statistics.median(row[name] for row in rows[-5:])
            - statistics.median(row[name] for row in rows[warm_index:warm_index + 5]))


async def large(args: argparse.Namespace) -> dict[str, Any]:
    child, nodes = start_simulator_child("large")
    rss_before = rss_bytes()
    samples: list[int] = []
    try:
        with tempfile.TemporaryDirectory(prefix="pulse-large-") as data_dir:
            async with trio.open_nursery() as nursery:
                daemon = await start_bench_daemon(nursery, Path(data_dir), nodes, interval=10.0)
                started = time.monotonic()
                while len(samples) < 6:
                    await trio.sleep(SAMPLE_SECONDS)
                    pollers = daemon.scheduler.pollers.values()
                    if min(p.stats.polls - p.stats.failures for p in pollers) >= args.large_polls:
                        samples.append(rss_bytes())
                    if time.monotonic() - started > args.max_minutes * 60:
                        raise RuntimeError("the 2,500-guest daemon did not finish its polls in time")
                guests = len(daemon.state.all("guests"))
                pbs_backups = len(daemon.state.all("pbs_backups"))
                polls, failures = poll_totals(daemon)
                daemon.request_shutdown()
                nursery.cancel_scope.cancel()
    finally:
        stop_child(child)
    return {
        "phase": "large", "guests": guests, "pbs_backups": pbs_backups, "polls": polls, "failures": failures,
        "rss_before_daemon_mb": rss_before / 2**20, "rss_mb": statistics.median(samples) / 2**20,
        "peak_sample_mb": max(samples) / 2**20,
    }


def run_phase(phase: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase, "--polls", str(args.polls), "--speed", str(args.speed),
               "--max-minutes", str(args.max_minutes), "--large-polls", str(args.large_polls),
               "--start-hour", str(args.start_hour), "--json"]
    command += [flag for flag, wanted in (("--no-websocket", not args.websocket),
                                          ("--clients-in-process", args.clients_in_process)) if wanted]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def print_summary(result: dict[str, Any]) -> None:
    for key, value in result.items():
        print(f"  {key}: {value:.1f}" if isinstance(value, float) else f"  {key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=["all", "soak", "large"], default="all")
    parser.add_argument("--polls", type=int, default=20_000, help="polls summed over all sources (default 20000)")
    parser.add_argument("--max-minutes", type=float, default=18.0, help="time limit per phase in minutes")
    parser.add_argument("--large-polls", type=int, default=3,
                        help="successful polls per source before the 2,500-guest RSS is sampled (default 3)")
    parser.add_argument("--speed", type=float, default=10.0,
                        help="soak phase: simulated seconds per real second for the daemon and the simulator "
                             "(default 10, so 1 s polls give the sample density of the default 10 s interval)")
    parser.add_argument("--no-websocket", dest="websocket", action="store_false",
                        help="soak phase: run without the WebSocket client")
    parser.add_argument("--trace", action="store_true",
                        help="soak phase: print the lines whose allocations grew after warm-up (slows the run; "
                             "RSS then includes tracemalloc's own records)")
    parser.add_argument("--garbage", action="store_true",
                        help="soak phase: print the types of the objects the final full collection finds unreachable")
    parser.add_argument("--clients-in-process", action="store_true",
                        help="soak phase: run the WebSocket client and the scraper in the daemon's process, as "
                             "before (their buffers then count in the RSS)")
    parser.add_argument("--json", action="store_true", help="print the phase's result as one JSON line")
    parser.add_argument("--serve", choices=["soak", "large", "clients"], help=argparse.SUPPRESS)
    parser.add_argument("--start-hour", type=float, default=12.0,
                        help="soak phase: the simulated clocks start at this hour UTC of the current or previous day "
                             "(default 12)")
    parser.add_argument("--start-time", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--counters", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve == "clients":
        trio.run(serve_clients, args.url, args.counters, args.websocket)
        return
    if args.serve:
        trio.run(serve_simulators, args.serve, args.speed, args.start_time)
        return
    if args.phase == "all":
        for phase in ("soak", "large"):
            result = run_phase(phase, args)
            print(f"{phase}:")
            print_summary(result)
        return
    result = trio.run(functools.partial(soak if args.phase == "soak" else large, args))
    if args.json:
        print(json.dumps(result))
    else:
        print_summary(result)


if __name__ == "__main__":
    main()
