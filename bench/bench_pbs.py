"""Benchmark: CPU and memory of polling one PBS with 20,000 snapshots in 500 backup groups.

The simulator runs in its own process (``pulse simulate --scenario``), so
``time.process_time`` here counts only the PBS source: HTTPS with fingerprint
pinning, JSON decoding, normalization and the snapshot catalog. Measured:

* the first poll, which lists every namespace and reads every snapshot;
* a steady-state poll: status, datastores, GC and the group list of each
  namespace, with no group changed, so no snapshot is read;
* a verification-pass poll: as steady state, plus re-reading the maximum
  number of groups one poll may re-read (``group_fetches``, 200 by default).

Memory is the resident set size of this process (``VmRSS``) before the source
exists, after the first poll and after the steady polls, plus the peak
(``ru_maxrss``). Run from the repository root:

    .venv/bin/python bench/bench_pbs.py [--snapshots 20000] [--groups 500] [--runs 20]
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pulse_core import NodeSettings  # noqa: E402

from pulse_pbs.settings import parse_settings  # noqa: E402
from pulse_pbs.source import PBSSource  # noqa: E402

HOST_GROUPS = 2


def start_simulator(snapshots: int, groups: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    # Backup groups follow the simulated guests (plus file-level "host" groups), so
    # ``groups - HOST_GROUPS`` guests without templates give exactly ``groups`` groups.
    scenario = (
        f"nodes: 1\ncluster_name: null\nguests: {groups - HOST_GROUPS}\ntemplate_share: 0\n"
        f"pbs:\n  snapshots: {snapshots}\n  host_groups: {HOST_GROUPS}\n"
    )
    scenario_file = Path(tempfile.mkstemp(suffix=".yaml")[1])
    scenario_file.write_text(scenario)
    command = [sys.executable, "-m", "pulse_core", "simulate", "--scenario", str(scenario_file)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info: dict[str, str] = {}
    in_pbs = False
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.match(r"Proxmox Backup Server simulator: (\S+)", line):
            info["url"] = match.group(1)
            in_pbs = True
        elif in_pbs and (match := re.search(r"certificate fingerprint \(SHA-256\): (\S+)", line)):
            info["fingerprint"] = match.group(1)
        elif in_pbs and (match := re.search(r"API token: (\S+)!(\S+) : (\S+)", line)):
            info.update(user=match.group(1), token_name=match.group(2), token_value=match.group(3))
        elif line.startswith("Faults and time"):
            break
    if "token_value" not in info:
        process.kill()
        raise SystemExit("the simulator did not print the PBS connection details")
    return process, info


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_source(info: dict[str, str], **options: float) -> PBSSource:
    settings = NodeSettings(
        id="bench", type="pbs", name="bench", host=info["url"], user=info["user"], token_name=info["token_name"],
        token_value=info["token_value"], fingerprint=info["fingerprint"],
        # Jobs and tasks on their own cadence would land in random polls; keep them out of the medians.
        options={"jobs": 1e9, "tasks": 1e9, "namespaces": 1e9, **options},
    )
    config, problems = parse_settings(settings)
    assert config is not None, problems
    return PBSSource(config)


async def timed_polls(source: PBSSource, runs: int) -> tuple[list[float], int, int]:
    cycles = []
    before = source.client.requests
    for _ in range(runs):
        start = time.process_time()
        await source.poll()
        cycles.append(time.process_time() - start)
    return cycles, source.client.requests - before, len(source.catalog.backups())


async def main(args: argparse.Namespace) -> None:
    process, info = start_simulator(args.snapshots, args.groups)
    try:
        rss_start = rss_mib()
        source = make_source(info, full_pass=1e9)
        start, wall = time.process_time(), time.perf_counter()
        result = await source.poll()
        first_cpu, first_wall = time.process_time() - start, time.perf_counter() - wall
        rss_first = rss_mib()
        listed = len(result.pbs_backups or [])
        groups = len(source.catalog.groups)
        first_requests = source.client.requests
        steady, steady_requests, _ = await timed_polls(source, args.runs)
        rss_steady = rss_mib()

        # The same source, now with every group past its full pass: each poll re-reads group_fetches groups.
        source.limits.full_pass = 1e-6
        passes, pass_requests, _ = await timed_polls(source, max(3, args.runs // 2))
        await source.aclose()
    finally:
        process.terminate()
        process.wait()

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"snapshots listed: {listed} in {groups} groups (simulated: {args.snapshots} in {args.groups})")
    print(f"first poll: {first_cpu * 1000:.1f} ms CPU, {first_wall * 1000:.1f} ms wall, {first_requests} requests")
    print(f"steady poll: median {statistics.median(steady) * 1000:.2f} ms CPU "
          f"(min {min(steady) * 1000:.2f}, max {max(steady) * 1000:.2f}), "
          f"{steady_requests / args.runs:.0f} requests per poll; all: {' '.join(f'{c * 1000:.1f}' for c in steady)}")
    print(f"verification-pass poll: median {statistics.median(passes) * 1000:.1f} ms CPU, "
          f"{pass_requests / len(passes):.0f} requests per poll")
    print(f"RSS: {rss_start:.1f} MiB before, {rss_first:.1f} MiB after the first poll, "
          f"{rss_steady:.1f} MiB after {args.runs} steady polls; peak {peak:.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=int, default=20_000, help="snapshots on the simulated PBS")
    parser.add_argument("--groups", type=int, default=500, help="backup groups (guests plus 2 host groups)")
    parser.add_argument("--runs", type=int, default=20, help="steady-state polls to take the median of")
    trio.run(main, parser.parse_args())
