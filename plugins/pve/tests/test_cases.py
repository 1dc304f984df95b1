"""Cases reconstructed from public bug reports, each holding the right value (scripted API)."""

from __future__ import annotations

import logging

import pytest

from pulse_core import SourceConnectError
from pulse_core.state import State, derive_samples


GiB = 1024**3


def _no_details(fake, vmids, node="pve1"):
    for vmid in vmids:
        fake.set(f"/nodes/{node}/qemu/{vmid}/status/current", {"vmid": vmid, "status": "running", "maxmem": 4 * GiB, "mem": GiB,
                                                              "ballooninfo": {"total_mem": 4 * GiB, "free_mem": 3 * GiB}})


async def test_case1_balloon_without_statistics_is_unknown_memory(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    maxmem = 8 * GiB
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1", mem=maxmem, maxmem=maxmem)])
    fake_pve.set("/nodes/pve1/qemu/100/status/current", {
        "vmid": 100, "status": "running", "qmpstatus": "running", "mem": maxmem, "maxmem": maxmem, "balloon": maxmem,
        "ballooninfo": {"actual": maxmem, "max_mem": maxmem, "last_update": 1700000000},
    })
    source = make_source()
    result = await source.poll()
    guest = result.guests[0]
    assert guest.memory.used is None
    assert guest.memory.percent is None
    assert guest.memory.unknown_reason == "guest reports no memory statistics (no balloon driver)"
    # No memory sample is derived, so no memory alert can be evaluated on it.
    metrics = {(s.resource_id, s.metric) for s in derive_samples(result, 1.0)}
    assert ("lab-100", "memory") not in metrics
    assert ("lab-100", "cpu") in metrics
    # The next poll (detail not due again) still reports unknown, not 100 %.
    result = await source.poll()
    assert result.guests[0].memory.used is None


async def test_case1_memory_unknown_before_the_first_detail_call(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1", mem=8 * GiB, maxmem=8 * GiB)])
    fake_pve.error("/nodes/pve1/qemu/100/status/current", 500, "timeout")
    result = await make_source().poll()
    assert result.guests[0].memory.used is None
    assert result.guests[0].memory.unknown_reason


async def test_case2_vm_disk_unknown_container_real(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [
        resources.node("pve1"),
        resources.guest(101, "pve1", maxdisk=34359738368, disk=0),
        resources.guest(200, "pve1", kind="lxc", maxdisk=8589934592, disk=2254857830),
    ])
    fake_pve.set("/nodes/pve1/qemu/101/status/current", {"vmid": 101, "status": "running", "maxmem": 4 * GiB, "maxdisk": 34359738368})
    result = await make_source().poll()
    guests = {g.vmid: g for g in result.guests}
    assert guests[101].disk.used is None
    assert guests[101].disk.percent is None
    assert guests[101].disk.unknown_reason.startswith("32 GiB allocated")
    assert round(guests[200].disk.percent) == 26


async def test_case3_agent_403_logged_per_node(fake_pve, make_source, pve_cluster, resources, caplog):
    pve_cluster(fake_pve, ["pve1", "pve2"], version="9.1.2")
    guests = [resources.guest(100 + i, "pve1" if i % 2 else "pve2") for i in range(6)]
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.node("pve2"), *guests])
    for item in guests:
        base = f"/nodes/{item['node']}/qemu/{item['vmid']}"
        fake_pve.set(base + "/status/current", {"vmid": item["vmid"], "status": "running", "agent": 1, "maxmem": 4 * GiB,
                                                "ballooninfo": {"total_mem": 4 * GiB, "free_mem": 3 * GiB}})
        fake_pve.error(base + "/agent/get-fsinfo", 403, f"Permission check failed (/vms/{item['vmid']}, VM.GuestAgent.Audit)")
    source = make_source(options={"guest_agent": 1e-6})
    caplog.set_level(logging.WARNING, logger="pulse_pve")
    for _ in range(3):
        result = await source.poll()
    for guest in result.guests:
        assert guest.disk.unknown_reason.endswith("unavailable: permission VM.GuestAgent.Audit")
        assert guest.cpu == 0.25
        assert guest.memory.used == GiB
        assert guest.net_in is not None
    agent_logs = [r for r in caplog.records if "guest agent reads" in r.getMessage()]
    assert sorted(r.getMessage().split(" node ")[1].split()[0] for r in agent_logs) == ["pve1", "pve2"]
    assert fake_pve.count("/agent/network-get-interfaces") == 0


async def test_case3_pve8_names_vm_monitor(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"], version="8.4.14")
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1")])
    fake_pve.set("/nodes/pve1/qemu/100/status/current", {"vmid": 100, "status": "running", "agent": 1, "maxmem": 4 * GiB})
    fake_pve.error("/nodes/pve1/qemu/100/agent/get-fsinfo", 403, "Permission check failed (/vms/100, VM.Monitor)")
    source = make_source()
    result = await source.poll()
    assert result.guests[0].disk.unknown_reason.endswith("unavailable: permission VM.Monitor")
    assert "VM.Monitor" in source.missing_privileges


async def test_case4_offline_member_node(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1", "pve2", "pve3"], offline=("pve3",))
    fake_pve.set("/cluster/resources", [
        resources.node("pve1"), resources.node("pve2"), resources.node("pve3", status="offline"),
        resources.guest(100, "pve1"), resources.guest(101, "pve2"), resources.guest(102, "pve3", status="unknown"),
    ])
    fake_pve.error("/nodes/pve3/qemu", 595, "Errors during connection establishment, proxy handshake: No route to host", empty=True)
    _no_details(fake_pve, [100])
    _no_details(fake_pve, [101], node="pve2")
    result = await make_source().poll()
    nodes = {n.name: n for n in result.nodes}
    assert nodes["pve1"].status == nodes["pve2"].status == "online"
    assert nodes["pve1"].loadavg
    assert nodes["pve2"].loadavg
    assert nodes["pve3"].status == "offline"
    guests = {g.vmid: g for g in result.guests}
    assert guests[100].status == guests[101].status == "running"
    assert not guests[100].stale
    assert guests[100].memory.used == GiB
    assert guests[102].status == "unknown"
    assert guests[102].stale
    assert guests[102].memory.used is None
    assert guests[102].memory.unknown_reason == "node pve3 is offline"
    assert fake_pve.count("/nodes/pve3/status") == 0


async def test_case4_node_that_dies_keeps_its_guests_stale(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1", "pve2"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.node("pve2"), resources.guest(100, "pve1"), resources.guest(101, "pve2")])
    _no_details(fake_pve, [100])
    _no_details(fake_pve, [101], node="pve2")
    source = make_source()
    first = {g.vmid: g for g in (await source.poll()).guests}
    # pve2 stops responding while pmxcfs still lists it online for a while.
    fake_pve.error("/nodes/pve2/status", 595, "Errors during connection establishment, proxy handshake: Connection refused", empty=True)
    result = await source.poll()
    guests = {g.vmid: g for g in result.guests}
    assert {n.name: n.status for n in result.nodes} == {"pve1": "online", "pve2": "offline"}
    assert guests[101].stale
    assert guests[101].status == "unknown"
    assert guests[101].memory == first[101].memory  # last values kept, not deleted, not "stopped"
    assert not guests[100].stale
    assert any("node pve2 is offline" in w for w in result.warnings)


async def test_case6_token_without_acl_fails_test_connection(fake_pve, make_source):
    fake_pve.set("/version", {"version": "9.1.2", "release": "9.1", "repoid": "0123456789abcdef"})
    fake_pve.set("/nodes", [])
    fake_pve.set("/cluster/resources", [])
    fake_pve.error("/cluster/status", 403, "Permission check failed (/, Sys.Audit)")
    report = await make_source().test_connection()
    assert not report.ok
    assert report.authenticated
    assert report.version == "9.1.2"
    assert "PVEAuditor" in report.message
    assert "monitor@pve!pulse" in report.message
    assert "privilege separation" in report.message
    assert {"privilege": "Sys.Audit", "disables": "node details, cluster membership and failover, disk and SMART health"} in report.missing_privileges


async def test_case6_runtime_disappearance_is_visibility_lost(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1", kind="lxc")])
    source = make_source()
    state = State(clock=lambda: 1.0)
    state.apply(await source.poll())
    fake_pve.set("/cluster/resources", [])
    result = await source.poll()
    assert result.visibility_lost
    assert result.guests is None
    state.apply(result)
    kept = state.instances["lab"].guests
    assert [g.vmid for g in kept] == [100]
    assert kept[0].stale


async def test_case9_unreachable_member_addresses_are_warnings(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1", "pve2"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.node("pve2"), resources.guest(100, "pve2", kind="lxc")])
    source = make_source()

    # The members' own addresses refuse connections; everything still flows through pve1.
    class Refusing:
        async def get(self, *args, **kwargs):
            raise SourceConnectError("pve2 (127.0.0.2:8006): cannot connect: Connection refused")

        async def aclose(self):
            pass

        label = "pve2"
        address = None

    source._member_client = lambda member: None if member.local else Refusing()  # type: ignore[method-assign]
    result = await source.poll()
    assert source.topology.is_cluster
    assert source.topology.cluster_name == "lab"
    assert {n.name for n in result.nodes if n.status == "online"} == {"pve1", "pve2"}
    assert [g.vmid for g in result.guests] == [100]
    assert any("cluster member pve2 is not reachable" in w for w in result.warnings)
    assert all(n.is_cluster_member for n in result.nodes)


async def test_case9_failed_poll_keeps_last_guest_list_stale(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1", kind="lxc")])
    source = make_source()
    state = State(clock=lambda: 1.0)
    state.apply(await source.poll())
    fake_pve.error("/cluster/resources", 596, "Errors during TLS negotiation, request sending and header processing", empty=True)
    with pytest.raises(SourceConnectError):
        await source.poll()
    state.mark_instance_failed("lab")
    guests = state.instances["lab"].guests
    assert [g.vmid for g in guests] == [100]
    assert guests[0].stale


async def test_ids_stable_across_order_migration_and_rename(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1", "pve2"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.node("pve2"),
                                        resources.guest(100, "pve1", kind="lxc"), resources.guest(101, "pve2", kind="lxc")])
    source = make_source()
    before = {g.vmid: g.id for g in (await source.poll()).guests}
    fake_pve.set("/cluster/resources", [resources.guest(101, "pve1", kind="lxc", name="renamed"), resources.node("pve2"),
                                        resources.guest(100, "pve2", kind="lxc"), resources.node("pve1")])
    after = {g.vmid: g.id for g in (await source.poll()).guests}
    assert before == after == {100: "lab-100", 101: "lab-101"}


async def test_agent_not_running_and_no_agent_reasons(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1"), resources.guest(101, "pve1"), resources.guest(102, "pve1")])
    for vmid, agent in ((100, 1), (101, 0), (102, 1)):
        fake_pve.set(f"/nodes/pve1/qemu/{vmid}/status/current", {"vmid": vmid, "status": "running", "agent": agent, "maxmem": 4 * GiB})
    fake_pve.error("/nodes/pve1/qemu/100/agent/get-fsinfo", 500, "QEMU guest agent is not running")
    fake_pve.set("/nodes/pve1/qemu/102/agent/get-fsinfo", {"result": [
        {"name": "vda1", "mountpoint": "/", "type": "ext4", "total-bytes": 10 * GiB, "used-bytes": 4 * GiB, "disk": [{"dev": "/dev/vda1"}]},
    ]})
    fake_pve.set("/nodes/pve1/qemu/102/agent/network-get-interfaces", {"result": [
        {"name": "eth0", "ip-addresses": [{"ip-address": "192.0.2.5", "ip-address-type": "ipv4", "prefix": 24}]}]})
    fake_pve.set("/nodes/pve1/qemu/102/agent/get-osinfo", {"result": {"pretty-name": "Debian GNU/Linux 13 (trixie)"}})
    guests = {g.vmid: g for g in (await make_source().poll()).guests}
    assert guests[100].disk.unknown_reason == "32 GiB allocated; guest agent not running"
    assert guests[101].disk.unknown_reason == "32 GiB allocated; no guest agent configured"
    assert guests[102].disk.used == 4 * GiB
    assert guests[102].disk.percent == 40.0
    assert guests[102].ip_addresses == ["192.0.2.5"]
    assert guests[102].os_name == "Debian GNU/Linux 13 (trixie)"
    assert fake_pve.count("/qemu/101/agent") == 0


async def test_detail_timeout_marks_only_that_guest_stale(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1"), resources.guest(101, "pve1")])
    _no_details(fake_pve, [100, 101])
    source = make_source(options={"guest_status": 1e-6})
    await source.poll()
    fake_pve.error("/nodes/pve1/qemu/101/status/current", 596, "Errors during TLS negotiation, request sending and header processing: Connection timed out", empty=True)
    guests = {g.vmid: g for g in (await source.poll()).guests}
    assert guests[101].stale_fields == ["memory"]
    assert not guests[101].stale
    assert guests[100].stale_fields == []
    assert guests[101].cpu == 0.25
