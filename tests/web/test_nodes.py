"""/api/config/nodes against a live daemon and the simulated PVE cluster."""

from __future__ import annotations

from typing import Any

import httpx

from pulse_core.daemon import Daemon

from .conftest import wait_until


def pve_body(sim: Any, name: str = "lab") -> dict[str, Any]:
    return {
        "type": "pve",
        "name": name,
        "host": sim.pve_url,
        "user": sim.pve_token["user"],
        "tokenName": sim.pve_token["token_name"],
        "tokenValue": sim.pve_token["token_value"],
        "verifySSL": True,
        "fingerprint": sim.fingerprint,
    }


async def test_added_node_is_polled_without_restart(client: httpx.AsyncClient, live: Daemon, sim: Any) -> None:
    response = await client.post("/api/config/nodes", json=pve_body(sim))
    assert response.status_code == 201, response.text
    node = response.json()
    assert node["id"] == "lab"
    assert node["hasToken"] is True
    assert node["hasPassword"] is False
    assert sim.pve_token["token_value"] not in response.text

    await wait_until(lambda: any(guest.instance == "lab" for guest in live.state.all("guests")))
    state = (await client.get("/api/state")).json()
    assert any(vm["instance"] == "lab" for vm in state["vms"] + state["containers"])
    assert state["connectionHealth"]["lab"]["healthy"] is True

    listed = (await client.get("/api/config/nodes")).json()
    assert [item["status"] for item in listed if item["id"] == "lab"] == ["connected"]
    assert sim.pve_token["token_value"] not in (await client.get("/api/config/nodes")).text


async def test_update_keeps_id_and_secret(client: httpx.AsyncClient, live: Daemon, sim: Any) -> None:
    assert (await client.post("/api/config/nodes", json=pve_body(sim))).status_code == 201

    response = await client.put("/api/config/nodes/lab", json={"name": "Lab renamed", "tokenValue": ""})

    assert response.status_code == 200, response.text
    assert response.json()["id"] == "lab"
    assert response.json()["name"] == "Lab renamed"
    assert response.json()["hasToken"] is True
    stored = [node for node in live.settings.get("nodes") if node["id"] == "lab"][0]
    assert stored["token_value"] == sim.pve_token["token_value"]


async def test_delete_stops_polling(client: httpx.AsyncClient, live: Daemon, sim: Any) -> None:
    assert (await client.post("/api/config/nodes", json=pve_body(sim))).status_code == 201
    await wait_until(lambda: "lab" in live.state.instances)

    response = await client.delete("/api/config/nodes/lab")

    assert response.status_code == 204
    await wait_until(lambda: "lab" not in live.state.instances)
    assert (await client.get("/api/config/nodes/lab")).status_code == 404


async def test_connection_test_reports_success(client: httpx.AsyncClient, sim: Any) -> None:
    body = pve_body(sim)
    del body["name"]

    response = await client.post("/api/config/nodes/test-connection", json=body)

    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    assert response.json()["authenticated"] is True


async def test_connection_test_audited_as_test(client: httpx.AsyncClient, live: Daemon, sim: Any) -> None:
    response = await client.post("/api/config/nodes/test-connection", json=pve_body(sim))
    assert response.status_code == 200, response.text

    events = await live.storage.query_audit()
    actions = [event["action"] for event in events]
    assert "config.test_connection" in actions
    assert "config.change" not in actions
    [event] = [event for event in events if event["action"] == "config.test_connection"]
    assert event["type"] == "pve"
    assert event["host"] == sim.pve_url
    assert event["ok"] is True
    assert sim.pve_token["token_value"] not in str(events)


async def test_connection_test_reports_refused_port(client: httpx.AsyncClient, sim: Any) -> None:
    from .conftest import free_port

    port = free_port()
    body = {**pve_body(sim), "host": f"https://127.0.0.1:{port}"}

    response = await client.post("/api/config/nodes/test-connection", json=body)

    assert response.status_code == 200, response.text
    assert response.json()["ok"] is False
    # The hint names the port that was tried, and the product's default beside it.
    assert f"Check the host, the port {port} (the default is 8006) and firewalls." in response.json()["message"]


async def test_connection_test_tls_message_said_once(client: httpx.AsyncClient, sim: Any) -> None:
    pve = {**pve_body(sim), "fingerprint": ""}
    pbs = {
        "type": "pbs", "name": "backup", "host": sim.pbs_url, "user": sim.pbs_token["user"],
        "tokenName": sim.pbs_token["token_name"], "tokenValue": sim.pbs_token["token_value"], "verifySSL": True,
    }
    failure = "TLS certificate verification failed (verified against the system CAs): self-signed certificate"
    pve_address = sim.pve_url.split("://", 1)[1].rstrip("/")
    pbs_address = sim.pbs_url.split("://", 1)[1].rstrip("/")
    cases = [
        (pve, f"{pve_address}: {failure}. To trust this server, pin its fingerprint {sim.fingerprint}."),
        (pbs, f"backup ({pbs_address}): {failure}"),
    ]
    for body, expected in cases:
        response = await client.post("/api/config/nodes/test-connection", json=body)

        assert response.status_code == 200, response.text
        assert response.json()["message"] == expected


async def test_invalid_node_bodies_name_the_field(client: httpx.AsyncClient, sim: Any) -> None:
    cases = [
        ({"type": "pve", "name": "x"}, "host"),
        ({"type": "pve", "host": sim.pve_url}, "name"),
        ({**pve_body(sim), "colour": "red"}, "colour: unknown field"),
        ({**pve_body(sim), "verifySSL": "maybe"}, "verifySSL"),
        ({**pve_body(sim), "type": "nope"}, "type: unknown node type"),
        ({**pve_body(sim), "tokenId": "other@pve!pulse"}, "tokenId"),
    ]
    for body, expected in cases:
        response = await client.post("/api/config/nodes", json=body)
        assert response.status_code == 400, (body, response.text)
        assert expected in response.json()["error"], (body, response.text)


async def test_duplicate_name_conflicts(client: httpx.AsyncClient, sim: Any) -> None:
    assert (await client.post("/api/config/nodes", json=pve_body(sim))).status_code == 201

    response = await client.post("/api/config/nodes", json=pve_body(sim))

    assert response.status_code == 409
    assert "already exists" in response.json()["error"]


async def test_unknown_node_ids_are_404(client: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, "/api/config/nodes/no-such-node", json={"name": "x"})
        assert response.status_code == 404, method
        assert "no-such-node" in response.json()["error"]


async def test_wrong_method_on_connection_test_is_405(client: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, "/api/config/nodes/test-connection", json={"name": "x"})
        assert response.status_code == 405, method
        assert response.headers["allow"] == "POST"
        assert "allowed methods: POST" in response.json()["error"]


async def test_node_named_test_connection_is_still_reachable(
    client: httpx.AsyncClient, sim: Any
) -> None:
    assert (await client.post("/api/config/nodes", json=pve_body(sim, "Test Connection"))).status_code == 201

    response = await client.get("/api/config/nodes/test-connection")

    assert response.status_code == 200
    assert response.json()["name"] == "Test Connection"


async def test_poll_data_and_health_change_together(live: Daemon, nursery: Any) -> None:
    import trio

    from pulse_core.model import ConnectionHealth, Guest, PollResult

    instance = next(iter(live.state.instances))
    release = trio.Event()
    writing = trio.Event()

    async def slow_write(samples: Any) -> None:
        writing.set()
        await release.wait()

    live.storage.write_samples = slow_write  # type: ignore[method-assign]
    guest = Guest(id=f"{instance}-999", vmid=999, name="new", node="pve1", instance=instance, type="qemu",
                  status="running", cpu=0.5)
    health = ConnectionHealth(instance=instance, healthy=False, status="timeout", message="marker")
    nursery.start_soon(live._on_poll, instance, PollResult(instance=instance, guests=[guest]), health, 0.1)
    await writing.wait()

    # While the samples are still being written, the state already shows this poll's health.
    assert any(item.vmid == 999 for item in live.state.all("guests"))
    assert live.state.instances[instance].health.message == "marker"
    release.set()
