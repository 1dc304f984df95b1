"""The PBS source against an in-process API: the handed case, partial failures and incremental refresh."""

from __future__ import annotations

from datetime import datetime, timezone

from pulse_core import Guest, guest_id
from pulse_core.backups import last_backups
from pulse_core.state import State

from pulse_pbs.settings import parse_settings
from pulse_pbs.source import PBSSource

from .conftest import GiB, FakePBS, settings_for, snapshot_item

JAN_1_2026 = 1767225600


def source_for(fake: FakePBS, **options) -> PBSSource:
    config, problems = parse_settings(settings_for(options=options))
    assert problems == []
    return PBSSource(config, transport=fake.transport(), clock=lambda: JAN_1_2026 + 6 * 3600)


def handed_case() -> FakePBS:
    fake = FakePBS()
    fake.namespaces = {"store1": ["", "site-a"]}
    fake.snapshots = {
        ("store1", ""): [],
        ("store1", "site-a"): [snapshot_item("vm", "101", JAN_1_2026, size=10 * GiB, verification="ok")],
    }
    return fake


async def test_handed_case_vm_101_has_a_verified_backup():
    fake = handed_case()
    result = await source_for(fake).poll()

    assert [backup.backup_id for backup in result.pbs_backups] == ["101"]
    backup = result.pbs_backups[0]
    assert backup.backup_type == "vm"
    assert backup.namespace == "site-a"
    assert backup.datastore == "store1"
    assert backup.size == 10 * GiB
    assert backup.verification == "ok"
    assert datetime.fromtimestamp(backup.backup_time, timezone.utc).isoformat() == "2026-01-01T00:00:00+00:00"

    state = State(clock=lambda: JAN_1_2026 + 6 * 3600)
    state.apply(result)
    vm = Guest(id=guest_id("pve", 101), vmid=101, name="web", node="pve1", instance="pve", type="qemu")
    entry = last_backups([vm], state.all("pbs_backups"), now=JAN_1_2026 + 6 * 3600)["pve-101"]
    assert entry.time == JAN_1_2026
    assert entry.verification == "ok"
    assert entry.namespace == "site-a"
    assert entry.missing is False
    assert entry.ambiguous is False

    store = result.pbs[0].datastores[0]
    assert store.namespaces == ["", "site-a"]
    assert store.group_count == 1
    assert store.snapshot_count == 1


async def test_server_status_and_datastore_values():
    fake = handed_case()
    result = await source_for(fake).poll()
    server = result.pbs[0]
    assert server.version == "4.0.14"
    assert server.cpu == 0.05
    assert server.memory.total == 16 * GiB
    assert server.disk.free == 90 * GiB
    assert server.loadavg == (0.5, 0.4, 0.3)
    assert server.uptime == 3600
    store = server.datastores[0]
    assert store.status == "available"
    assert store.usage.total == 1000 * GiB
    assert store.usage.percent == 40.0
    assert store.dedup_factor == 3.0
    assert store.estimated_full == 1800000000
    assert store.gc_status == "OK"
    assert store.gc_last_run == 1767200000
    assert server.warnings == []


async def test_node_status_403_is_tolerated():
    fake = handed_case()
    fake.node_status = None
    result = await source_for(fake).poll()
    server = result.pbs[0]
    assert server.status == "online"
    assert server.cpu is None
    assert server.memory.total is None
    assert any("missing privilege Sys.Audit on /system/status" in warning for warning in server.warnings)
    assert len(result.pbs_backups) == 1


async def test_removable_datastore_does_not_fail_the_instance():
    fake = handed_case()
    fake.datastores.append({"store": "usb1", "comment": "offsite disk", "mount-status": "notmounted",
                            "backend-type": "filesystem"})
    fake.usage.append({"store": "usb1", "error": "datastore 'usb1' is not mounted", "mount-status": "notmounted",
                       "backend-type": "filesystem"})
    result = await source_for(fake).poll()
    stores = {store.name: store for store in result.pbs[0].datastores}
    assert stores["store1"].status == "available"
    usb = stores["usb1"]
    assert usb.status == "not-mounted"
    assert usb.removable is True
    assert usb.error == "datastore 'usb1' is not mounted"
    assert usb.usage.total is None
    # The unmounted store is neither walked nor listed as failing.
    assert not fake.paths("/admin/datastore/usb1")
    assert len(result.pbs_backups) == 1


async def test_unavailable_datastore_is_reported_not_raised():
    fake = handed_case()
    fake.datastores.append({"store": "broken", "comment": None, "mount-status": "nonremovable"})
    fake.usage.append({"store": "broken", "error": "unable to open chunk store - No such file or directory",
                       "mount-status": "nonremovable"})
    result = await source_for(fake).poll()
    broken = [store for store in result.pbs[0].datastores if store.name == "broken"][0]
    assert broken.status == "unavailable"
    assert "chunk store" in broken.error


async def test_namespaces_are_walked_recursively():
    fake = FakePBS()
    fake.namespaces = {"store1": ["", "a", "a/b", "a/b/c"]}
    fake.snapshots = {("store1", "a/b/c"): [snapshot_item("ct", "200", JAN_1_2026)]}
    result = await source_for(fake).poll()
    assert "/admin/datastore/store1/namespace?max-depth=7" in fake.paths("/admin/datastore/store1/namespace")
    assert [(backup.namespace, backup.backup_type) for backup in result.pbs_backups] == [("a/b/c", "ct")]


def group_fetches(fake: FakePBS) -> list[str]:
    return fake.paths("/admin/datastore/store1/snapshots")


async def test_incremental_refresh_reads_only_changed_groups():
    fake = FakePBS()
    fake.snapshots = {("store1", ""): [
        snapshot_item("vm", str(vmid), JAN_1_2026 - day * 86400) for vmid in range(100, 110) for day in range(3)
    ]}
    source = source_for(fake)
    first = await source.poll()
    assert len(first.pbs_backups) == 30
    # The first poll reads the whole namespace in one call.
    assert group_fetches(fake) == ["/admin/datastore/store1/snapshots"]

    fake.requests.clear()
    second = await source.poll()
    assert group_fetches(fake) == []
    assert second.pbs_backups is None  # unchanged: the core keeps the previous list

    fake.snapshots[("store1", "")].append(snapshot_item("vm", "105", JAN_1_2026 + 3600, verification="ok"))
    fake.requests.clear()
    third = await source.poll()
    assert group_fetches(fake) == ["/admin/datastore/store1/snapshots?backup-type=vm&backup-id=105"]
    assert len(third.pbs_backups) == 31
    newest = max(third.pbs_backups, key=lambda backup: backup.backup_time)
    assert (newest.backup_id, newest.verification) == ("105", "ok")


async def test_full_pass_picks_up_verification(mock_clock):
    fake = FakePBS()
    fake.snapshots = {("store1", ""): [snapshot_item("vm", "101", JAN_1_2026), snapshot_item("vm", "102", JAN_1_2026)]}
    source = source_for(fake, full_pass=600)
    await source.poll()
    fake.snapshots[("store1", "")][0]["verification"] = {"state": "failed", "upid": "UPID:x"}
    fake.requests.clear()
    await source.poll()
    assert group_fetches(fake) == []

    mock_clock.jump(601)
    fake.requests.clear()
    result = await source.poll()
    assert len(group_fetches(fake)) == 1  # both groups due: one namespace call
    states = {backup.backup_id: backup.verification for backup in result.pbs_backups}
    assert states == {"101": "failed", "102": "none"}


async def test_snapshot_caps_bound_the_list():
    fake = FakePBS()
    fake.snapshots = {("store1", ""): [
        snapshot_item("vm", str(vmid), JAN_1_2026 - day * 86400) for vmid in range(100, 104) for day in range(60)
    ]}
    source = source_for(fake, group_snapshots=50, max_snapshots=100)
    result = await source.poll()
    assert len(result.pbs_backups) == 100
    per_group: dict[str, list[int]] = {}
    for backup in result.pbs_backups:
        per_group.setdefault(backup.backup_id, []).append(backup.backup_time)
    assert {vmid: len(times) for vmid, times in per_group.items()} == {"100": 25, "101": 25, "102": 25, "103": 25}
    # The newest snapshots are the ones kept.
    assert max(per_group["100"]) == JAN_1_2026
    assert any("older snapshots are not listed" in warning for warning in result.warnings)
    assert result.pbs[0].datastores[0].snapshot_count == 240


async def test_jobs_and_failed_tasks():
    fake = handed_case()
    fake.jobs["verify"] = [{"id": "weekly", "store": "store1", "schedule": "sun 03:00", "last-run-state": "TASK ERROR: x",
                            "last-run-endtime": 1767100000, "next-run": 1767500000, "last-run-upid": "UPID:v"}]
    fake.jobs["sync"] = [{"id": "pull", "store": "store1", "schedule": "hourly", "next-run": 1767230000}]
    fake.tasks = [
        {"upid": "UPID:a", "node": "pbs", "pid": 1, "pstart": 1, "starttime": 1767220000, "endtime": 1767220100,
         "worker_type": "backup", "worker_id": "store1:vm/101", "user": "root@pam", "status": "connection reset"},
        {"upid": "UPID:b", "node": "pbs", "pid": 1, "pstart": 1, "starttime": 1767221000, "endtime": 1767221100,
         "worker_type": "verify", "worker_id": "store1:vm/102", "user": "root@pam", "status": "WARNINGS: 1"},
    ]
    result = await source_for(fake).poll()
    jobs = {(job.kind, job.id): job for job in result.pbs[0].jobs}
    assert jobs[("verify", "weekly")].last_result == "TASK ERROR: x"
    assert jobs[("sync", "pull")].last_run is None
    assert jobs[("sync", "pull")].next_run == 1767230000
    assert jobs[("gc", "store1")].last_result == "OK"
    failed = result.pbs[0].failed_tasks
    assert [(task.upid, task.store) for task in failed] == [("UPID:a", "store1")]
    query = fake.paths("/nodes/localhost/tasks")[0]
    assert "errors=1" in query
    assert f"since={JAN_1_2026 + 6 * 3600 - 2 * 86400}" in query
    assert "limit=200" in query


async def test_missing_job_endpoint_falls_back_to_config():
    fake = handed_case()
    fake.jobs.pop("sync")
    result = await source_for(fake).poll()
    assert "/config/sync" in fake.paths("/config")
    assert not [job for job in result.pbs[0].jobs if job.kind == "sync"]


async def test_pass_cap_never_delays_new_groups(mock_clock):
    fake = FakePBS()
    fake.snapshots = {("store1", ""): [snapshot_item("vm", str(vmid), JAN_1_2026) for vmid in range(100, 110)]}
    source = source_for(fake, group_fetches=2, full_pass=600)
    first = await source.poll()
    # New groups are all read at once, whatever the cap of the periodic pass.
    assert len(first.pbs_backups) == 10

    mock_clock.jump(601)
    fake.requests.clear()
    await source.poll()
    # All ten are due again; the pass re-reads only two, one request each.
    assert len(group_fetches(fake)) == 2
    fetched = [group.fetched_at for group in source.catalog.groups.values()]
    assert sum(1 for when in fetched if when == max(fetched)) == 2
