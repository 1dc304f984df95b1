"""Pytest fixtures for Pulse and its plugin authors, registered through the ``pytest11`` entry point.

Fixtures (all Trio, for pytest-trio):

* ``pulse_simulator`` — a small simulated PVE cluster with a PBS, over HTTPS on 127.0.0.1.
* ``pulse_daemon_factory`` — ``await factory(nodes=[...], env={...})`` starts an in-process daemon on
  127.0.0.1 with a temporary data directory and returns it; stopped at the end of the test.
* ``pulse_daemon`` — a daemon already polling ``pulse_simulator``.
* ``pulse_client`` — an ``httpx.AsyncClient`` whose base URL is ``pulse_daemon``'s.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from pulse_core.config import load_config
from pulse_core.daemon import NODES_SECTION, Daemon


def simulator_nodes(sim: Any) -> list[dict[str, Any]]:
    """Node settings (the stored snake_case form) that point at a running simulator."""
    from pulse_core.demo import demo_nodes

    return demo_nodes(sim)


async def start_daemon(
    nursery: trio.Nursery,
    data_dir: Path,
    *,
    nodes: list[dict[str, Any]] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    config_text: str | None = None,
) -> Daemon:
    """Start a daemon on 127.0.0.1 (ephemeral port) inside ``nursery`` and return it once it serves."""
    from pulse_core.cli import make_host

    host = make_host()
    config_path = None
    if config_text is not None:
        config_path = data_dir / "pulse.yaml"
        config_path.write_text(config_text)
    settings = {"data_dir": str(data_dir), "server.bind": "127.0.0.1", "server.port": 0,
                "polling.interval_seconds": 1.0}
    settings.update(overrides or {})
    config = load_config(config_path, env=dict(env or {}), overrides=settings,
                         section_models=host.config_sections())
    daemon = Daemon(config, host)
    if nodes is not None:
        daemon.settings.set_sync(NODES_SECTION, nodes)
    await nursery.start(functools.partial(daemon.run, handle_signals=False))
    return daemon


def base_url(daemon: Daemon) -> str:
    return daemon.bound_urls[0]


@pytest.fixture
async def pulse_simulator() -> AsyncIterator[Any]:
    from pulse_core.simulator import Scenario, open_simulator

    async with open_simulator(Scenario.demo()) as sim:
        yield sim


@pytest.fixture
async def pulse_daemon_factory(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    started: list[Daemon] = []
    counter = 0

    async def factory(**kwargs: Any) -> Daemon:
        nonlocal counter
        counter += 1
        data_dir = kwargs.pop("data_dir", None) or tmp_path / f"pulse-data-{counter}"
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        daemon = await start_daemon(nursery, Path(data_dir), **kwargs)
        started.append(daemon)
        return daemon

    yield factory
    for daemon in started:
        daemon.request_shutdown()


@pytest.fixture
async def pulse_daemon(pulse_daemon_factory: Callable[..., Awaitable[Daemon]], pulse_simulator: Any) -> Daemon:
    return await pulse_daemon_factory(nodes=simulator_nodes(pulse_simulator))


@pytest.fixture
async def pulse_client(pulse_daemon: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(pulse_daemon), timeout=30) as client:
        yield client


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds.

    The timeout is a hang guard, not a performance assertion.
    """
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(interval)
