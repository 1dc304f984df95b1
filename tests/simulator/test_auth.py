"""Authentication and privileges of the simulated servers, as real PVE and PBS do them."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import trio

from pulse_core.simulator import Simulator


async def login(client: httpx.AsyncClient, url: str, password: str, username: str = "root@pam") -> dict:
    response = await client.post(url + "/api2/json/access/ticket", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_ticket_login_and_cookie(sim: Simulator) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        data = await login(client, sim.pve_url, sim.pve_password)
        assert data["username"] == "root@pam"
        assert data["ticket"].startswith("PVE:root@pam:")
        assert data["clustername"] == "demo"
        response = await client.get(sim.pve_url + "/api2/json/nodes", headers={"Cookie": "PVEAuthCookie=" + quote(data["ticket"])})
    assert response.status_code == 200


async def test_wrong_password_is_401(sim: Simulator) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        response = await client.post(sim.pve_url + "/api2/json/access/ticket", data={"username": "root@pam", "password": "wrong"})
    assert response.status_code == 401
    assert response.reason_phrase == "authentication failure"


async def test_wrong_token_secret_is_401(sim: Simulator) -> None:
    headers = {"Authorization": "PVEAPIToken=root@pam!pulse=00000000-0000-0000-0000-000000000000"}
    async with httpx.AsyncClient(verify=False, headers=headers) as client:
        response = await client.get(sim.pve_url + "/api2/json/version")
    assert response.status_code == 401


async def test_no_credentials_is_401(sim: Simulator) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        response = await client.get(sim.pve_url + "/api2/json/version")
    assert response.status_code == 401
    assert response.reason_phrase == "No ticket"


async def test_token_with_space_separator(sim: Simulator) -> None:
    token = sim.pve_token
    headers = {"Authorization": f"PVEAPIToken {token['user']}!{token['token_name']}={token['token_value']}"}
    async with httpx.AsyncClient(verify=False, headers=headers) as client:
        response = await client.get(sim.pve_url + "/api2/json/version")
    assert response.status_code == 200


async def test_ticket_endpoint_rejects_tokens(sim: Simulator, pve: httpx.AsyncClient) -> None:
    response = await pve.post("/access/ticket", data={"username": "root@pam", "password": sim.pve_password})
    assert response.status_code == 403
    assert "not available with API token" in response.reason_phrase


async def test_ticket_expires_after_two_hours(sim: Simulator) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        data = await login(client, sim.pve_url, sim.pve_password)
        cookies = {"Cookie": "PVEAuthCookie=" + quote(data["ticket"])}
        sim.control.advance(7100)
        assert (await client.get(sim.pve_url + "/api2/json/version", headers=cookies)).status_code == 200
        sim.control.advance(200)
        assert (await client.get(sim.pve_url + "/api2/json/version", headers=cookies)).status_code == 401


async def test_ticket_renewal_with_ticket_as_password(sim: Simulator) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        first = await login(client, sim.pve_url, sim.pve_password)
        sim.control.advance(3600)
        second = await login(client, sim.pve_url, first["ticket"])
        sim.control.advance(3700)
        response = await client.get(sim.pve_url + "/api2/json/version", headers={"Cookie": "PVEAuthCookie=" + quote(second["ticket"])})
    assert response.status_code == 200


async def test_expire_tickets_fault(sim: Simulator) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        data = await login(client, sim.pve_url, sim.pve_password)
        sim.control.expire_tickets()
        response = await client.get(sim.pve_url + "/api2/json/version", headers={"Cookie": "PVEAuthCookie=" + quote(data["ticket"])})
    assert response.status_code == 401


async def test_writes_with_ticket_need_csrf(sim: Simulator) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        data = await login(client, sim.pve_url, sim.pve_password)
        cookies = {"Cookie": "PVEAuthCookie=" + quote(data["ticket"])}
        url = sim.pve_url + "/api2/json/nodes/pve1/qemu/100/agent/ping"
        without = await client.post(url, headers=cookies)
        assert without.status_code == 401
        assert without.reason_phrase == "Permission denied - invalid csrf token"
        with_token = await client.post(url, headers={**cookies, "CSRFPreventionToken": data["CSRFPreventionToken"]})
    assert with_token.status_code != 401


async def test_revoked_token_sees_empty_lists(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.revoke_token_acl()
    resources = await pve.get("/cluster/resources")
    assert resources.status_code == 200
    assert resources.json()["data"] == []
    assert (await pve.get("/nodes/pve1/qemu")).json()["data"] == []
    assert (await pve.get("/nodes/pve1/storage")).json()["data"] == []
    status = await pve.get("/cluster/status")
    assert status.status_code == 403
    assert status.reason_phrase == "Permission check failed (/, Sys.Audit)"
    nodes = (await pve.get("/nodes")).json()["data"]
    assert all("cpu" not in node for node in nodes)


async def test_dropped_agent_privilege_is_403(sim: Simulator, pve: httpx.AsyncClient) -> None:
    guest = next(g for g in sim.state.guests.values() if g.type == "qemu" and g.running)
    guest.agent = True
    guest.agent_running = True
    sim.control.restrict_privileges(["VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"])
    response = await pve.get(f"/nodes/{guest.node}/qemu/{guest.vmid}/agent/get-fsinfo")
    assert response.status_code == 403
    assert response.reason_phrase.startswith(f"Permission check failed (/vms/{guest.vmid}, VM.GuestAgent.Audit")
    assert (await pve.get(f"/nodes/{guest.node}/qemu/{guest.vmid}/status/current")).status_code == 200


async def test_per_guest_acl_filters_lists(sim: Simulator, pve: httpx.AsyncClient) -> None:
    visible = next(iter(sim.state.guests.values()))
    sim.control.set_token_acl({f"/vms/{visible.vmid}": ["VM.Audit"]})
    resources = (await pve.get("/cluster/resources")).json()["data"]
    assert [entry["vmid"] for entry in resources] == [visible.vmid]


async def test_pbs_token_uses_colon(sim: Simulator) -> None:
    token = sim.pbs_token
    assert token is not None
    assert sim.pbs_url is not None
    good = {"Authorization": f"PBSAPIToken={token['user']}!{token['token_name']}:{token['token_value']}"}
    wrong_separator = {"Authorization": f"PBSAPIToken={token['user']}!{token['token_name']}={token['token_value']}"}
    async with httpx.AsyncClient(verify=False) as client:
        assert (await client.get(sim.pbs_url + "/api2/json/version", headers=good)).status_code == 200
        rejected = await client.get(sim.pbs_url + "/api2/json/version", headers=wrong_separator)
    assert rejected.status_code == 401
    assert rejected.text == "authentication failed"


async def test_pbs_ticket_login(sim: Simulator) -> None:
    assert sim.pbs_url is not None and sim.pbs_password is not None
    async with httpx.AsyncClient(verify=False) as client:
        data = await login(client, sim.pbs_url, sim.pbs_password)
        assert data["ticket"].startswith("PBS:root@pam:")
        response = await client.get(sim.pbs_url + "/api2/json/admin/datastore", headers={"Cookie": "PBSAuthCookie=" + quote(data["ticket"])})
    assert response.status_code == 200


async def test_pbs_revoked_token_is_403_text(sim: Simulator, pbs: httpx.AsyncClient) -> None:
    sim.control.revoke_token_acl(server="pbs")
    assert (await pbs.get("/admin/datastore")).json()["data"] == []
    response = await pbs.get("/admin/datastore/backup/snapshots")
    assert response.status_code == 403
    assert response.text == "permission check failed"


async def test_auth_failure_delay(autojump_clock: trio.testing.MockClock) -> None:
    from pulse_core.simulator import open_simulator

    from .conftest import small_scenario

    async with open_simulator(small_scenario(auth_failure_delay=3.0, pbs=None)) as delayed:
        async with httpx.AsyncClient(verify=False) as client:
            before = trio.current_time()
            response = await client.get(delayed.pve_url + "/api2/json/version")
            waited = trio.current_time() - before
    assert response.status_code == 401
    assert waited >= 3.0
