"""Load test of GET /api/state and the /ws fan-out on loopback.

Usage: .venv/bin/python bench/bench_api.py [--guests 2500] [--duration 10] [--connections 10]
       [--ws-clients 200] [--ws-guests 2500] [--ws-polls 5]

The daemon runs in this process on 127.0.0.1 with SQLite storage and no
configured nodes; the state is filled with synthetic nodes, guests and
storage. ``wrk`` (Debian package ``wrk``) drives /api/state for a fixed
duration, once without and once with ``Accept-Encoding: gzip``. For /ws, a
child process opens the clients plus one that never reads. This process then
applies a poll result and broadcasts ``--ws-polls`` times, and the child
reports when each client got each update. Latency runs from the moment the
poll result exists to the client's receipt, so it includes merging the
result, serializing the state and compressing it.

The guard's general rate limit (500 requests per minute per client) is raised
in this process only: a single-address load generator would otherwise get 429s.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from pulse_core.model import Guest, Node, PollResult, Storage, Usage, guest_id, node_id, storage_id

GIB = 1024**3


def synthetic_poll(instance: str, nodes: int, guests: int, tick: int) -> PollResult:
    """Build a poll result shaped like a busy cluster: every guest running, metrics varying per tick."""
    node_names = [f"pve{index + 1}" for index in range(nodes)]
    node_list = [
        Node(id=node_id(instance, name), name=name, instance=instance, status="online", host=f"{name}.lan",
             cpu=0.2 + (tick % 10) / 100, cpus=32, memory=Usage(256 * GIB, 100 * GIB), disk=Usage(500 * GIB, 80 * GIB),
             uptime=86400, pve_version="8.2.4", last_seen=time.time())
        for name in node_names
    ]
    guest_list = []
    for index in range(guests):
        vmid = 100 + index
        guest_list.append(Guest(
            id=guest_id(instance, vmid), vmid=vmid, name=f"guest-{vmid}", node=node_names[index % nodes],
            instance=instance, type="qemu" if index % 3 else "lxc", status="running", cpu=((index + tick) % 100) / 100,
            cpus=4, memory=Usage(8 * GIB, (index % 8) * GIB), disk=Usage(64 * GIB, 20 * GIB), net_in=1000.0 * tick,
            net_out=500.0, disk_read=10.0, disk_write=20.0, uptime=3600 + tick, tags=["prod", "web"],
            ip_addresses=[f"10.0.{index // 250}.{index % 250}"], last_seen=time.time(),
        ))
    storage = [
        Storage(id=storage_id(instance, name, "local"), name="local", node=name, instance=instance, type="dir",
                content=["iso", "backup"], status="available", usage=Usage(1000 * GIB, 300 * GIB))
        for name in node_names
    ]
    return PollResult(instance=instance, nodes=node_list, guests=guest_list, storage=storage)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_wrk(url: str, duration: int, connections: int, headers: list[str]) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", *sum((["-H", h] for h in headers), []), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99_text = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_text.group(2)]
    p50_text = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": rate,
        "p50_ms": float(p50_text.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50_text.group(2)],
        "p99_ms": float(p99_text.group(1)) * scale,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


WS_CLIENT_SCRIPT = r"""
import json, sys, time, trio
from trio_websocket import open_websocket_url

async def client(url, index, polls, receipts, ready):
    async with open_websocket_url(url, max_message_size=64 * 1024 * 1024) as ws:
        await ws.get_message()  # initialState
        ready.append(index)
        got = []
        while len(got) < polls:
            await ws.get_message()  # only rawData follows: this client sends no ping or resync
            got.append(time.time())
        receipts[index] = got

async def stalled(url, hold):
    # message_queue_size=0: the reader stops after the first message, so the TCP buffers fill up.
    async with open_websocket_url(url, message_queue_size=0, max_message_size=64 * 1024 * 1024) as ws:
        await trio.sleep(hold)

async def main():
    url, clients, polls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    receipts, ready = {}, []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(stalled, url, 600)
        async with trio.open_nursery() as inner:
            for index in range(clients):
                inner.start_soon(client, url, index, polls, receipts, ready)
            while len(ready) < clients:
                await trio.sleep(0.05)
            print("READY", flush=True)
        nursery.cancel_scope.cancel()
    print(json.dumps(receipts), flush=True)

trio.run(main)
"""


async def bench_ws(daemon, url: str, clients: int, guests: int, polls: int) -> dict[str, float]:
    """Broadcast ``polls`` updates to ``clients`` readers plus one stalled client; return delivery latencies."""
    daemon.state.apply(synthetic_poll("bench", 16, guests, 0))
    hub = daemon.app.extensions["pulse_ws_hub"]
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", WS_CLIENT_SCRIPT, url, str(clients), str(polls)], stdout=subprocess.PIPE,
    )
    buffer = b""
    while b"READY" not in buffer:
        chunk = await process.stdout.receive_some()
        if not chunk:
            raise RuntimeError("WebSocket client process exited before its clients connected")
        buffer += chunk
    broadcast_times = []
    for tick in range(1, polls + 1):
        poll = synthetic_poll("bench", 16, guests, tick)
        # The poll has ended: from here on the clock runs through merging, serializing and sending.
        started = time.time()
        daemon.state.apply(poll)
        hub.on_poll()
        broadcast_times.append(started)
        await trio.sleep(2)
    while True:
        chunk = await process.stdout.receive_some()
        if not chunk:
            break
        buffer += chunk
    await process.wait()
    receipts = json.loads(buffer.split(b"READY", 1)[1])
    latencies = [
        (received - broadcast_times[index]) * 1000
        for times in receipts.values()
        for index, received in enumerate(times)
    ]
    per_poll_max = [
        max(times[index] - broadcast_times[index] for times in receipts.values()) * 1000 for index in range(polls)
    ]
    return {
        "clients": len(receipts),
        "median_ms": statistics.median(latencies),
        "max_ms": max(latencies),
        "worst_poll_max_ms": max(per_poll_max),
        "dropped": hub.dropped,
        "state_bytes": len(daemon.state.serialized()),
    }


async def main(args: argparse.Namespace) -> None:
    from pulse_core.security import ratelimit
    from pulse_core.testing.fixtures import start_daemon

    ratelimit.GENERAL = ratelimit.Limit("general", 10**9, 60)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        async with trio.open_nursery() as nursery:
            daemon = await start_daemon(nursery, Path(data_dir), nodes=[], overrides={"server.port": free_port()})
            base = daemon.bound_urls[0]
            daemon.state.apply(synthetic_poll("bench", 16, args.guests, 0))
            state_bytes = daemon.state.serialized()
            results["state_bytes"] = len(state_bytes)
            results["guests"] = args.guests
            for label, headers in (("identity", []), ("gzip", ["Accept-Encoding: gzip"])):
                results[label] = await trio.to_thread.run_sync(
                    functools.partial(run_wrk, f"{base}/api/state", args.duration, args.connections, headers)
                )
            if args.ws_clients:
                url = base.replace("http://", "ws://") + "/ws"
                if args.ws_encoding == "gzip":
                    url += "?encoding=gzip"
                results["websocket_encoding"] = args.ws_encoding
                results["websocket"] = await bench_ws(daemon, url, args.ws_clients, args.ws_guests, args.ws_polls)
            daemon.request_shutdown()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=2500)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=10, help="wrk connections")
    parser.add_argument("--ws-clients", type=int, default=200)
    parser.add_argument("--ws-guests", type=int, default=2500)
    parser.add_argument("--ws-polls", type=int, default=5)
    parser.add_argument("--ws-encoding", choices=["text", "gzip"], default="gzip",
                        help="text frames, or /ws?encoding=gzip")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed; on Debian: apt-get install wrk")
    trio.run(main, parser.parse_args())
