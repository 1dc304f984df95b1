"""Physical disks, Ceph and replication: normalization, permissions and the simulator over HTTPS."""

from __future__ import annotations

import logging

import httpx
import pytest

from pulse_core import NodeSettings
from pulse_core.alerts import AlertEngine
from pulse_core.config import SettingsStore
from pulse_core.state import State

from pulse_pve.health import ceph_from_status, disks_from_list, replication_jobs
from pulse_pve.settings import parse_settings
from pulse_pve.source import PVESource

from .conftest import pve_error

simulator = pytest.importorskip("pulse_core.simulator", reason="the simulator package is not available")

# Shaped like /nodes/{node}/disks/list on PVE 8 and 9: numbers sometimes as strings,
# "N/A" wear for hard disks, "osdid-list" null without an OSD, partitions with a parent.
DISK_LIST = [
    {"devpath": "/dev/sda", "gpt": 1, "mounted": 0, "osdid": -1, "osdid-list": None, "size": 4000787030016,
     "health": "PASSED", "model": "ST4000NM000A-2HZ100", "serial": "WJG0ABCD", "type": "hdd", "used": "ZFS",
     "vendor": "ATA", "wwn": "0x5000c500abcdef01", "wearout": "N/A", "rpm": 7200},
    {"devpath": "/dev/sda1", "parent": "/dev/sda", "size": 1031168, "used": "BIOS boot", "type": "partition",
     "gpt": 1, "mounted": 0, "osdid": -1},
    {"devpath": "/dev/nvme0n1", "gpt": 1, "mounted": 0, "osdid": "3", "osdid-list": [3], "size": "2000398934016",
     "health": "PASSED", "model": "Samsung SSD 980 PRO 2TB", "serial": "S69ENF0R123456", "type": "nvme", "used": "LVM",
     "wearout": "97", "rpm": 0},
    {"devpath": "/dev/sdb", "gpt": 0, "mounted": 0, "osdid": -1, "size": 480103981056, "health": "FAILED",
     "model": "INTEL SSDSC2KB480G8", "type": "ssd", "wearout": 4, "rpm": -1},
    {"devpath": "/dev/sdc", "gpt": 0, "mounted": 0, "osdid": -1, "size": 960197124096, "health": "UNKNOWN", "type": "usb"},
    {"gpt": 0, "size": 1},
]


def test_disks_from_list_normalizes_fields():
    disks = disks_from_list("lab", "pve1", DISK_LIST)
    assert [disk.devpath for disk in disks] == ["/dev/nvme0n1", "/dev/sda", "/dev/sdb", "/dev/sdc"]
    nvme, hdd, ssd, usb = disks
    assert nvme.id == "lab-pve1-disk-s69enf0r123456"
    assert ssd.id == "lab-pve1-disk-sdb"
    assert nvme.size == 2000398934016
    assert nvme.wearout == 97
    assert nvme.osd_ids == [3]
    assert nvme.type == "nvme"
    assert hdd.wearout is None
    assert hdd.rpm == 7200
    assert hdd.used_by == "ZFS"
    assert hdd.failed is False
    assert ssd.failed is True
    assert ssd.rpm is None
    assert ssd.serial is None
    assert usb.failed is None
    assert usb.health == "UNKNOWN"


def test_disks_from_list_multipath_ids_unique():
    paths = [{"devpath": f"/dev/sd{letter}", "serial": "SAME123", "size": 1, "health": "OK"} for letter in "ab"]
    disks = disks_from_list("lab", "pve1", paths)
    assert [disk.id for disk in disks] == ["lab-pve1-disk-same123", "lab-pve1-disk-sdb"]


def test_disks_from_list_rejects_non_lists():
    assert disks_from_list("lab", "pve1", {"devpath": "/dev/sda"}) == []
    assert disks_from_list("lab", "pve1", None) == []


# Ceph's "status" as PVE returns it: full monitor and manager dumps added.
CEPH_STATUS = {
    "fsid": "3a8c2bd5-1f7e-4c6b-9a0e-5d2f8e7b6c41",
    "health": {"status": "HEALTH_ERR", "checks": {
        "PG_DAMAGED": {"severity": "HEALTH_ERR", "summary": {"message": "Possible data damage: 1 pg inconsistent", "count": 1}},
        "OSD_NEARFULL": {"severity": "HEALTH_WARN", "summary": {"message": "1 nearfull osd(s)", "count": 1}, "muted": True},
    }},
    "quorum_names": ["pve1", "pve2"],
    "monmap": {"mons": [{"name": "pve1"}, {"name": "pve2"}, {"name": "pve3"}]},
    "mgrmap": {"available": True, "active_name": "pve1", "standbys": [{"name": "pve2"}]},
    "osdmap": {"num_osds": 6, "num_up_osds": 5, "num_in_osds": 6},
    "pgmap": {"pgs_by_state": [{"state_name": "active+clean", "count": 127},
                               {"state_name": "active+clean+inconsistent", "count": 1}],
              "num_pgs": 128, "num_pools": 2, "data_bytes": 100, "bytes_used": 300, "bytes_avail": 700, "bytes_total": 1000},
}


def test_ceph_from_status_counts_and_checks():
    ceph = ceph_from_status("lab", CEPH_STATUS)
    assert ceph is not None
    assert ceph.id == "lab-ceph"
    assert ceph.health == "HEALTH_ERR"
    assert [check["name"] for check in ceph.checks] == ["PG_DAMAGED", "OSD_NEARFULL"]
    assert ceph.checks[1]["muted"] is True
    assert (ceph.monitors_total, ceph.monitors_in_quorum) == (3, 2)
    assert (ceph.managers_up, ceph.manager_active) == (2, "pve1")
    assert (ceph.osds_total, ceph.osds_up, ceph.osds_in) == (6, 5, 6)
    assert (ceph.usage.total, ceph.usage.used, ceph.usage.free) == (1000, 300, 700)
    assert ceph.pg_states == {"active+clean": 127, "active+clean+inconsistent": 1}
    assert ceph.pgs_total == 128


def test_ceph_from_status_reads_older_layouts():
    old = {
        "health": {"overall_status": "HEALTH_WARN"},
        "monmap": {"num_mons": 3},
        "mgrmap": {"available": True, "num_standbys": 2},
        "osdmap": {"osdmap": {"num_osds": 4, "num_up_osds": 4, "num_in_osds": 3}},
    }
    ceph = ceph_from_status("lab", old)
    assert ceph is not None
    assert ceph.health == "HEALTH_WARN"
    assert ceph.monitors_total == 3
    assert ceph.managers_up == 3
    assert (ceph.osds_total, ceph.osds_in) == (4, 3)
    assert ceph_from_status("lab", []) is None


def test_replication_jobs_join_config_and_state():
    config = [
        {"id": "100-0", "guest": 100, "jobnum": 0, "target": "pve2", "type": "local", "schedule": "*/30"},
        {"id": "101-0", "guest": 101, "jobnum": 0, "target": "pve1", "type": "local", "disable": 1},
    ]
    status = {"pve1": {"100-0": {"id": "100-0", "guest": 100, "target": "pve2", "last_sync": 1790000000,
                                 "last_try": 1790000900, "next_sync": 1790001200, "duration": "4.51",
                                 "fail_count": "2", "error": "migration aborted", "vmtype": "qemu"}}}
    jobs = replication_jobs("lab", config, status, stale_nodes=(), guest_nodes={101: "pve3"})
    first, second = jobs
    assert first.id == "lab-replication-100-0"
    assert (first.source, first.target, first.schedule) == ("pve1", "pve2", "*/30")
    assert (first.last_sync, first.next_sync, first.duration) == (1790000000, 1790001200, 4.51)
    assert (first.fail_count, first.error, first.stale) == (2, "migration aborted", False)
    # No node reported the second job: its guest's node is the source, and its state is unknown.
    assert (second.source, second.disabled, second.stale, second.last_sync) == ("pve3", True, True, None)


async def test_disks_denied_marks_node_unavailable(fake_pve, make_source, pve_cluster, resources, caplog):
    pve_cluster(fake_pve, ["pve1", "pve2"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.node("pve2")])
    fake_pve.error("/nodes/pve1/disks/list", 403, "Permission check failed (/nodes/pve1, Sys.Audit)")
    fake_pve.set("/nodes/pve2/disks/list", DISK_LIST[:1])
    source = make_source()
    with caplog.at_level(logging.WARNING, logger="pulse_pve.health"):
        result = await source.poll()
        source._done("slow", 0)
        second = await source.poll()
    assert [disk.node for disk in result.physical_disks] == ["pve2"]
    assert "node pve1: physical disks unavailable (missing Sys.Audit on /nodes/pve1)" in result.warnings
    assert "node pve1: physical disks unavailable (missing Sys.Audit on /nodes/pve1)" in second.warnings
    assert "Sys.Audit" in source.missing_privileges
    denied = [record for record in caplog.records if "physical disks of node pve1" in record.getMessage()]
    # Two slow cycles inside one log interval: logged once.
    assert len(denied) == 1
    assert fake_pve.count("/nodes/pve1/disks/list") == 2


async def test_disks_readable_again_clear_warning(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1")])
    fake_pve.error("/nodes/pve1/disks/list", 403, "Permission check failed (/nodes/pve1, Sys.Audit)")
    source = make_source()
    first = await source.poll()
    assert any("physical disks unavailable" in line for line in first.warnings)
    fake_pve.set("/nodes/pve1/disks/list", DISK_LIST)
    source._done("slow", 0)
    second = await source.poll()
    assert not any("physical disks unavailable" in line for line in second.warnings)
    assert len(second.physical_disks) == 4


async def test_failed_disk_read_keeps_list_stale(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1")])
    fake_pve.set("/nodes/pve1/disks/list", DISK_LIST)
    source = make_source()
    first = await source.poll()
    assert not any(disk.stale for disk in first.physical_disks)
    fake_pve.routes[("GET", "/nodes/pve1/disks/list")] = lambda request: pve_error(500, "smartctl hung")
    source._done("slow", 0)
    second = await source.poll()
    assert len(second.physical_disks) == 4
    assert all(disk.stale for disk in second.physical_disks)


async def test_slow_lists_absent_between_cycles(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1")])
    fake_pve.set("/nodes/pve1/disks/list", DISK_LIST)
    source = make_source()
    first = await source.poll()
    second = await source.poll()
    assert first.physical_disks is not None
    assert first.ceph_clusters == []
    assert first.replication_jobs == []
    assert second.physical_disks is None
    assert second.replication_jobs is None


# --- the simulator over HTTPS -------------------------------------------------------------------


def _source(sim) -> PVESource:
    config, problems = parse_settings(NodeSettings(
        id="sim", type="pve", name="Simulated", host=sim.pve_url, fingerprint=sim.fingerprint,
        user=sim.pve_token["user"], token_name=sim.pve_token["token_name"], token_value=sim.pve_token["token_value"],
    ))
    assert config is not None, problems
    return PVESource(config, clock=sim.clock.now)


def _scenario(**overrides):
    values = dict(seed=3, nodes=3, guests=10, start_time=1_790_000_000.0, replication_jobs=2)
    values.update(overrides)
    return simulator.Scenario(**values)


async def test_simulator_faults_reach_the_model():
    scenario = _scenario(ceph=True, ceph_health="HEALTH_WARN", failing_disks=1, failed_replication_jobs=1)
    async with simulator.open_simulator(scenario) as sim:
        source = _source(sim)
        try:
            result = await source.poll()
        finally:
            await source.aclose()
    failed = [(disk.node, disk.devpath) for disk in result.physical_disks if disk.failed]
    assert failed == [("pve1", "/dev/sdb")]
    assert len({disk.id for disk in result.physical_disks}) == 12
    assert len(result.physical_disks) == 12
    wear = {disk.type: disk.wearout for disk in result.physical_disks if disk.node == "pve2"}
    assert wear["hdd"] is None
    assert 0 < wear["ssd"] <= 100
    (ceph,) = result.ceph_clusters
    assert ceph.health == "HEALTH_WARN"
    assert {check["name"] for check in ceph.checks} == {"OSD_NEARFULL", "PG_DEGRADED"}
    assert (ceph.osds_total, ceph.osds_up, ceph.monitors_in_quorum) == (3, 3, 3)
    jobs = {job.job_id: job for job in result.replication_jobs}
    assert len(jobs) == 2
    failing = [job for job in jobs.values() if job.fail_count]
    assert len(failing) == 1
    assert "failed" in failing[0].error
    assert all(job.last_sync and job.next_sync and not job.stale for job in jobs.values())


async def test_simulator_changes_show_next_cycle():
    async with simulator.open_simulator(_scenario(ceph=True)) as sim:
        source = _source(sim)
        try:
            first = await source.poll()
            assert not any(disk.failed for disk in first.physical_disks)
            assert first.ceph_clusters[0].health == "HEALTH_OK"
            job = sim.state.replication[0].id
            sim.control.set_disk_health("pve2", "/dev/nvme0n1", "FAILED")
            sim.control.set_ceph_health("HEALTH_ERR")
            sim.control.set_replication_failure(job, 2, "no space left on device")
            source._done("slow", 0)
            second = await source.poll()
        finally:
            await source.aclose()
    assert [(disk.node, disk.devpath) for disk in second.physical_disks if disk.failed] == [("pve2", "/dev/nvme0n1")]
    # The id comes from the serial number, so it is the same disk as in the first poll.
    before = {(disk.node, disk.devpath): disk.id for disk in first.physical_disks}
    assert {(disk.node, disk.devpath): disk.id for disk in second.physical_disks} == before
    assert second.ceph_clusters[0].health == "HEALTH_ERR"
    failing = {item.job_id: (item.fail_count, item.error) for item in second.replication_jobs if item.fail_count}
    assert failing == {job: (2, "no space left on device")}


async def test_simulator_offline_node_marks_its_data_stale():
    async with simulator.open_simulator(_scenario()) as sim:
        source = _source(sim)
        try:
            await source.poll()
            sim.control.set_node_online("pve2", False)
            source._done("slow", 0)
            second = await source.poll()
        finally:
            await source.aclose()
    stale = {disk.node for disk in second.physical_disks if disk.stale}
    assert stale == {"pve2"}
    assert second.ceph_clusters == []


async def test_simulator_denied_disks_over_https():
    async with simulator.open_simulator(_scenario()) as sim:
        # The simulator's ACLs hide a node together with its disks, so the 403 is injected as a fault.
        sim.control.set_error("/nodes/pve3/disks/list", 403, server="pve")
        source = _source(sim)
        try:
            result = await source.poll()
        finally:
            await source.aclose()
    assert {disk.node for disk in result.physical_disks} == {"pve1", "pve2"}
    assert "node pve3: physical disks unavailable (missing Sys.Audit on /nodes/pve3)" in result.warnings
    assert "Sys.Audit" in source.missing_privileges


async def test_simulator_rejects_unknown_disk():
    async with simulator.open_simulator(_scenario()) as sim:
        with pytest.raises(simulator.SimulatorError, match="has no disk '/dev/sdz'"):
            sim.control.set_disk_health("pve1", "/dev/sdz")
        with pytest.raises(simulator.SimulatorError, match="no Ceph"):
            sim.control.set_ceph_health("HEALTH_WARN")
        async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers()) as client:
            response = await client.get("/nodes/pve1/disks/smart")
        assert response.status_code == 400


async def test_simulator_failing_disk_raises_alert(tmp_path):
    sqlite_plugin = pytest.importorskip("pulse_storage_sqlite", reason="the SQLite storage plugin is not installed")
    storage = sqlite_plugin.SqliteStorageType().create(str(tmp_path), {})
    await storage.open()
    settings = SettingsStore(tmp_path)
    await settings.set("alerts", {"default_delay_seconds": 0})
    try:
        async with simulator.open_simulator(_scenario()) as sim:
            state = State(clock=sim.clock.now)
            engine = AlertEngine(settings, storage, clock=sim.clock.now)
            source = _source(sim)
            try:
                state.apply(await source.poll())
                assert await engine.evaluate(state) == []
                sim.control.set_disk_health("pve3", "/dev/sdb", "FAILED")
                source._done("slow", 0)
                state.apply(await source.poll())
                events = await engine.evaluate(state)
            finally:
                await source.aclose()
        assert [(event.event, event.alert.type) for event in events] == [("alert", "failed")]
        alert = events[0].alert
        failed_disk = next(disk for disk in state.all("physical_disks") if disk.failed)
        assert (failed_disk.node, failed_disk.devpath) == ("pve3", "/dev/sdb")
        assert alert.resource_id == failed_disk.id
        assert alert.level == "critical"
        assert alert.message.startswith("Disk /dev/sdb on pve3: SMART health failed")
        assert [item["id"] for item in state.to_api()["physicalDisks"] if item["failed"]] == [failed_disk.id]
        assert [saved.id for saved in await storage.load_active_alerts()] == [alert.id]
    finally:
        await storage.aclose()
