"""Fixtures for the simulator tests: small scenarios and clients that talk to it over HTTPS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pulse_core.simulator import PBSScenario, Scenario, Simulator, open_simulator

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


def small_scenario(**overrides: object) -> Scenario:
    """A 3-node cluster with 12 guests and a small PBS, quick to build."""
    values: dict[str, object] = {
        "seed": 7,
        "nodes": 3,
        "guests": 12,
        "start_time": 1_790_000_000.0,
        "pbs": PBSScenario(snapshots=40),
    }
    values.update(overrides)
    return Scenario(**values)  # type: ignore[arg-type]


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with open_simulator(small_scenario()) as simulator:
        yield simulator


@pytest.fixture
async def pve(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers()) as client:
        yield client


@pytest.fixture
async def pbs(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    assert sim.pbs_url is not None
    async with httpx.AsyncClient(base_url=sim.pbs_url + "/api2/json", verify=False, headers=sim.pbs_headers()) as client:
        yield client
