"""The /metrics gauges of physical disks, Ceph clusters and replication jobs."""

from __future__ import annotations

import time
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families

from pulse_core.metrics import render
from pulse_core.model import CephCluster, PhysicalDisk, PollResult, ReplicationJob, Usage
from pulse_core.state import State


def make_daemon(now: float) -> SimpleNamespace:
    state = State()
    state.apply(PollResult(
        instance="lab",
        physical_disks=[
            PhysicalDisk(id="lab-pve1-disk-sda", node="pve1", instance="lab", devpath="/dev/sda", model="SSD 870",
                         serial="S6PX", type="ssd", size=500, health="PASSED", wearout=96),
            PhysicalDisk(id="lab-pve1-disk-sdb", node="pve1", instance="lab", devpath="/dev/sdb", type="hdd",
                         health="FAILED"),
            PhysicalDisk(id="lab-pve1-disk-sdc", node="pve1", instance="lab", devpath="/dev/sdc", health="UNKNOWN"),
            PhysicalDisk(id="lab-pve2-disk-sda", node="pve2", instance="lab", devpath="/dev/sda", health="PASSED",
                         stale=True),
        ],
        ceph_clusters=[CephCluster(id="lab-ceph", instance="lab", health="HEALTH_WARN", osds_total=6, osds_up=5,
                                   osds_in=6, monitors_total=3, monitors_in_quorum=3,
                                   usage=Usage(total=1000, used=250))],
        replication_jobs=[
            ReplicationJob(id="lab-replication-100-0", job_id="100-0", instance="lab", guest=100, source="pve1",
                           target="pve2", last_sync=int(now) - 600, fail_count=2),
            ReplicationJob(id="lab-replication-101-0", job_id="101-0", instance="lab", guest=101, target="pve1",
                           stale=True),
        ],
    ))
    return SimpleNamespace(state=state, scheduler=None, dispatcher=SimpleNamespace())


def samples_by_name(text: str) -> dict[str, list]:
    result: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            result.setdefault(sample.name, []).append(sample)
    return result


def test_disk_health_and_life():
    samples = samples_by_name(render(make_daemon(time.time())).decode())
    healthy = {s.labels["id"]: s.value for s in samples["pulse_physical_disk_healthy"]}
    # Unknown health and stale disks are left out, not exported as healthy.
    assert healthy == {"lab-pve1-disk-sda": 1, "lab-pve1-disk-sdb": 0}
    life = samples["pulse_physical_disk_life_remaining_ratio"]
    assert [(s.labels["devpath"], s.value) for s in life] == [("/dev/sda", 0.96)]
    assert life[0].labels["model"] == "SSD 870"
    assert samples["pulse_physical_disk_size_bytes"][0].value == 500


def test_ceph_health_and_counts():
    samples = samples_by_name(render(make_daemon(time.time())).decode())
    assert samples["pulse_ceph_health"][0].value == 1
    osds = {s.labels["state"]: s.value for s in samples["pulse_ceph_osds"]}
    assert osds == {"total": 6, "up": 5, "in": 6}
    monitors = {s.labels["state"]: s.value for s in samples["pulse_ceph_monitors"]}
    assert monitors == {"total": 3, "quorum": 3}
    assert samples["pulse_ceph_used_bytes"][0].value == 250


def test_replication_age_and_failures():
    now = time.time()
    samples = samples_by_name(render(make_daemon(now)).decode())
    ages = {s.labels["job"]: s.value for s in samples["pulse_replication_last_sync_age_seconds"]}
    assert list(ages) == ["100-0"]
    assert 590 < ages["100-0"] < 700
    failures = {s.labels["job"]: s.value for s in samples["pulse_replication_fail_count"]}
    assert failures == {"100-0": 2}
    assert samples["pulse_replication_fail_count"][0].labels["guest"] == "100"
