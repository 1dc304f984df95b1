"""Replay mode: recorded real responses served for their paths."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from pulse_core.simulator import SimulatorError, open_simulator
from pulse_core.simulator.replay import RECORDED_ENDPOINTS

from .conftest import SHARED, small_scenario

SAMPLES = SHARED / "proxmox-samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason="the recorded Proxmox responses (../shared/proxmox-samples) are not available"
)


@needs_samples
async def test_every_recording_is_served() -> None:
    async with open_simulator(small_scenario(), replay_dir=SAMPLES) as sim:
        assert sim.replay is not None
        assert sim.replay.skipped == []
        pve = httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers())
        pbs = httpx.AsyncClient(base_url=sim.pbs_url + "/api2/json", verify=False, headers=sim.pbs_headers())
        async with pve, pbs:
            for recording in sim.replay.recordings:
                sim.replay.prefer(recording.name)
                path = recording.template.format(node="node1", vmid="100", storage="datastore", store="erebor")
                client = pve if recording.product == "pve" else pbs
                response = await client.get(path, params=recording.query)
                assert response.status_code == recording.status, recording.name
                assert response.json() == json.loads((SAMPLES / recording.name).read_text()), recording.name


@needs_samples
async def test_unrecorded_paths_fall_back_to_scenario() -> None:
    async with open_simulator(small_scenario(), replay_dir=SAMPLES) as sim:
        async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers()) as client:
            storage = await client.get("/nodes/pve1/storage")
            assert storage.status_code == 200
            recorded = (await client.get("/cluster/resources", params={"type": "vm"})).json()["data"]
            names = {entry.get("name") for entry in recorded}
            assert names.isdisjoint({guest.name for guest in sim.state.guests.values()})
            nodes = (await client.get("/cluster/resources", params={"type": "node"})).json()["data"]
            assert {entry["node"] for entry in nodes} == set(sim.state.nodes)


@needs_samples
async def test_replay_still_needs_credentials() -> None:
    async with open_simulator(small_scenario(), replay_dir=SAMPLES) as sim:
        async with httpx.AsyncClient(verify=False) as client:
            response = await client.get(sim.pve_url + "/api2/json/cluster/status")
    assert response.status_code == 401


@needs_samples
async def test_default_prefers_base_recording() -> None:
    async with open_simulator(small_scenario(), replay_dir=SAMPLES) as sim:
        async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers()) as client:
            default = (await client.get("/cluster/status")).json()
            sim.replay.prefer("pve-cluster-status-offline-node.community-proxmox.json")
            offline = (await client.get("/cluster/status")).json()
    assert default == json.loads((SAMPLES / "pve-cluster-status.go-proxmox-pve7x.json").read_text())
    assert any(entry.get("online") == 0 for entry in offline["data"])


async def test_unknown_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "pve-something-else.src.json").write_text('{"data": []}')
    (tmp_path / "pve-nodes.mine.json").write_text('{"data": [{"node": "x", "status": "online"}]}')
    async with open_simulator(small_scenario(pbs=None), replay_dir=tmp_path) as sim:
        assert sim.replay is not None
        assert sim.replay.skipped == ["pve-something-else.src.json"]
        async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
            nodes = (await client.get(sim.pve_url + "/api2/json/nodes")).json()["data"]
    assert nodes == [{"node": "x", "status": "online"}]


async def test_missing_replay_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SimulatorError, match="does not exist"):
        async with open_simulator(small_scenario(pbs=None), replay_dir=tmp_path / "absent"):
            pass


@needs_samples
def test_every_sample_file_is_mapped() -> None:
    endpoints = {path.name.split(".", 1)[0] for path in SAMPLES.glob("*.json")}
    assert endpoints <= set(RECORDED_ENDPOINTS)
