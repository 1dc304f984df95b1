"""The /api/state keys for physical disks, Ceph and replication, checked against the OpenAPI schema."""

from __future__ import annotations

import jsonschema

from pulse_core.model import CephCluster, PhysicalDisk, PollResult, ReplicationJob, Usage
from pulse_core.state import State
from pulse_core.web.openapi import document

# The keys /api/state had before disks, Ceph and replication were added; none may change.
EARLIER_KEYS = {
    "nodes", "vms", "containers", "storage", "pbs", "pveBackups", "pbsBackups", "activeAlerts",
    "connectionHealth", "stats", "lastUpdate",
}


def health_state() -> State:
    state = State()
    state.apply(PollResult(
        instance="lab",
        physical_disks=[PhysicalDisk(id="lab-pve1-disk-sda", node="pve1", instance="lab", devpath="/dev/sda",
                                     model="ST4000NM000A", type="hdd", size=4000787030016, health="FAILED")],
        ceph_clusters=[CephCluster(
            id="lab-ceph", instance="lab", health="HEALTH_WARN",
            checks=[{"name": "OSD_NEARFULL", "severity": "HEALTH_WARN", "message": "1 nearfull osd(s)", "count": 1,
                     "muted": False}],
            monitors_total=3, monitors_in_quorum=3, managers_up=2, manager_active="pve1", osds_total=6, osds_up=6,
            osds_in=6, usage=Usage(total=1000, used=400, free=600), pgs_total=129, pg_states={"active+clean": 129},
        )],
        replication_jobs=[ReplicationJob(id="lab-replication-100-0", job_id="100-0", instance="lab", guest=100,
                                         source="pve1", target="pve2", last_sync=1790000000, fail_count=1,
                                         error="got timeout")],
    ))
    return state


def test_state_keeps_earlier_keys():
    document_keys = set(State().to_api())
    assert EARLIER_KEYS <= document_keys
    assert document_keys - EARLIER_KEYS == {"physicalDisks", "cephClusters", "replicationJobs"}


def test_state_health_fields_in_camel_case():
    data = health_state().to_api()
    (disk,) = data["physicalDisks"]
    assert disk["devPath"] == "/dev/sda"
    assert disk["failed"] is True
    assert disk["usedBy"] is None
    (ceph,) = data["cephClusters"]
    assert ceph["osds"] == {"total": 6, "up": 6, "in": 6}
    assert ceph["usage"] == 40.0
    assert ceph["placementGroups"] == {"total": 129, "states": {"active+clean": 129}}
    (job,) = data["replicationJobs"]
    assert (job["jobId"], job["failCount"], job["lastSync"]) == ("100-0", 1, 1790000000)


def test_state_matches_openapi_schema():
    doc = document()
    schema = {"$ref": "#/components/schemas/State", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(health_state().to_api())


def test_failed_poll_marks_health_lists_stale():
    state = health_state()
    state.mark_instance_failed("lab")
    data = state.to_api()
    assert data["physicalDisks"][0]["stale"] is True
    assert data["cephClusters"][0]["stale"] is True
    assert data["replicationJobs"][0]["stale"] is True
