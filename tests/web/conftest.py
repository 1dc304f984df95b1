"""Fixtures for the web tests: a real daemon (Hypercorn on 127.0.0.1, SQLite storage) and in-memory apps."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from pulse_core.config.schema import PulseConfig
from pulse_core.daemon import Daemon
from pulse_core.testing.fixtures import simulator_nodes, start_daemon, wait_until

__all__ = ["free_port", "simulator_nodes", "wait_until"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    NOTE: the configuration rejects port 0, so the daemon cannot pick its own
    ephemeral port; another process could take this one in between (unlikely).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def live_factory(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    """``await live_factory(nodes=[...], overrides={...})`` starts a daemon serving on 127.0.0.1."""
    started: list[Daemon] = []

    async def factory(**kwargs: Any) -> Daemon:
        data_dir = tmp_path / f"pulse-data-{len(started)}"
        data_dir.mkdir()
        overrides = {"server.port": free_port(), **kwargs.pop("overrides", {})}
        daemon = await start_daemon(nursery, data_dir, overrides=overrides, **kwargs)
        started.append(daemon)
        return daemon

    yield factory
    for daemon in started:
        daemon.request_shutdown()


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    from pulse_core.simulator import Scenario, open_simulator

    async with open_simulator(Scenario.demo()) as simulator:
        yield simulator


@pytest.fixture
async def live(live_factory: Callable[..., Awaitable[Daemon]], sim: Any) -> Daemon:
    """A daemon polling the simulated PVE cluster every second; waits for the first poll."""
    daemon = await live_factory(nodes=[node for node in simulator_nodes(sim) if node["type"] == "pve"])
    await wait_until(lambda: bool(daemon.state.all("guests")))
    return daemon


@pytest.fixture
async def client(live: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.bound_urls[0], timeout=30) as http:
        yield http


def make_daemon(tmp_path: Path, **config: Any) -> Daemon:
    """A daemon that is built but not started, for in-memory test clients."""
    from pulse_core.cli import make_host

    data_dir = tmp_path / "pulse-data"
    data_dir.mkdir(exist_ok=True)
    settings = PulseConfig.model_validate({"data_dir": str(data_dir), **config})
    return Daemon(settings, make_host())


@pytest.fixture
async def app_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    daemon = make_daemon(tmp_path)
    await daemon.storage.open()
    yield daemon
    await daemon.storage.aclose()


@pytest.fixture
def app(app_daemon: Daemon) -> Any:
    from pulse_core.web.app import create_app

    return create_app(app_daemon)
