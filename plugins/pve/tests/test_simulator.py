"""The PVE source against the simulated cluster over HTTPS on 127.0.0.1."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from pulse_core import NodeSettings, SourceTLSError

from pulse_pve.settings import parse_settings
from pulse_pve.source import PVESource

simulator = pytest.importorskip("pulse_core.simulator", reason="the simulator package is not available")
Scenario = simulator.Scenario
open_simulator = simulator.open_simulator


@pytest.fixture
def clock() -> trio.testing.MockClock:
    # Jumps only when every task has waited a while, so real socket I/O on
    # loopback finishes before simulated latency and timeouts are skipped.
    return trio.testing.MockClock(autojump_threshold=0.005)


def make(sim, *, token: bool = True, host: str | None = None, fingerprint: str | None = "sim", verify: bool = True, **options) -> PVESource:
    fields = dict(id="sim", type="pve", name="Simulated", host=host or sim.pve_url, verify_ssl=verify,
                  fingerprint=sim.fingerprint if fingerprint == "sim" else fingerprint, options=options)
    if token:
        fields.update(user=sim.pve_token["user"], token_name=sim.pve_token["token_name"], token_value=sim.pve_token["token_value"])
    else:
        fields.update(user="root@pam", password=sim.pve_password)
    config, problems = parse_settings(NodeSettings(**fields))
    assert config is not None, problems
    return PVESource(config, clock=sim.clock.now)


def base_complete(result, guests: int, nodes: int) -> None:
    assert len(result.guests) == guests
    assert len([n for n in result.nodes if n.status == "online"]) == nodes
    for node in result.nodes:
        assert node.cpu is not None
        assert node.memory.used is not None
        assert node.loadavg is not None
    for guest in result.guests:
        assert not guest.stale
        assert guest.status in ("running", "stopped")
        if guest.status == "running":
            assert guest.cpu is not None
            assert guest.memory.total is not None


async def test_pinned_poll_of_the_demo_cluster():
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim)
        result = await source.poll()
        base_complete(result, 30, 3)
        assert source.topology.cluster_name == "demo"
        assert all(n.cluster_name == "demo" and n.pve_version for n in result.nodes)
        assert result.storage
        assert result.storage_backups
        assert result.backup_tasks is not None
        sim.control.advance(10)
        second = await source.poll()
        running = [g for g in second.guests if g.status == "running"]
        assert all(g.net_in is not None and g.net_in >= 0 for g in running)
        assert second.storage_backups is None  # slow cadence: not refreshed this time
        await source.aclose()


async def test_fingerprint_mismatch_is_a_tls_error():
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim, fingerprint=":".join(["AB"] * 32))
        with pytest.raises(SourceTLSError, match="fingerprint mismatch"):
            await source.poll()
        report = await source.test_connection()
        assert not report.ok
        assert report.fingerprint == sim.fingerprint
        assert "mismatch" in report.message


async def test_self_signed_system_ca_tls_error():
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim, fingerprint=None)
        with pytest.raises(SourceTLSError, match="system CAs") as caught:
            await source.poll()
        # The reason after the colon comes from OpenSSL's verification, never empty.
        assert str(caught.value).rsplit("): ", 1)[1] == "self-signed certificate"
        report = await source.test_connection()
        assert not report.ok
        address = sim.pve_url.split("://", 1)[1].rstrip("/")
        assert report.message == (
            f"{address}: TLS certificate verification failed (verified against the system CAs): "
            f"self-signed certificate. To trust this server, pin its fingerprint {sim.fingerprint}."
        )


async def test_insecure_mode_polls():
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim, fingerprint=None, verify=False)
        base_complete(await source.poll(), 30, 3)
        await source.aclose()


async def test_certificate_rotation_is_caught(clock):
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim)
        await source.poll()
        sim.control.rotate_certificate("pve")
        with pytest.raises(SourceTLSError):
            await source.poll()


async def test_test_connection_reports_the_cluster():
    async with open_simulator(Scenario.demo()) as sim:
        report = await make(sim).test_connection()
        assert report.ok, report.message
        assert report.reachable
        assert report.authenticated
        assert report.fingerprint == sim.fingerprint
        assert report.version == "9.1.2"
        assert report.cluster_name == "demo"
        assert report.members == ["pve1", "pve2", "pve3"]


async def test_case3_agent_permission_on_the_simulator(clock):
    async with open_simulator(Scenario.demo()) as sim:
        sim.control.restrict_privileges(["VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"])
        source = make(sim)
        result = await source.poll()
        with_agent = [g for g in result.guests if g.agent_enabled and g.status == "running"]
        assert with_agent
        for guest in with_agent:
            assert guest.disk.unknown_reason.endswith("unavailable: permission VM.GuestAgent.Audit")
            assert guest.cpu is not None
        assert "VM.GuestAgent.Audit" in source.missing_privileges


async def test_case4_offline_node_on_the_simulator(clock):
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim)
        before = {g.vmid: g for g in (await source.poll()).guests}
        sim.control.set_node_online("pve3", False)
        sim.control.advance(10)
        result = await source.poll()
        nodes = {n.name: n.status for n in result.nodes}
        assert nodes == {"pve1": "online", "pve2": "online", "pve3": "offline"}
        for guest in result.guests:
            if guest.node == "pve3":
                assert guest.stale
                assert guest.status == "unknown"
                assert guest.vmid in before
            else:
                assert not guest.stale
                assert guest.status in ("running", "stopped")
        assert len(result.guests) == len(before)
        # pmxcfs still reports the dead node's last figures for a few minutes; they must not read as live.
        pve3 = next(node for node in result.nodes if node.name == "pve3")
        assert pve3.cpu is None
        assert pve3.uptime is None
        assert pve3.memory.used is None
        assert pve3.memory.unknown_reason == "node pve3 is offline"
        assert pve3.memory.total is not None
        on_pve3 = [entry for entry in result.storage if entry.node == "pve3"]
        assert on_pve3
        assert all(entry.stale and entry.status == "unknown" for entry in on_pve3)
        assert not any(entry.stale for entry in result.storage if entry.node != "pve3")


@pytest.mark.slow
async def test_case5_slow_details_base_complete(clock):
    scenario = Scenario(nodes=8, guests=400, cluster_name="big", backup_days=1, pbs=None)
    async with open_simulator(scenario) as sim:
        sim.control.set_latency("/nodes/*/qemu/*/status/current", 0.15)
        sim.control.set_latency("/nodes/*/qemu/*/agent/*", 0.15)
        sim.control.set_error("/nodes/*/qemu/*/status/current", 595, times=25)
        sim.control.set_error("/nodes/*/qemu/*/agent/*", 595, times=25)
        interval = 30.0
        source = make(sim, interval=interval, concurrency=4)
        detailed: set[int] = set()
        for _ in range(4):
            with trio.fail_after(interval * 0.95):
                result = await source.poll()
            base_complete(result, 400, 8)
            detailed |= {g.vmid for g in result.guests if g.agent_status is not None or g.balloon is not None}
            await trio.sleep(interval)
            sim.control.advance(interval)
        running_vms = {g.vmid for g in result.guests if g.type == "qemu" and g.status == "running" and not g.template}
        # Rotation reaches every running VM within a few cycles despite the latency.
        assert running_vms <= detailed
        await source.aclose()


async def test_case6_revoked_token_on_the_simulator():
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim)
        await source.poll()
        sim.control.revoke_token_acl()
        result = await source.poll()
        assert result.visibility_lost
        assert result.guests is None
        report = await make(sim).test_connection()
        assert not report.ok
        assert "PVEAuditor" in report.message


async def test_case7_ticket_login_survives_expired_tickets(clock):
    async with open_simulator(Scenario.demo()) as sim:
        source = make(sim, token=False)
        await source.poll()
        sim.control.expire_tickets()
        base_complete(await source.poll(), 30, 3)
        assert source.auth.logins == 2
        # Past the renewal age the ticket is renewed before any request fails.
        await trio.sleep(2 * 3600)
        sim.control.advance(2 * 3600)
        base_complete(await source.poll(), 30, 3)
        assert source.auth.logins == 3


async def test_case8_each_member_verified_with_its_own_pin(clock):
    async with open_simulator(Scenario.demo(), member_endpoints=True) as sim:
        members = sim.member_urls
        source = make(sim, host=members["pve1"], fingerprint=sim.member_fingerprints["pve1"], member_addresses=members)
        result = await source.poll()
        assert {n.name: n.connection_health for n in result.nodes} == {"pve1": "ok", "pve2": "ok", "pve3": "ok"}
        assert all(m.verified for m in source.topology.members.values())
        assert not [w for w in result.warnings if "member" in w]
        assert len({sim.member_fingerprints[name] for name in members}) == 3


async def test_case8_wrong_member_certificate_is_reported_not_trusted(clock):
    async with open_simulator(Scenario.demo(), member_endpoints=True) as sim:
        members = dict(sim.member_urls)
        members["pve2"] = members["pve3"]  # pve2's address now presents pve3's certificate
        source = make(sim, host=members["pve1"], fingerprint=sim.member_fingerprints["pve1"], member_addresses=members)
        result = await source.poll()
        health = {n.name: n.connection_health for n in result.nodes}
        assert health["pve2"] == "tls"
        assert health["pve3"] == "ok"
        assert any("pve2" in w and "fingerprint mismatch" in w for w in result.warnings)


async def test_failover_to_another_member(clock):
    async with open_simulator(Scenario.demo(), member_endpoints=True) as sim:
        members = sim.member_urls
        source = make(sim, host=members["pve1"], fingerprint=sim.member_fingerprints["pve1"], member_addresses=members)
        await source.poll()
        sim.control.set_server_down(True, server="pve1")
        result = await source.poll()
        assert len(result.guests) == 30
        assert source._active.address != source.config.address


async def test_case9_unreachable_members_on_the_simulator(clock):
    async with open_simulator(Scenario.demo(), member_endpoints=True) as sim:
        members = sim.member_urls
        sim.control.set_member_reachable("pve2", False)
        sim.control.set_member_reachable("pve3", False)
        source = make(sim, host=members["pve1"], fingerprint=sim.member_fingerprints["pve1"], member_addresses=members)
        result = await source.poll()
        base_complete(result, 30, 3)
        assert source.topology.is_cluster
        warned = sorted(w.split()[2] for w in result.warnings if "is not reachable" in w)
        assert warned == ["pve2", "pve3"]


async def test_failover_before_first_discovery(clock):
    async with open_simulator(Scenario.demo(), member_endpoints=True) as sim:
        members = sim.member_urls
        sim.control.set_member_reachable("pve1", False)
        source = make(sim, host=members["pve1"], fingerprint=None, verify=False, member_addresses=members)
        result = await source.poll()
        assert len(result.guests) == 30
        assert source._active.address != source.config.address


async def test_pbs_storage_gets_its_target():
    async with open_simulator(Scenario.demo()) as sim:
        specs = {storage.spec.name: storage.spec for storage in sim.state.storages.values() if storage.spec.type == "pbs"}
        assert specs, "the demo scenario has no PBS storage"
        source = make(sim)
        result = await source.poll()
        pbs_storage = [entry for entry in result.storage if entry.type == "pbs"]
        assert pbs_storage
        for entry in pbs_storage:
            assert entry.pbs_server == "127.0.0.1"
            assert entry.pbs_datastore == (specs[entry.name].datastore or "backup")
            assert entry.pbs_namespace is None
        others = [entry for entry in result.storage if entry.type != "pbs"]
        assert others
        assert all(entry.pbs_datastore is None for entry in others)
