"""``pulse demo`` as a user starts it: a subprocess serving the simulated cluster."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import trio

PULSE_BIN = Path(sys.executable).with_name("pulse")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_demo_shows_ceph_and_fast_faults(tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            [str(PULSE_BIN), "demo", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            # A hang guard, not a performance assertion: the first slow refresh runs in the first poll.
            with trio.fail_after(120):
                while True:
                    try:
                        state = (await http.get("/api/state")).json()
                    except httpx.TransportError:
                        state = {}
                    if state.get("cephClusters"):
                        break
                    await trio.sleep(0.5)
            nodes = (await http.get("/api/config/nodes")).json()
    finally:
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(60):
            await process.wait()

    assert state["cephClusters"][0]["health"] == "HEALTH_OK"
    pve = next(node for node in nodes if node["type"] == "pve")
    assert pve["options"] == {"slow": 30, "membership": 30}
    assert "Pulse demo is running" in log_path.read_text()
