"""Simulated time, metric evolution, seeded determinism and scenario validation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pulse_core.simulator import PBSScenario, Scenario, ScenarioError, Simulator, open_simulator
from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.state import build_state

from .conftest import small_scenario


async def resources(client: httpx.AsyncClient) -> dict[int, dict]:
    entries = (await client.get("/cluster/resources", params={"type": "vm"})).json()["data"]
    return {entry["vmid"]: entry for entry in entries}


async def test_counters_grow_and_uptime_follows(sim: Simulator, pve: httpx.AsyncClient) -> None:
    before = await resources(pve)
    sim.control.advance(600)
    after = await resources(pve)
    running = [vmid for vmid, entry in before.items() if entry["status"] == "running"]
    assert running
    for vmid in running:
        assert after[vmid]["uptime"] == before[vmid]["uptime"] + 600
        for counter in ("netin", "netout", "diskread", "diskwrite"):
            assert after[vmid][counter] > before[vmid][counter]


async def test_cpu_wanders_within_bounds(sim: Simulator, pve: httpx.AsyncClient) -> None:
    seen: dict[int, set[float]] = {}
    for _ in range(10):
        sim.control.advance(60)
        for vmid, entry in (await resources(pve)).items():
            if entry["status"] == "running":
                assert 0.0 <= entry["cpu"] <= 1.0
                assert 0 < entry["mem"] <= entry["maxmem"]
                seen.setdefault(vmid, set()).add(entry["cpu"])
    assert all(len(values) > 1 for values in seen.values())


async def test_restart_resets_counters(sim: Simulator, pve: httpx.AsyncClient) -> None:
    vmid = next(g.vmid for g in sim.state.guests.values() if g.running)
    sim.control.advance(60)
    sim.control.restart_guest(vmid)
    entry = (await resources(pve))[vmid]
    assert entry["netin"] == 0
    assert entry["uptime"] == 0
    sim.control.advance(30)
    assert (await resources(pve))[vmid]["netin"] > 0


async def test_stopped_guests_report_zero(sim: Simulator, pve: httpx.AsyncClient) -> None:
    for entry in (await resources(pve)).values():
        if entry["status"] == "stopped":
            assert entry["cpu"] == 0
            assert entry["mem"] == 0
            assert entry["uptime"] == 0


def snapshot_of(scenario: Scenario) -> list:
    state = build_state(scenario, SimClock(scenario.start_time))
    return [
        (g.vmid, g.type, g.node, g.name, g.status, g.tags, g.cpu, g.netin, [s.name for s in g.snapshots])
        for g in state.guests.values()
    ] + [(b.volid, b.size) for b in state.backups]


def test_same_seed_same_state() -> None:
    assert snapshot_of(small_scenario()) == snapshot_of(small_scenario())


def test_other_seed_other_state() -> None:
    assert snapshot_of(small_scenario()) != snapshot_of(small_scenario(seed=8))


async def test_same_seed_same_responses() -> None:
    bodies = []
    for _ in range(2):
        async with open_simulator(small_scenario()) as sim:
            async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
                sim.control.advance(120)
                response = await client.get(sim.pve_url + "/api2/json/cluster/resources")
                bodies.append(response.content)
    assert bodies[0] == bodies[1]


def test_scenario_mix_is_respected() -> None:
    scenario = small_scenario(guests=400, vm_share=1.0, stopped_share=0.0, template_share=0.0, agent_share=1.0)
    state = build_state(scenario, SimClock(scenario.start_time))
    guests = list(state.guests.values())
    assert all(g.type == "qemu" for g in guests)
    assert all(g.agent for g in guests)
    assert sum(g.running for g in guests) == 400
    assert any(not g.name.isascii() for g in guests)


def test_templates_are_stopped() -> None:
    scenario = small_scenario(guests=200, template_share=0.2)
    state = build_state(scenario, SimClock(scenario.start_time))
    templates = [g for g in state.guests.values() if g.template]
    assert templates
    assert all(g.status == "stopped" for g in templates)


def test_presets() -> None:
    demo = Scenario.demo()
    assert demo.cluster_name == "demo"
    assert demo.nodes == 3
    assert demo.pbs is not None
    large = Scenario.large()
    assert (large.nodes, large.guests) == (16, 2500)
    assert large.pbs is not None and large.pbs.snapshots >= 1000


def test_from_dict_and_yaml(tmp_path: Path) -> None:
    scenario = Scenario.from_dict({
        "seed": 3, "nodes": 2, "guests": 5, "cluster_name": None, "pve_version": "8.4.14",
        "storages": [{"name": "tank", "type": "zfspool"}],
        "pbs": {"datastores": ["a", "b"], "snapshots": 50},
    })
    assert scenario.cluster_name is None
    assert scenario.pve_major == 8
    assert scenario.resolved_storages()[0].shared is False
    assert scenario.pbs is not None and scenario.pbs.datastores == ["a", "b"]
    path = tmp_path / "scenario.yaml"
    path.write_text("preset: demo\nguests: 9\npbs:\n  snapshots: 20\n", encoding="utf-8")
    loaded = Scenario.from_yaml(path)
    assert loaded.guests == 9
    assert loaded.cluster_name == "demo"
    assert loaded.pbs is not None and loaded.pbs.snapshots == 20


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nodes": 0}, "nodes: must be at least 1"),
        ({"vm_share": 1.5}, "vm_share: must be a fraction between 0 and 1"),
        ({"guestz": 3}, "guestz: unknown scenario setting"),
        ({"guests": "many"}, "guests: expected a whole number"),
        ({"pve_version": "7.4-16"}, "pve_version: expected a PVE 8 or 9 version"),
        ({"storages": [{"name": "x", "type": "floppy"}]}, "storages[0].type: must be one of"),
        ({"pbs": {"namespaces": ["/abs"]}}, "pbs.namespaces: '/abs' is not a relative namespace path"),
        ({"pbs": {"snapshotz": 1}}, "pbs.snapshotz: unknown PBS setting"),
        ({"preset": "huge"}, "preset: must be 'demo' or 'large'"),
    ],
)
def test_invalid_scenarios_name_the_field(data: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict(data)
    assert any(problem.startswith(message) for problem in caught.value.problems), caught.value.problems


def test_missing_yaml_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot be read"):
        Scenario.from_yaml(tmp_path / "absent.yaml")


async def test_pve8_differences() -> None:
    async with open_simulator(small_scenario(pve_version="8.4.14", pbs=None)) as sim:
        async with httpx.AsyncClient(verify=False, headers=sim.pve_headers(), base_url=sim.pve_url + "/api2/json") as client:
            version = (await client.get("/version")).json()["data"]
            assert version["version"] == "8.4.14"
            assert version["release"] == "8.4"
            entries = (await client.get("/cluster/resources", params={"type": "vm"})).json()["data"]
            assert all("memhost" not in entry for entry in entries)
            status = (await client.get("/nodes/pve1/status")).json()["data"]
            assert "available" not in status["memory"]
            rows = (await client.get("/nodes/pve1/rrddata", params={"timeframe": "day"})).json()["data"]
            assert len(rows) == 70


def test_pbs_scenario_counts() -> None:
    scenario = small_scenario(pbs=PBSScenario(snapshots=500, datastores=["x", "y"]))
    from pulse_core.simulator.pbs import build_pbs_state

    clock = SimClock(scenario.start_time)
    pbs = build_pbs_state(scenario, clock, build_state(scenario, clock))
    assert sum(len(group.snapshots) for group in pbs.groups) == 500
    assert {group.store for group in pbs.groups} == {"x", "y"}
