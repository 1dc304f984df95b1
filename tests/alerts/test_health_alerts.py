"""Alerts for failed disks, Ceph health and failing replication jobs, over real State objects."""

from __future__ import annotations

from typing import Any

import pytest

from pulse_core.alerts import AlertEngine
from pulse_core.alerts.engine import AlertEvent
from pulse_core.alerts.settings import AlertSettings, load_settings
from pulse_core.model import (
    CephCluster,
    PhysicalDisk,
    ReplicationJob,
    ceph_cluster_id,
    physical_disk_id,
    replication_job_id,
)
from pulse_core.state import State

from .helpers import INSTANCE, FakeClock, apply_poll

POLL = 10.0
DISK = physical_disk_id(INSTANCE, "node1", "/dev/sdb")


async def poll(engine: AlertEngine, state: State, clock: FakeClock, **lists: Any) -> list[AlertEvent]:
    clock.advance(POLL)
    apply_poll(state, clock, **lists)
    return await engine.evaluate(state)


def kinds(events: list[AlertEvent]) -> list[tuple[str, str, str]]:
    return [(event.event, event.alert.resource_type, event.alert.type) for event in events]


def disk(health: str | None, *, stale: bool = False) -> PhysicalDisk:
    return PhysicalDisk(id=DISK, node="node1", instance=INSTANCE, devpath="/dev/sdb", model="ST4000NM000A",
                        serial="WJG0ABCD", type="hdd", size=4 * 10**12, health=health, stale=stale)


def ceph(health: str | None, *, stale: bool = False) -> CephCluster:
    checks = [{"name": "OSD_NEARFULL", "severity": "HEALTH_WARN", "message": "1 nearfull osd(s)", "count": 1,
               "muted": False}] if health != "HEALTH_OK" else []
    return CephCluster(id=ceph_cluster_id(INSTANCE), instance=INSTANCE, health=health, checks=checks, stale=stale)


def job(fail_count: int, *, disabled: bool = False) -> ReplicationJob:
    return ReplicationJob(id=replication_job_id(INSTANCE, "100-0"), job_id="100-0", instance=INSTANCE, guest=100,
                          source="node1", target="node2", fail_count=fail_count, disabled=disabled,
                          error="got timeout" if fail_count else None)


async def test_failed_disk_fires_and_resolves(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    assert await poll(engine, state, clock, physical_disks=[disk("FAILED")]) == []
    fired = await poll(engine, state, clock, physical_disks=[disk("FAILED")])
    assert kinds(fired) == [("alert", "physical_disk", "failed")]
    alert = fired[0].alert
    assert alert.level == "critical"
    assert alert.resource_id == DISK
    assert alert.node == "node1"
    assert alert.message == "Disk /dev/sdb on node1: SMART health failed (ST4000NM000A, serial WJG0ABCD)"
    assert alert.metadata["health"] == "FAILED"
    assert alert.metadata["category"] == "storage"
    await poll(engine, state, clock, physical_disks=[disk("PASSED")])
    resolved = await poll(engine, state, clock, physical_disks=[disk("PASSED")])
    assert kinds(resolved) == [("resolved", "physical_disk", "failed")]


async def test_unknown_disk_health_fires_nothing(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    for health, stale in (("UNKNOWN", False), (None, False), ("FAILED", True)):
        assert await poll(engine, state, clock, physical_disks=[disk(health, stale=stale)]) == []
        assert await poll(engine, state, clock, physical_disks=[disk(health, stale=stale)]) == []


async def test_stale_disk_keeps_its_alert(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, physical_disks=[disk("FAILED")])
    await poll(engine, state, clock, physical_disks=[disk("FAILED")])
    assert await poll(engine, state, clock, physical_disks=[disk("FAILED", stale=True)]) == []
    assert await poll(engine, state, clock, physical_disks=[disk("PASSED", stale=True)]) == []
    assert len(engine.active) == 1


async def test_ceph_warn_then_error(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_WARN")])
    fired = await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_WARN")])
    assert kinds(fired) == [("alert", "ceph", "health_warn")]
    assert fired[0].alert.level == "warning"
    assert fired[0].alert.message == "Ceph cluster pve1: health warning (HEALTH_WARN) (1 nearfull osd(s))"

    await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_ERR")])
    changed = await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_ERR")])
    assert sorted(kinds(changed)) == [("alert", "ceph", "health_err"), ("resolved", "ceph", "health_warn")]
    error = next(event.alert for event in changed if event.event == "alert")
    assert error.level == "critical"

    await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_OK")])
    assert kinds(await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_OK")])) == [
        ("resolved", "ceph", "health_err")
    ]


async def test_ceph_warning_can_be_disabled(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await engine.settings.set("alerts", {"ceph": {"health_warn": {"enabled": False}}})
    await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_WARN")])
    assert await poll(engine, state, clock, ceph_clusters=[ceph("HEALTH_WARN")]) == []


async def test_replication_failure_fires(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, replication_jobs=[job(1)])
    fired = await poll(engine, state, clock, replication_jobs=[job(1)])
    assert kinds(fired) == [("alert", "replication", "failed")]
    alert = fired[0].alert
    assert alert.level == "warning"
    assert alert.message == "Replication job 100-0 (guest 100 to node2): replication failing (1 failed runs: got timeout)"
    assert alert.metadata["failCount"] == 1
    await poll(engine, state, clock, replication_jobs=[job(0)])
    assert kinds(await poll(engine, state, clock, replication_jobs=[job(0)])) == [("resolved", "replication", "failed")]


async def test_disabled_replication_job_is_ignored(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, replication_jobs=[job(3, disabled=True)])
    assert await poll(engine, state, clock, replication_jobs=[job(3, disabled=True)]) == []


async def test_disk_override_by_resource_id(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await engine.settings.set("alerts", {"overrides": {DISK: {"metrics": {"failed": {"level": "warning"}}}}})
    await poll(engine, state, clock, physical_disks=[disk("FAILED")])
    fired = await poll(engine, state, clock, physical_disks=[disk("FAILED")])
    assert fired[0].alert.level == "warning"


def test_settings_defaults_and_camel_case() -> None:
    defaults = AlertSettings()
    assert defaults.physical_disk.failed.level == "critical"
    assert defaults.ceph.health_warn.level == "warning"
    assert defaults.ceph.health_err.level == "critical"
    assert defaults.replication.failed.level == "warning"
    document = defaults.model_dump(by_alias=True)
    assert set(document["ceph"]) == {"healthWarn", "healthErr"}
    assert "physicalDisk" in document
    parsed = load_settings({"physicalDisk": {"failed": {"polls": 2}}, "replication": {"failed": {"enabled": False}}})
    assert parsed.physical_disk.failed.polls == 2
    assert parsed.replication.failed.enabled is False


def test_settings_reject_threshold_fields_on_conditions() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="overrides.x.metrics.health_err.trigger: does not apply to this metric"):
        load_settings({"overrides": {"x": {"metrics": {"healthErr": {"trigger": 50}}}}})
