"""Faults switched at runtime, from Python and over the /_sim HTTP control API."""

from __future__ import annotations

import socket
import ssl

import httpx
import orjson
import pytest
import trio

from pulse_core.simulator import Simulator, SimulatorError, open_simulator

from .conftest import small_scenario


async def test_node_offline_status_and_595(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_node_online("pve2", False)
    entries = (await pve.get("/cluster/status")).json()["data"]
    pve2 = next(entry for entry in entries if entry.get("name") == "pve2")
    assert pve2["online"] == 0
    response = await pve.get("/nodes/pve2/status")
    assert response.status_code == 595
    assert response.content == b""
    assert response.reason_phrase.startswith("Errors during connection establishment")
    resources = (await pve.get("/cluster/resources", params={"type": "node"})).json()["data"]
    assert next(entry for entry in resources if entry["node"] == "pve2")["status"] == "offline"


async def test_offline_node_entries_shrink_after_five_minutes(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_node_online("pve2", False)
    before = (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]
    assert all("name" in entry for entry in before if entry["node"] == "pve2")
    sim.control.advance(301)
    after = (await pve.get("/cluster/resources")).json()["data"]
    guests = [entry for entry in after if entry.get("node") == "pve2" and entry["type"] in ("qemu", "lxc")]
    assert guests
    assert all(entry["status"] == "unknown" and "name" not in entry and "cpu" not in entry for entry in guests)
    node = next(entry for entry in after if entry["type"] == "node" and entry["node"] == "pve2")
    assert "maxmem" not in node


async def test_node_back_online_restarts_counters(sim: Simulator, pve: httpx.AsyncClient) -> None:
    guest = next(g for g in sim.state.guests.values() if g.node == "pve2" and g.running)
    old_netin = guest.netin
    sim.control.set_node_online("pve2", False)
    sim.control.set_node_online("pve2", True)
    entries = (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]
    served = next(entry for entry in entries if entry["vmid"] == guest.vmid)
    assert served["netin"] < old_netin
    assert served["uptime"] == 0


async def test_server_down_refuses_connections(sim: Simulator) -> None:
    port = int(sim.pve_url.rsplit(":", 1)[1])
    sim.control.set_server_down(True)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    sim.control.set_server_down(False)
    async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
        response = await client.get(sim.pve_url + "/api2/json/version")
    assert response.status_code == 200


async def test_latency_becomes_timeout(sim: Simulator, autojump_clock: trio.testing.MockClock) -> None:
    sim.control.set_latency("/cluster/resources", 60)
    async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(sim.pve_url + "/api2/json/cluster/resources", timeout=30)
        assert (await client.get(sim.pve_url + "/api2/json/version")).status_code == 200


async def test_error_fault_once(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_error("/nodes/*/status", 500, times=1)
    first = await pve.get("/nodes/pve1/status")
    second = await pve.get("/nodes/pve1/status")
    assert first.status_code == 500
    assert second.status_code == 200


async def test_malformed_body(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_malformed("/cluster/resources")
    response = await pve.get("/cluster/resources")
    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


async def test_truncated_body(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_truncated("/cluster/resources")
    with pytest.raises(httpx.RemoteProtocolError):
        await pve.get("/cluster/resources")


async def test_oversized_body(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_oversized("/version", size=2 * 1024 * 1024)
    response = await pve.get("/version")
    assert len(response.content) == 2 * 1024 * 1024
    assert response.json()["data"]["version"] == "9.1.2"


async def test_clear_faults(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_error("*", 503)
    assert (await pve.get("/version")).status_code == 503
    assert sim.control.clear_faults() == 1
    assert (await pve.get("/version")).status_code == 200


async def test_rotate_certificate_changes_fingerprint(sim: Simulator) -> None:
    old = sim.fingerprint
    new = sim.control.rotate_certificate()
    assert new != old
    assert sim.fingerprint == new
    port = int(sim.pve_url.rsplit(":", 1)[1])
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    def served_fingerprint() -> str:
        import hashlib

        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw) as wrapped:
                der = wrapped.getpeercert(binary_form=True)
        return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())

    assert await trio.to_thread.run_sync(served_fingerprint) == new


async def test_clock_skew_shows_in_date_and_time(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_clock_skew(3600)
    data = (await pve.get("/nodes/pve1/time")).json()["data"]
    assert data["time"] == int(sim.clock.now()) + 3600


async def test_migrate_delete_add(sim: Simulator, pve: httpx.AsyncClient) -> None:
    guest = next(g for g in sim.state.guests.values() if g.node == "pve1")
    sim.control.migrate_guest(guest.vmid, "pve3")
    entries = (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]
    assert next(entry for entry in entries if entry["vmid"] == guest.vmid)["node"] == "pve3"
    sim.control.delete_guest(guest.vmid)
    entries = (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]
    assert guest.vmid not in {entry["vmid"] for entry in entries}
    sim.control.add_node("pve4")
    status = (await pve.get("/cluster/status")).json()["data"]
    assert "pve4" in {entry["name"] for entry in status}
    assert next(entry for entry in status if entry["type"] == "cluster")["nodes"] == 4


async def test_invalid_control_calls_raise(sim: Simulator) -> None:
    with pytest.raises(SimulatorError):
        sim.control.set_node_online("nosuchnode", False)
    with pytest.raises(SimulatorError):
        sim.control.migrate_guest(99999, "pve1")
    with pytest.raises(ValueError):
        sim.control.advance(-1)


async def test_http_control_api(sim: Simulator, pve: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(verify=False) as control:
        response = await control.post(sim.pve_url + "/_sim/set-node-online", json={"node": "pve3", "online": False})
        assert response.status_code == 200
        assert (await pve.get("/nodes/pve3/status")).status_code == 595
        bad = await control.post(sim.pve_url + "/_sim/set_node_online", json={"nodee": "pve3"})
        assert bad.status_code == 400
        assert "invalid arguments" in bad.json()["error"]
        unknown = await control.post(sim.pve_url + "/_sim/nosuch", json={})
        assert unknown.status_code == 404
        status = await control.get(sim.pve_url + "/_sim/status")
        assert status.json()["data"]["nodes"]["pve3"] is False
        advanced = await control.post(sim.pve_url + "/_sim/advance", json={"seconds": 60})
        assert advanced.json()["data"] == sim.clock.now()


async def test_member_endpoints_have_own_certificates() -> None:
    async with open_simulator(small_scenario(pbs=None), member_endpoints=True) as sim:
        assert set(sim.member_urls) == {"pve1", "pve2", "pve3"}
        fingerprints = sim.member_fingerprints
        assert len(set(fingerprints.values())) == 3
        assert fingerprints["pve1"] == sim.fingerprint
        async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
            nodes = (await client.get(sim.member_urls["pve2"] + "/api2/json/nodes")).json()["data"]
            assert {node["node"]: node["ssl_fingerprint"] for node in nodes} == fingerprints
            status = (await client.get(sim.member_urls["pve2"] + "/api2/json/cluster/status")).json()["data"]
            assert next(entry for entry in status if entry.get("local") == 1)["name"] == "pve2"
            sim.control.set_node_online("pve2", False)
        async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(sim.member_urls["pve2"] + "/api2/json/version")
            assert (await client.get(sim.member_urls["pve3"] + "/api2/json/version")).status_code == 200


async def test_unreachable_member_keeps_node_online() -> None:
    async with open_simulator(small_scenario(pbs=None), member_endpoints=True) as sim:
        sim.control.set_member_reachable("pve3", False)
        async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(sim.member_urls["pve3"] + "/api2/json/version")
            status = (await client.get(sim.pve_url + "/api2/json/cluster/status")).json()["data"]
            assert next(entry for entry in status if entry["name"] == "pve3")["online"] == 1
            assert (await client.get(sim.pve_url + "/api2/json/nodes/pve3/status")).status_code == 200
        sim.control.set_member_reachable("pve3", True)
        async with httpx.AsyncClient(verify=False, headers=sim.pve_headers()) as client:
            assert (await client.get(sim.member_urls["pve3"] + "/api2/json/version")).status_code == 200


async def test_new_guest_is_unknown_until_next_step(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.add_guest(5000, "pve1", "lxc", name="fresh")
    entry = next(e for e in (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"] if e["vmid"] == 5000)
    assert entry["status"] == "unknown"
    sim.control.advance(10)
    entry = next(e for e in (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"] if e["vmid"] == 5000)
    assert entry["status"] == "running"
    assert entry["name"] == "fresh"
