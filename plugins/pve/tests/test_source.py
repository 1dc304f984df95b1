"""Source behaviour beyond the handed cases: permissions report, backups, backoff, storage flags."""

from __future__ import annotations

import random

from pulse_pve.source import Backoff

GiB = 1024**3


def test_backoff_grows_with_jitter_and_resets():
    backoff = Backoff(10.0, cap=100.0, rng=random.Random(1))
    delays = [backoff.failed("k", 0.0) for _ in range(6)]
    for attempt, delay in enumerate(delays):
        full = min(100.0, 10.0 * 2**attempt)
        assert full / 2 <= delay <= full
    assert not backoff.ready("k", 0.0)
    backoff.succeeded("k")
    assert backoff.ready("k", 0.0)
    assert backoff.failures("k") == 0


async def test_connection_lists_missing_privileges(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"], version="9.1.2")
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1")])
    fake_pve.set("/access/permissions", {"/": {"Sys.Audit": 1, "VM.Audit": 1}})
    report = await make_source().test_connection()
    assert report.ok, report.message
    assert report.cluster_name == "lab"
    assert report.members == ["pve1"]
    assert report.version == "9.1.2"
    missing = {item["privilege"]: item["disables"] for item in report.missing_privileges}
    assert set(missing) == {"Datastore.Audit", "VM.GuestAgent.Audit"}
    assert "VM disk usage" in missing["VM.GuestAgent.Audit"]
    assert "grant the API token monitor@pve!pulse the PVEAuditor role" in report.message


async def test_connection_on_pve8_asks_for_vm_monitor(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"], version="8.4.14")
    fake_pve.set("/cluster/resources", [resources.node("pve1")])
    fake_pve.set("/access/permissions", {"/": {"Sys.Audit": 1, "VM.Audit": 1, "Datastore.Audit": 1}})
    report = await make_source().test_connection()
    assert [item["privilege"] for item in report.missing_privileges] == ["VM.Monitor"]


async def test_connection_auth_failure(fake_pve, make_source):
    fake_pve.error("/version", 401, "authentication failure")
    report = await make_source().test_connection()
    assert not report.ok
    assert report.reachable
    assert not report.authenticated
    # The server's "authentication failure" only restates the error, so it is not quoted.
    assert report.message.endswith(": authentication failed; check the API token")


async def test_backups_and_vzdump_results_per_guest(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1", "pve2"])
    fake_pve.set("/cluster/resources", [
        resources.node("pve1"), resources.node("pve2"),
        {"id": "storage/pve1/nfs", "storage": "nfs", "node": "pve1", "type": "storage", "plugintype": "nfs", "status": "available",
         "shared": 1, "content": "backup,iso", "disk": 10, "maxdisk": 100},
        {"id": "storage/pve2/nfs", "storage": "nfs", "node": "pve2", "type": "storage", "plugintype": "nfs", "status": "available",
         "shared": 1, "content": "backup,iso", "disk": 10, "maxdisk": 100},
    ])
    for node in ("pve1", "pve2"):
        fake_pve.set(f"/nodes/{node}/storage/nfs/content", [
            {"volid": "nfs:backup/vzdump-qemu-100-2026_01_01-01_00_00.vma.zst", "vmid": 100, "ctime": 1767229200, "size": 5 * GiB,
             "format": "vma.zst", "content": "backup"},
        ])
    upid = "UPID:pve1:0000AAAA:0000BBBB:69560000:vzdump::root@pam:"
    fake_pve.set("/nodes/pve1/tasks", [{"upid": upid, "node": "pve1", "type": "vzdump", "id": "", "user": "root@pam",
                                        "starttime": 1767229200, "endtime": 1767229300, "status": "job errors"}])
    fake_pve.set("/nodes/pve2/tasks", [])
    fake_pve.set(f"/nodes/pve1/tasks/{upid}/log", [
        {"n": 1, "t": "INFO: Starting Backup of VM 100 (qemu)"},
        {"n": 2, "t": "INFO: Finished Backup of VM 100 (00:01:40)"},
        {"n": 3, "t": "INFO: Starting Backup of VM 101 (lxc)"},
        {"n": 4, "t": "ERROR: Backup of VM 101 failed - no space left on device"},
    ])
    source = make_source()
    result = await source.poll()
    assert [b.volid for b in result.storage_backups] == ["nfs:backup/vzdump-qemu-100-2026_01_01-01_00_00.vma.zst"]
    # Shared storage is read through one node only.
    assert fake_pve.count("/storage/nfs/content") == 1
    outcomes = {task.vmid: (task.status, task.error) for task in result.backup_tasks}
    assert outcomes == {100: ("ok", None), 101: ("failed", "no space left on device")}
    # The finished task's log is read once, not on every slow cycle.
    source._done("slow", 0)
    await source.poll()
    assert fake_pve.count("/log") == 1


async def test_disabled_storage_flag_from_node_list(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [
        resources.node("pve1"),
        {"id": "storage/pve1/local", "storage": "local", "node": "pve1", "type": "storage", "plugintype": "dir",
         "status": "available", "shared": 0, "content": "iso", "disk": 25, "maxdisk": 100},
    ])
    fake_pve.set("/nodes/pve1/storage", [
        {"storage": "local", "type": "dir", "content": "iso", "active": 1, "enabled": 1, "total": 100, "used": 25},
        {"storage": "old-nfs", "type": "nfs", "content": "backup", "active": 0, "enabled": 0, "shared": 1},
    ])
    result = await make_source().poll()
    storage = {s.name: s for s in result.storage}
    assert storage["local"].usage.percent == 25.0
    assert storage["local"].enabled
    assert not storage["old-nfs"].enabled
    assert storage["old-nfs"].usage.unknown_reason == "storage disabled"


async def test_standalone_node_is_not_a_cluster(fake_pve, make_source, resources):
    fake_pve.set("/cluster/status", [{"type": "node", "id": "node/pve", "name": "pve", "nodeid": 0, "ip": "127.0.0.1", "local": 1, "online": 1}])
    fake_pve.set("/nodes", [{"node": "pve", "status": "online", "ssl_fingerprint": ":".join(["AA"] * 32)}])
    fake_pve.set("/version", {"version": "8.4.14"})
    fake_pve.set("/nodes/pve/status", {"cpu": 0.1, "memory": {"total": 10, "used": 5}})
    fake_pve.set("/cluster/resources", [resources.node("pve")])
    source = make_source()
    result = await source.poll()
    assert not source.topology.is_cluster
    assert result.nodes[0].cluster_name is None
    assert not result.nodes[0].is_cluster_member
    assert result.nodes[0].memory.used == 5
    assert result.nodes[0].connection_health == "ok"
    assert result.warnings == []


async def test_details_stop_before_the_scheduler_deadline(fake_pve, make_source, pve_cluster, resources, autojump_clock):
    import httpx
    import trio

    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), *(resources.guest(100 + i, "pve1") for i in range(20))])

    async def slow_status(request: httpx.Request) -> httpx.Response:
        await trio.sleep(0.5)
        return httpx.Response(200, content=b'{"data":{"status":"running","maxmem":1}}')

    for i in range(20):
        fake_pve.set(f"/nodes/pve1/qemu/{100 + i}/status/current", handler=slow_status)
    source = make_source(options={"interval": 60, "concurrency": 1})
    with trio.fail_after(2):
        result = await source.poll()
    assert len(result.guests) == 20
    assert all(guest.cpu == 0.25 for guest in result.guests)


async def test_failing_detail_call_backs_off(fake_pve, make_source, pve_cluster, resources, autojump_clock):
    import trio

    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1")])
    fake_pve.error("/nodes/pve1/qemu/100/status/current", 500, "got timeout")
    source = make_source(options={"interval": 10, "guest_status": 1e-6})
    await source.poll()
    assert fake_pve.count("/qemu/100/status/current") == 1
    # Right after the failure the call waits out its backoff (5 to 10 s for the first failure).
    await source.poll()
    assert fake_pve.count("/qemu/100/status/current") == 1
    await trio.sleep(10.1)
    await source.poll()
    assert fake_pve.count("/qemu/100/status/current") == 2
    assert source._backoff.failures("detail:100") == 2
