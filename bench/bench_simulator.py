"""Benchmark: CPU cost of the simulator's /cluster/resources for a large cluster.

Measures ``time.process_time`` around the PVE request handler (routing, auth,
permission filter, JSON encoding), the part a benchmark of Pulse must not be
dominated by. Run from the repository root:

    .venv/bin/python bench/bench_simulator.py [--nodes 16] [--guests 2500] [--runs 200]

Prints medians in milliseconds; the figures go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulse_core.simulator import Scenario  # noqa: E402
from pulse_core.simulator.clock import SimClock  # noqa: E402
from pulse_core.simulator.server import Request  # noqa: E402
from pulse_core.simulator.simulator import Simulator  # noqa: E402


def cpu_ms(function, runs: int) -> float:  # noqa: ANN001 - a zero-argument callable
    samples = []
    for _ in range(runs):
        start = time.process_time()
        function()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--guests", type=int, default=2500)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    start = time.process_time()
    scenario = Scenario.large(nodes=args.nodes, guests=args.guests)
    scenario.start_time = 1_790_000_000.0
    sim = Simulator(scenario, tls=False, clock=SimClock(scenario.start_time), member_endpoints=False, replay=None)
    build_ms = (time.process_time() - start) * 1000
    app = sim.pve_app
    headers = {key.lower(): value for key, value in sim.pve_headers().items()}

    def request(path: str, query: dict[str, str] | None = None) -> None:
        response = trio.run(app.handle, Request("GET", "/api2/json" + path, query or {}, headers))
        assert response.status == 200, response.body[:200]

    def changed(path: str, query: dict[str, str] | None = None):  # noqa: ANN202
        def run() -> None:
            sim.state.touch()
            request(path, query)
        return run

    def step() -> None:
        sim.control.advance(10)

    # trio.run's own start-up is part of every sample below; measure it to subtract.
    async def nothing() -> None:
        return None

    baseline = cpu_ms(lambda: trio.run(nothing), args.runs)
    request("/cluster/resources")
    body_size = len(trio.run(app.handle, Request("GET", "/api2/json/cluster/resources", {}, headers)).body)
    results = {
        "cluster/resources, unchanged state (cached body)": cpu_ms(lambda: request("/cluster/resources"), args.runs),
        "cluster/resources, after a state change (rebuilt)": cpu_ms(changed("/cluster/resources"), args.runs),
        "cluster/resources?type=vm, after a state change": cpu_ms(changed("/cluster/resources", {"type": "vm"}), args.runs),
        "nodes/{node}/qemu (one node's guests)": cpu_ms(lambda: request("/nodes/pve1/qemu"), args.runs),
        "metric step (advance 10 s, all guests)": cpu_ms(step, max(20, args.runs // 10)),
    }
    print(f"scenario: {args.nodes} nodes, {len(sim.state.guests)} guests, "
          f"{sum(len(g.snapshots) for g in sim.pbs_state.groups)} PBS snapshots; built in {build_ms:.0f} ms CPU")
    print(f"/cluster/resources body: {body_size / 1024:.0f} KiB; trio.run overhead per sample: {baseline:.3f} ms (subtracted)")
    for name, value in results.items():
        net = value - baseline if "metric step" not in name else value
        print(f"{name:55s} median {net:7.2f} ms CPU  (runs: {args.runs if 'step' not in name else max(20, args.runs // 10)})")
    end_to_end(args)


def end_to_end(args: argparse.Namespace) -> None:
    """Serve over HTTPS in this thread and request from another; report server-thread CPU per request."""
    import httpx

    from pulse_core.simulator import open_simulator

    scenario = Scenario.large(nodes=args.nodes, guests=args.guests)
    runs = max(20, args.runs // 4)

    async def serve() -> None:
        async with open_simulator(scenario) as sim:
            url = sim.pve_url + "/api2/json/cluster/resources"
            headers = sim.pve_headers()

            def client(rebuild: bool) -> None:
                with httpx.Client(verify=False, headers=headers) as session:
                    session.get(url)
                    for _ in range(runs):
                        if rebuild:
                            sim.state.touch()
                        assert session.get(url).status_code == 200

            for rebuild in (False, True):
                start = time.thread_time()
                await trio.to_thread.run_sync(client, rebuild)
                per_request = (time.thread_time() - start) * 1000 / (runs + 1)
                label = "rebuilt every request" if rebuild else "unchanged state"
                print(f"HTTPS end to end, server thread CPU, {label:24s} mean {per_request:7.2f} ms per request (runs: {runs})")

    trio.run(serve)


if __name__ == "__main__":
    main()
