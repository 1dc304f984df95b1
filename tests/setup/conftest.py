"""Fixtures for the setup-script tests: Pulse and the simulator on 127.0.0.1, stub Proxmox tools on PATH."""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from pulse_core.daemon import Daemon
from pulse_core.testing.fixtures import start_daemon

STUB = Path(__file__).with_name("proxmox_stub.py")
STUB_PROGRAMS = ("pveum", "pveversion", "proxmox-backup-manager", "id")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    from pulse_core.simulator import Scenario, open_simulator

    async with open_simulator(Scenario.demo()) as simulator:
        yield simulator


@pytest.fixture
async def daemon_factory(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    started: list[Daemon] = []

    async def factory(**kwargs: Any) -> Daemon:
        data_dir = tmp_path / f"pulse-data-{len(started)}"
        data_dir.mkdir()
        overrides = {"server.port": free_port(), "server.bind": "127.0.0.1", **kwargs.pop("overrides", {})}
        daemon = await start_daemon(nursery, data_dir, overrides=overrides, **kwargs)
        started.append(daemon)
        return daemon

    yield factory
    for daemon in started:
        daemon.request_shutdown()


@dataclass
class Node:
    """The stub tools of one pretend Proxmox server: their PATH, call log and state."""

    root: Path

    @property
    def log(self) -> Path:
        return self.root / "calls.jsonl"

    def calls(self, program: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [entry for entry in entries if program is None or entry[0] == program]

    def clear_log(self) -> None:
        self.log.unlink(missing_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.root / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root),
            "STUB_LOG": str(self.log),
            "STUB_STATE": str(self.root / "state.json"),
            "STUB_TOKEN_SECRET": str(uuid.uuid4()),
        }
        env.update(extra)
        return env


@pytest.fixture
def proxmox_node(tmp_path: Path) -> Node:
    node = Node(tmp_path / "node")
    bin_dir = node.root / "bin"
    bin_dir.mkdir(parents=True)
    for program in STUB_PROGRAMS:
        wrapper = bin_dir / program
        wrapper.write_text(f'#!/bin/sh\nSTUB_PROGRAM={program} exec {sys.executable} {STUB} "$@"\n')
        wrapper.chmod(0o755)
    return node


async def run_script(script: str, node: Node, env: dict[str, str]) -> trio.Process:
    path = node.root / "setup.sh"
    path.write_text(script)
    return await trio.run_process(["bash", str(path)], env=env, capture_stdout=True, capture_stderr=True, check=False)


def client_for(daemon: Daemon, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=daemon.bound_urls[0], timeout=60, **kwargs)
