"""Benchmark: CPU of one PVE base-metrics poll cycle, against decoding alone and prometheus-pve-exporter.

The simulator runs in its own process (``pulse simulate``), so ``time.process_time``
in this process counts only the poller: HTTPS, JSON decoding and normalization
of ``/cluster/resources`` plus ``/nodes/{node}/status`` for every node. The
decode baseline is ``orjson.loads`` over the very same response bytes, once
as it runs and once with the cyclic garbage collector paused. "HTTPS
only" is the same requests through the same client with the bodies left
undecoded, so the cycle minus it is what decoding, normalizing and merging
cost. ``--gc-freeze`` calls ``gc.freeze()`` after the warm-up polls, as a
daemon could after startup.

When an exporter binary is given (``--exporter``, from a separate venv), it is
started against the same simulator and scraped over HTTP on 127.0.0.1; its CPU
is read from ``/proc/<pid>/stat`` (10 ms ticks, so the figure is a mean over
``--runs`` scrapes). Run from the repository root:

    .venv/bin/python bench/bench_pve_poll.py [--sizes 100,500,2500] [--runs 15]
        [--exporter /tmp/pve-exporter-venv/bin/pve_exporter] [--gc-freeze]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pulse_core import NodeSettings  # noqa: E402

from pulse_pve.settings import parse_settings  # noqa: E402
from pulse_pve.source import PVESource  # noqa: E402

NODES_FOR = {100: 3, 500: 8, 2500: 16}
SLOW = 1e9


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_simulator(nodes: int, guests: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [sys.executable, "-m", "pulse_core", "simulate", "--nodes", str(nodes), "--guests", str(guests)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.match(r"Proxmox VE simulator: (\S+)", line):
            info["url"] = match.group(1)
        elif match := re.search(r"certificate fingerprint \(SHA-256\): (\S+)", line):
            info.setdefault("fingerprint", match.group(1))
        elif match := re.search(r"API token: (\S+)!(\S+) = (\S+)", line):
            info.update(user=match.group(1), token_name=match.group(2), token_value=match.group(3))
        elif line.startswith("Faults and time"):
            break
    if "token_value" not in info:
        process.kill()
        raise SystemExit("the simulator did not print its connection details")
    return process, info


def cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and its descendants (the exporter scrapes in a gunicorn worker)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            pending.extend(int(child) for child in children)
    return total


async def measure_pulse(info: dict[str, str], runs: int, freeze: bool = False) -> dict[str, float]:
    settings = NodeSettings(
        id="bench", type="pve", name="bench", host=info["url"], user=info["user"],
        token_name=info["token_name"], token_value=info["token_value"], fingerprint=info["fingerprint"],
        options={"guest_status": SLOW, "guest_agent": SLOW, "membership": SLOW, "storage": SLOW, "slow": SLOW},
    )
    config, problems = parse_settings(settings)
    assert config is not None, problems
    source = PVESource(config)
    # The first poll also reads membership, every guest's details and the slow
    # data; a long budget lets it finish, so the measured polls are base only.
    source.cadences.interval = 3600.0
    result = await source.poll()
    source.cadences.interval = 10.0
    guests, nodes = len(result.guests or []), len(result.nodes or [])
    await source.poll()
    if freeze:
        # What a daemon could do once started: move everything alive now out
        # of the collector's reach, so full collections scan only newer objects.
        gc.freeze()
    cycles = []
    for _ in range(runs):
        start = time.process_time()
        result = await source.poll()
        cycles.append(time.process_time() - start)
        assert len(result.guests or []) == guests
    client = source._primary
    bodies = [await client.get_bytes("/cluster/resources")]
    for node in result.nodes or []:
        bodies.append(await client.get_bytes(f"/nodes/{node.name}/status"))
    paths = ["/cluster/resources", *(f"/nodes/{node.name}/status" for node in result.nodes or [])]
    fetches = []
    for _ in range(runs):
        start = time.process_time()
        for path in paths:
            await client.get(path)
        fetches.append(time.process_time() - start)
    # The same requests without decoding: what HTTPS through httpx costs on its own.
    transports = []
    for _ in range(runs):
        start = time.process_time()
        for path in paths:
            await client.get_bytes(path)
        transports.append(time.process_time() - start)
    decodes = []
    for _ in range(max(runs, 50)):
        start = time.process_time()
        for body in bodies:
            orjson.loads(body)
        decodes.append(time.process_time() - start)
    # The figure above includes the collections that the decoded objects set
    # off, and those scan the whole heap now and then, so it moves with the
    # heap's state. This one leaves them out.
    paused_decodes = []
    for _ in range(max(runs, 50)):
        gc.disable()
        start = time.process_time()
        for body in bodies:
            orjson.loads(body)
        paused_decodes.append(time.process_time() - start)
        gc.enable()
    await source.aclose()
    if freeze:
        gc.unfreeze()
    return {
        "guests": guests,
        "nodes": nodes,
        "bytes": sum(len(body) for body in bodies),
        "requests": len(bodies),
        "cycle_ms": statistics.median(cycles) * 1000,
        "fetch_ms": statistics.median(fetches) * 1000,
        "transport_ms": statistics.median(transports) * 1000,
        "decode_ms": statistics.median(decodes) * 1000,
        "paused_decode_ms": statistics.median(paused_decodes) * 1000,
    }


def measure_exporter(binary: str, info: dict[str, str], runs: int) -> dict[str, float] | str:
    port = free_port()
    netloc = info["url"].removeprefix("https://")
    with tempfile.TemporaryDirectory(prefix="pulse-bench-exporter-") as directory:
        config = Path(directory) / "pve.yml"
        config.write_text(
            "default:\n"
            f"  user: {info['user']}\n  token_name: {info['token_name']}\n  token_value: {info['token_value']}\n"
            "  verify_ssl: false\n"
        )
        process = subprocess.Popen(
            # The simulator has no /cluster/backup-info/not-backed-up, so that collector is off.
            [binary, "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}", "--no-collector.backup-info"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/pve"
            params = {"target": netloc, "cluster": "1", "node": "0"}
            deadline = time.monotonic() + 30
            while True:
                try:
                    warm = httpx.get(url, params=params, timeout=120)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        return "the exporter did not start"
                    time.sleep(0.2)
            if warm.status_code != 200:
                return f"the exporter answered {warm.status_code}: {warm.text[:200]}"
            series = sum(1 for line in warm.text.splitlines() if line and not line.startswith("#"))
            before = cpu_seconds(process.pid)
            for _ in range(runs):
                response = httpx.get(url, params=params, timeout=120)
                assert response.status_code == 200
            spent = cpu_seconds(process.pid) - before
            return {"scrape_ms": spent / runs * 1000, "series": series}
        finally:
            process.terminate()
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,2500")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--exporter", help="path to the pve_exporter binary of prometheus-pve-exporter")
    parser.add_argument("--gc-freeze", action="store_true", help="call gc.freeze() after the warm-up polls")
    args = parser.parse_args()
    rows = []
    for size in (int(part) for part in args.sizes.split(",")):
        process, info = start_simulator(NODES_FOR.get(size, 8), size)
        try:
            pulse = trio.run(measure_pulse, info, args.runs, args.gc_freeze)
            exporter = measure_exporter(args.exporter, info, args.runs) if args.exporter else "not run"
        finally:
            process.terminate()
            process.wait(timeout=10)
        rows.append((size, pulse, exporter))
        line = (
            f"{size:>5} guests ({pulse['nodes']} nodes, {pulse['requests']} requests, {pulse['bytes'] / 1024:.0f} KiB): "
            f"cycle {pulse['cycle_ms']:.2f} ms, HTTPS fetch and decode only {pulse['fetch_ms']:.2f} ms, "
            f"HTTPS only {pulse['transport_ms']:.2f} ms, decode {pulse['decode_ms']:.2f} ms, "
            f"ratio {pulse['cycle_ms'] / pulse['decode_ms']:.2f}x, "
            f"without HTTPS {(pulse['cycle_ms'] - pulse['transport_ms']) / pulse['decode_ms']:.2f}x; "
            f"decode with the collector paused {pulse['paused_decode_ms']:.2f} ms, "
            f"ratio {pulse['cycle_ms'] / pulse['paused_decode_ms']:.2f}x"
        )
        if isinstance(exporter, dict):
            line += (
                f"; exporter scrape {exporter['scrape_ms']:.1f} ms ({exporter['series']} series), "
                f"ratio {pulse['cycle_ms'] / exporter['scrape_ms']:.3f}x"
            )
        else:
            line += f"; exporter: {exporter}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
