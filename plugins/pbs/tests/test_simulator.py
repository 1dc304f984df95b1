"""The PBS source against the simulated Proxmox Backup Server over HTTPS on 127.0.0.1."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from pulse_core import Guest, NodeSettings, SourceAuthError, SourceTLSError
from pulse_core.backups import last_backups

from pulse_pbs.settings import parse_settings
from pulse_pbs.source import PBSSource

simulator = pytest.importorskip("pulse_core.simulator", reason="the simulator package is not available")
Scenario = simulator.Scenario
open_simulator = simulator.open_simulator


@pytest.fixture
def clock() -> trio.testing.MockClock:
    # Jumps only when every task has waited a while, so loopback I/O finishes first.
    return trio.testing.MockClock(autojump_threshold=0.005)


def small() -> Scenario:
    from pulse_core.simulator.scenario import PBSScenario

    return Scenario(nodes=1, cluster_name=None, guests=8, pbs=PBSScenario(snapshots=40, namespaces=["prod", "prod/db"]))


def make(sim, *, token: bool = True, fingerprint: str | None = "sim", token_value: str | None = None,
         **options) -> PBSSource:
    fields = dict(id="pbs", type="pbs", name="Backup", host=sim.pbs_url, verify_ssl=True,
                  fingerprint=sim.pbs_fingerprint if fingerprint == "sim" else fingerprint, options=options)
    if token:
        fields.update(user=sim.pbs_token["user"], token_name=sim.pbs_token["token_name"],
                      token_value=token_value or sim.pbs_token["token_value"])
    else:
        fields.update(user="root@pam", password=sim.pbs_password)
    config, problems = parse_settings(NodeSettings(**fields))
    assert config is not None, problems
    return PBSSource(config, clock=sim.clock.now)


async def test_pinned_https_poll_matches_the_simulated_server():
    async with open_simulator(small()) as sim:
        source = make(sim)
        try:
            result = await source.poll()
        finally:
            await source.aclose()
    server = result.pbs[0]
    assert source.client.seen_fingerprint == sim.pbs_fingerprint
    assert server.version == f"{sim.pbs_state.version}.{sim.pbs_state.release}"
    assert server.cpu is not None and server.memory.total == sim.pbs_state.memory_total
    expected = sum(len(group.snapshots) for group in sim.pbs_state.groups)
    assert len(result.pbs_backups) == expected == 40
    assert {backup.namespace for backup in result.pbs_backups} <= {"", "prod", "prod/db"}
    store = server.datastores[0]
    assert store.namespaces == ["", "prod", "prod/db"]
    assert store.snapshot_count == 40
    assert store.dedup_factor is not None
    assert {job.kind for job in server.jobs} == {"sync", "verify", "prune", "gc"}
    assert server.warnings == []
    # Each simulated guest's group matches its guest.
    guests = [
        Guest(id=f"pve-{guest.vmid}", vmid=guest.vmid, name="", node="pve1", instance="pve", type=guest.type)
        for guest in sim.state.guests.values() if not guest.template
    ]
    entries = last_backups(guests, result.pbs_backups, now=sim.clock.now())
    assert all(entry.source == "pbs" for entry in entries.values())


async def test_ticket_login_over_https():
    async with open_simulator(small()) as sim:
        source = make(sim, token=False)
        try:
            result = await source.poll()
        finally:
            await source.aclose()
    assert source.auth.logins == 1
    assert len(result.pbs_backups) == 40


async def test_fingerprint_mismatch_sends_no_credentials():
    async with open_simulator(small()) as sim:
        source = make(sim, fingerprint="AB" * 32)
        try:
            with pytest.raises(SourceTLSError, match="fingerprint mismatch"):
                await source.poll()
        finally:
            await source.aclose()
        report = await make(sim, fingerprint="AB" * 32).test_connection()
    assert report.ok is False
    assert report.fingerprint == sim.pbs_fingerprint


async def test_system_ca_mode_rejects_the_self_signed_certificate():
    async with open_simulator(small()) as sim:
        source = make(sim, fingerprint=None)
        try:
            with pytest.raises(SourceTLSError, match="TLS certificate verification failed"):
                await source.poll()
        finally:
            await source.aclose()


async def test_wrong_token_is_an_auth_error():
    async with open_simulator(small()) as sim:
        source = make(sim, token_value="00000000-0000-0000-0000-000000000000")
        try:
            with pytest.raises(SourceAuthError):
                await source.poll()
        finally:
            await source.aclose()


async def test_datastore_only_token_keeps_working():
    async with open_simulator(small()) as sim:
        store = next(iter(sim.pbs_state.datastores))
        sim.control.set_token_acl({f"/datastore/{store}": ["Datastore.Audit"]}, server="pbs")
        source = make(sim)
        try:
            result = await source.poll()
            report = await source.test_connection()
        finally:
            await source.aclose()
    server = result.pbs[0]
    assert server.cpu is None
    assert any("Sys.Audit on /system/status" in warning for warning in server.warnings)
    assert len(result.pbs_backups) == 40
    assert report.ok is True
    assert report.missing_privileges[0]["privilege"] == "Sys.Audit on /system/status"


async def test_new_backup_is_read_incrementally(clock):
    async with open_simulator(small()) as sim:
        source = make(sim)
        try:
            await source.poll()
            group = sim.pbs_state.groups[0]
            before = source.client.requests
            await source.poll()
            steady = source.client.requests - before

            newest = group.snapshots[-1]
            copy = type(newest)(backup_time=newest.backup_time + 3600, size=newest.size, files=newest.files)
            sim.pbs_state.adopt(copy)
            group.snapshots.append(copy)
            before = source.client.requests
            result = await source.poll()
            changed = source.client.requests - before
        finally:
            await source.aclose()
    assert changed == steady + 1
    assert len(result.pbs_backups) == 41
