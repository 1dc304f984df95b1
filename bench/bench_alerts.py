"""CPU cost of one alert evaluation over a large state.

Usage: .venv/bin/python bench/bench_alerts.py [--guests 2500] [--nodes 16] [--runs 50] [--firing 0.1]

Builds a State with synthetic nodes, guests (with backup tasks) and storage,
then calls ``AlertEngine.evaluate`` once per simulated 10 s poll on SQLite
storage in a temporary directory. ``--firing`` is the share of guests whose CPU
sits above the trigger, so that many alerts fire, stay active and are saved.
Reports the median and 90th percentile of ``time.process_time()`` per
evaluation, split into the first (firing) runs and the steady state.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import trio

from pulse_core.alerts import AlertEngine
from pulse_core.config import SettingsStore
from pulse_core.model import (
    BackupTask,
    ConnectionHealth,
    Guest,
    Node,
    PollResult,
    Storage,
    Usage,
    guest_id,
    node_id,
    storage_id,
)
from pulse_core.state import State
from pulse_storage_sqlite import SqliteStorageType

GIB = 1024**3
INSTANCE = "pve1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class NullDispatcher:
    async def send_notification(self, notification: object) -> list[str]:
        return []


def build_poll(nodes: int, guests: int, firing: float, now: float) -> PollResult:
    node_names = [f"node{index}" for index in range(nodes)]
    hot = int(guests * firing)
    return PollResult(
        instance=INSTANCE,
        nodes=[
            Node(id=node_id(INSTANCE, name), name=name, instance=INSTANCE, status="online", cpu=0.3,
                 memory=Usage(total=256 * GIB, used=100 * GIB), disk=Usage(total=100 * GIB, used=40 * GIB))
            for name in node_names
        ],
        guests=[
            Guest(id=guest_id(INSTANCE, 100 + index), vmid=100 + index, name=f"vm{index}",
                  node=node_names[index % nodes], instance=INSTANCE, type="qemu", status="running",
                  cpu=0.95 if index < hot else 0.2, memory=Usage(total=8 * GIB, used=4 * GIB),
                  disk=Usage(total=64 * GIB, used=20 * GIB), tags=["prod"] if index % 3 == 0 else [])
            for index in range(guests)
        ],
        storage=[
            Storage(id=storage_id(INSTANCE, name, "local"), name="local", node=name, instance=INSTANCE,
                    status="available", usage=Usage(total=1000 * GIB, used=500 * GIB))
            for name in node_names
        ],
        backup_tasks=[
            BackupTask(id=f"task{index}", upid=f"task{index}", node=node_names[index % nodes], instance=INSTANCE,
                       vmid=100 + index, status="OK", start_time=int(now - 3600), end_time=int(now - 3000))
            for index in range(guests)
        ],
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        clock = Clock()
        storage = SqliteStorageType().create(directory, {})
        await storage.open()
        settings = SettingsStore(Path(directory))
        await settings.set("alerts", {"guest": {"backup_age": {"enabled": True}},
                                      "overrides": {"tag:prod": {"metrics": {"cpu": {"trigger": 90}}}}})
        engine = AlertEngine(settings, storage, clock=clock)
        engine.attach_dispatcher(NullDispatcher())
        state = State(clock=clock)
        result = build_poll(args.nodes, args.guests, args.firing, clock.now)
        timings = []
        for _ in range(args.runs):
            clock.now += 10
            state.apply(result)
            state.set_health(ConnectionHealth(instance=INSTANCE, healthy=True, last_success=clock.now))
            started = time.process_time()
            await engine.evaluate(state)
            timings.append((time.process_time() - started) * 1000)
        await storage.aclose()
    first, steady = timings[:2], timings[2:]
    print(f"guests={args.guests} nodes={args.nodes} runs={args.runs} active alerts={len(engine.active)}")
    print(f"first two evaluations (pending, then firing and saving): {', '.join(f'{ms:.2f}' for ms in first)} ms")
    steady_sorted = sorted(steady)
    p90 = steady_sorted[int(len(steady_sorted) * 0.9) - 1]
    print(f"steady state: median {statistics.median(steady):.2f} ms, p90 {p90:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=2500)
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--firing", type=float, default=0.1)
    trio.run(main, parser.parse_args())
