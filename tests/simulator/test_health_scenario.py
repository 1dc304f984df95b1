"""Scenario options and control calls for disk health, Ceph health and replication failures."""

from __future__ import annotations

import httpx
import pytest

from pulse_core.simulator import Scenario, ScenarioError, SimulatorError, open_simulator

from .conftest import small_scenario


def test_scenario_rejects_invalid_health_options():
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict({"ceph_health": "HEALTH_BAD", "failing_disks": -1, "replication_jobs": 1,
                            "failed_replication_jobs": 2})
    problems = caught.value.problems
    assert "ceph_health: must be HEALTH_OK, HEALTH_WARN or HEALTH_ERR, got 'HEALTH_BAD'" in problems
    assert "failing_disks: must be 0 or more, got -1" in problems
    assert "failed_replication_jobs: must be between 0 and replication_jobs (1), got 2" in problems


def test_scenario_reads_health_options():
    scenario = Scenario.from_dict({"ceph": True, "ceph_health": "HEALTH_ERR", "failing_disks": 2})
    assert scenario.ceph_health == "HEALTH_ERR"
    assert scenario.failing_disks == 2


async def test_control_changes_served_responses():
    async with open_simulator(small_scenario(ceph=True)) as sim:
        job = sim.state.replication[0]
        headers = sim.pve_headers()
        async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=headers) as client:
            sim.control.set_disk_health("pve2", "/dev/sda", "FAILED")
            disks = (await client.get("/nodes/pve2/disks/list")).json()["data"]
            assert {disk["devpath"]: disk["health"] for disk in disks}["/dev/sda"] == "FAILED"
            smart = (await client.get("/nodes/pve2/disks/smart", params={"disk": "/dev/sda", "healthonly": "1"})).json()
            assert smart["data"] == {"health": "FAILED"}

            sim.control.set_ceph_health("HEALTH_ERR")
            status = (await client.get("/cluster/ceph/status")).json()["data"]
            assert status["health"]["status"] == "HEALTH_ERR"
            assert "PG_DAMAGED" in status["health"]["checks"]

            sim.control.set_replication_failure(job.id, 2, "no space left on device")
            item = (await client.get(f"/nodes/{job.source}/replication/{job.id}/status")).json()["data"]
            assert (item["fail_count"], item["error"]) == (2, "no space left on device")
            assert item["next_sync"] > item["last_try"] > item["last_sync"]

            sim.control.set_replication_failure(job.id, 0)
            item = (await client.get(f"/nodes/{job.source}/replication/{job.id}/status")).json()["data"]
            assert item["fail_count"] == 0
            assert "error" not in item
            assert item["last_sync"] == item["last_try"]


async def test_control_rejects_unknown_replication_job():
    async with open_simulator(small_scenario()) as sim:
        with pytest.raises(SimulatorError, match="unknown job '999-0'"):
            sim.control.set_replication_failure("999-0")


async def test_skipsmart_leaves_out_health():
    async with open_simulator(small_scenario()) as sim:
        async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers()) as client:
            disks = (await client.get("/nodes/pve1/disks/list", params={"skipsmart": "1"})).json()["data"]
    assert all("health" not in disk for disk in disks)
    assert {disk["wearout"] for disk in disks} == {"N/A"}
