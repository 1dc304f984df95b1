"""Fixtures for the export/import tests: running daemons on 127.0.0.1 and the simulator."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from pulse_core.daemon import Daemon
from pulse_core.testing.fixtures import start_daemon

# Key derivation at the real 600,000 iterations takes about a second; most tests use fewer.
TEST_KDF_ITERATIONS = 1_000
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    from pulse_core.simulator import Scenario, open_simulator

    async with open_simulator(Scenario.demo()) as simulator:
        yield simulator


@pytest.fixture
async def daemon_factory(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    """``await daemon_factory(nodes=[...], real_kdf=False)`` starts a daemon on 127.0.0.1."""
    started: list[Daemon] = []

    async def factory(real_kdf: bool = False, **kwargs: Any) -> Daemon:
        data_dir = kwargs.pop("data_dir", None) or tmp_path / f"pulse-data-{len(started)}"
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        overrides = {"server.port": free_port(), **kwargs.pop("overrides", {})}
        daemon = await start_daemon(nursery, Path(data_dir), overrides=overrides, **kwargs)
        if not real_kdf:
            daemon.transfer_kdf_iterations = TEST_KDF_ITERATIONS  # type: ignore[attr-defined]
        started.append(daemon)
        return daemon

    yield factory
    for daemon in started:
        daemon.request_shutdown()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (the configuration rejects port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_for(daemon: Daemon) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=daemon.bound_urls[0], timeout=60)
