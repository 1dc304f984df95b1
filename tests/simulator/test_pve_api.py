"""The simulated PVE API: shapes and values of the endpoints Pulse polls."""

from __future__ import annotations

import httpx

from pulse_core.simulator import Simulator


async def test_version_is_pve9_by_default(pve: httpx.AsyncClient) -> None:
    response = await pve.get("/version")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["version"] == "9.1.2"
    assert data["release"] == "9.1"
    assert len(data["repoid"]) == 16


async def test_cluster_status_lists_cluster_and_nodes(pve: httpx.AsyncClient, sim: Simulator) -> None:
    entries = (await pve.get("/cluster/status")).json()["data"]
    cluster = [entry for entry in entries if entry["type"] == "cluster"]
    nodes = [entry for entry in entries if entry["type"] == "node"]
    assert len(cluster) == 1
    assert cluster[0]["quorate"] == 1
    assert cluster[0]["nodes"] == 3
    assert sorted(node["name"] for node in nodes) == ["pve1", "pve2", "pve3"]
    assert all(node["online"] == 1 for node in nodes)
    assert [node["local"] for node in nodes].count(1) == 1
    assert all(node["ip"] == "127.0.0.1" for node in nodes)


async def test_standalone_has_no_cluster_entry(sim: Simulator) -> None:
    from pulse_core.simulator import open_simulator

    from .conftest import small_scenario

    async with open_simulator(small_scenario(nodes=1, cluster_name=None, pbs=None)) as standalone:
        async with httpx.AsyncClient(verify=False, headers=standalone.pve_headers()) as client:
            entries = (await client.get(standalone.pve_url + "/api2/json/cluster/status")).json()["data"]
    assert len(entries) == 1
    assert entries[0]["type"] == "node"
    assert entries[0]["nodeid"] == 0
    assert entries[0]["local"] == 1


async def test_cluster_resources_types_and_units(pve: httpx.AsyncClient, sim: Simulator) -> None:
    entries = (await pve.get("/cluster/resources")).json()["data"]
    kinds = {entry["type"] for entry in entries}
    assert {"node", "storage"} <= kinds
    assert kinds & {"qemu", "lxc"}
    guests = [entry for entry in entries if entry["type"] in ("qemu", "lxc")]
    assert len(guests) == len(sim.state.guests)
    for entry in guests:
        assert entry["template"] in (0, 1)
        assert 0.0 <= entry["cpu"] <= 1.0
        assert isinstance(entry["vmid"], int)
        assert entry["id"] == f"{entry['type']}/{entry['vmid']}"
        if entry["type"] == "qemu":
            assert entry["disk"] == 0
            assert "memhost" in entry
        if "tags" in entry:
            assert "," not in entry["tags"]
            assert entry["tags"] == ";".join(sorted(set(entry["tags"].split(";"))))
    storages = [entry for entry in entries if entry["type"] == "storage"]
    shared = [entry for entry in storages if entry["storage"] == "nfs-backup"]
    assert len(shared) == 3
    assert {entry["shared"] for entry in shared} == {1}
    assert len({entry["disk"] for entry in shared}) == 1


async def test_cluster_resources_type_filter(pve: httpx.AsyncClient) -> None:
    vms = (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]
    assert vms
    assert {entry["type"] for entry in vms} <= {"qemu", "lxc"}
    nodes = (await pve.get("/cluster/resources", params={"type": "node"})).json()["data"]
    assert {entry["type"] for entry in nodes} == {"node"}


async def test_cluster_resources_bad_type_is_400(pve: httpx.AsyncClient) -> None:
    response = await pve.get("/cluster/resources", params={"type": "pool"})
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert "type" in body["errors"]
    assert response.reason_phrase == "Parameter verification failed."


async def test_state_changes_show_in_resources(pve: httpx.AsyncClient, sim: Simulator) -> None:
    guest = next(item for item in sim.state.guests.values() if item.running)
    guest.cpu = 0.875
    entries = (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]
    served = next(entry for entry in entries if entry["vmid"] == guest.vmid)
    assert served["cpu"] == 0.875


async def test_guest_lists_per_node(pve: httpx.AsyncClient, sim: Simulator) -> None:
    qemu = (await pve.get("/nodes/pve1/qemu")).json()["data"]
    lxc = (await pve.get("/nodes/pve1/lxc")).json()["data"]
    expected_qemu = {g.vmid for g in sim.state.guests.values() if g.node == "pve1" and g.type == "qemu"}
    expected_lxc = {g.vmid for g in sim.state.guests.values() if g.node == "pve1" and g.type == "lxc"}
    assert {item["vmid"] for item in qemu} == expected_qemu
    assert {item["vmid"] for item in lxc} == expected_lxc
    for item in qemu + lxc:
        assert item["status"] in ("running", "stopped")
        assert ("pid" in item) == (item["status"] == "running")
        assert item.get("template", 1) == 1
    assert all(item["type"] == "lxc" for item in lxc)


async def test_qemu_status_ballooninfo(pve: httpx.AsyncClient, sim: Simulator) -> None:
    running = [g for g in sim.state.guests.values() if g.type == "qemu" and g.running]
    assert running
    guest = running[0]
    guest.balloon = True
    guest.agent = True
    guest.agent_running = True
    data = (await pve.get(f"/nodes/{guest.node}/qemu/{guest.vmid}/status/current")).json()["data"]
    assert data["agent"] == 1
    assert data["qmpstatus"] == "running"
    assert data["ha"]["managed"] in (0, 1)
    assert {"actual", "max_mem", "free_mem", "total_mem", "last_update"} <= set(data["ballooninfo"])
    assert data["mem"] == guest.mem

    guest.balloon = False
    data = (await pve.get(f"/nodes/{guest.node}/qemu/{guest.vmid}/status/current")).json()["data"]
    assert set(data["ballooninfo"]) == {"actual", "max_mem", "last_update"}
    assert data["mem"] == data["maxmem"]


async def test_unknown_guest_is_500(pve: httpx.AsyncClient) -> None:
    response = await pve.get("/nodes/pve1/qemu/99999/status/current")
    assert response.status_code == 500
    assert "qemu-server/99999.conf' does not exist" in response.json()["message"]


async def test_unknown_node_is_hostname_error(pve: httpx.AsyncClient) -> None:
    response = await pve.get("/nodes/nosuchnode/status")
    assert response.status_code == 500
    assert "hostname lookup 'nosuchnode' failed" in response.reason_phrase


async def test_agent_calls(pve: httpx.AsyncClient, sim: Simulator) -> None:
    guest = next(g for g in sim.state.guests.values() if g.type == "qemu" and g.running)
    guest.agent = True
    guest.agent_running = True
    base = f"/nodes/{guest.node}/qemu/{guest.vmid}/agent"
    fsinfo = (await pve.get(base + "/get-fsinfo")).json()["data"]["result"]
    assert fsinfo[0]["total-bytes"] > fsinfo[0]["used-bytes"] > 0
    interfaces = (await pve.get(base + "/network-get-interfaces")).json()["data"]["result"]
    assert any(item["hardware-address"] == guest.mac.lower() for item in interfaces)
    osinfo = (await pve.get(base + "/get-osinfo")).json()["data"]["result"]
    assert osinfo["id"] == guest.osinfo[1]

    guest.agent_running = False
    response = await pve.get(base + "/get-fsinfo")
    assert response.status_code == 500
    assert response.reason_phrase == "QEMU guest agent is not running"

    guest.agent = False
    response = await pve.get(base + "/get-fsinfo")
    assert response.status_code == 500
    assert response.reason_phrase == "No QEMU guest agent configured"


async def test_snapshots_end_with_current(pve: httpx.AsyncClient, sim: Simulator) -> None:
    for guest in sim.state.guests.values():
        response = await pve.get(f"/nodes/{guest.node}/{guest.type}/{guest.vmid}/snapshot")
        items = response.json()["data"]
        assert items[-1]["name"] == "current"
        assert items[-1]["description"] == "You are here!"
        assert len(items) == len(guest.snapshots) + 1


async def test_storage_lists_and_content(pve: httpx.AsyncClient, sim: Simulator) -> None:
    storages = (await pve.get("/nodes/pve1/storage")).json()["data"]
    names = {item["storage"] for item in storages}
    assert {"local", "local-lvm", "nfs-backup", "pbs-backup"} <= names
    for item in storages:
        assert item["used"] + item["avail"] == item["total"]
        assert 0 <= item["used_fraction"] <= 1
    config = (await pve.get("/storage")).json()["data"]
    assert {item["storage"] for item in config} == names
    content = (await pve.get("/nodes/pve1/storage/pbs-backup/content", params={"content": "backup"})).json()["data"]
    assert content
    for item in content:
        assert item["format"] in ("pbs-vm", "pbs-ct")
        assert item["volid"].startswith("pbs-backup:backup/")


async def test_vzdump_tasks_with_logs(pve: httpx.AsyncClient) -> None:
    response = await pve.get("/nodes/pve1/tasks", params={"typefilter": "vzdump", "limit": 3})
    body = response.json()
    assert body["total"] >= len(body["data"]) > 0
    task = body["data"][0]
    assert task["type"] == "vzdump"
    assert task["id"] == ""
    assert task["upid"].startswith(f"UPID:pve1:{task['pid']:08X}:{task['pstart']:08X}:{task['starttime']:08X}:vzdump::")
    log = (await pve.get(f"/nodes/pve1/tasks/{task['upid']}/log", params={"limit": 1000})).json()
    lines = [line["t"] for line in log["data"]]
    assert any(line.startswith("INFO: Starting Backup of VM") for line in lines)
    status = (await pve.get(f"/nodes/pve1/tasks/{task['upid']}/status")).json()["data"]
    assert status["status"] == "stopped"
    assert status["exitstatus"] == task["status"]


async def test_rrddata_requires_timeframe(pve: httpx.AsyncClient) -> None:
    response = await pve.get("/nodes/pve1/rrddata")
    assert response.status_code == 400
    rows = (await pve.get("/nodes/pve1/rrddata", params={"timeframe": "hour"})).json()["data"]
    assert len(rows) == 60
    assert rows[1]["time"] - rows[0]["time"] == 60
    assert {"cpu", "memused", "memtotal"} <= set(rows[0])


async def test_disks_ceph_replication(pve: httpx.AsyncClient) -> None:
    disks = (await pve.get("/nodes/pve1/disks/list")).json()["data"]
    assert all(isinstance(item["size"], int) for item in disks)
    ceph = await pve.get("/cluster/ceph/status")
    assert ceph.status_code == 500
    replication = (await pve.get("/cluster/replication")).json()["data"]
    assert len(replication) == 2


async def test_unknown_path_is_501(pve: httpx.AsyncClient) -> None:
    response = await pve.get("/nosuch/path")
    assert response.status_code == 501
    assert response.reason_phrase == "Method 'GET /nosuch/path' not implemented"


async def test_backup_runs_then_finishes(pve: httpx.AsyncClient, sim: Simulator) -> None:
    guests = [g for g in sim.state.guests.values() if g.node == "pve2" and not g.template][:2]
    upid = sim.control.start_backup("pve2", vmids=[g.vmid for g in guests], fail=[guests[1].vmid])
    status = (await pve.get(f"/nodes/pve2/tasks/{upid}/status")).json()["data"]
    assert status["status"] == "running"
    active = (await pve.get("/nodes/pve2/tasks", params={"source": "active"})).json()["data"]
    assert [task["upid"] for task in active] == [upid]
    locks = {e["vmid"]: e.get("lock") for e in (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]}
    assert all(locks[g.vmid] == "backup" for g in guests)

    sim.control.advance(1300)
    status = (await pve.get(f"/nodes/pve2/tasks/{upid}/status")).json()["data"]
    assert status["status"] == "stopped"
    assert status["exitstatus"] == "job errors"
    lines = [line["t"] for line in (await pve.get(f"/nodes/pve2/tasks/{upid}/log", params={"limit": 100})).json()["data"]]
    assert any(f"Backup of VM {guests[1].vmid} failed" in line for line in lines)
    assert lines[-1] == "TASK ERROR: job errors"
    locks = {e["vmid"]: e.get("lock") for e in (await pve.get("/cluster/resources", params={"type": "vm"})).json()["data"]}
    assert all(locks[g.vmid] is None for g in guests)
    content = (await pve.get("/nodes/pve2/storage/pbs-backup/content", params={"vmid": guests[0].vmid})).json()["data"]
    assert max(item["ctime"] for item in content) >= status["starttime"]


async def test_permissions_follow_token_acl(pve: httpx.AsyncClient, sim: Simulator) -> None:
    full = (await pve.get("/access/permissions")).json()["data"]
    assert full["/"]["VM.GuestAgent.Audit"] == 1
    sim.control.set_token_acl({"/vms/100": ["VM.Audit"]})
    narrowed = (await pve.get("/access/permissions")).json()["data"]
    assert narrowed == {"/vms/100": {"VM.Audit": 1}}


async def test_ha_status_lists_managed_guests(pve: httpx.AsyncClient, sim: Simulator) -> None:
    guest = next(iter(sim.state.guests.values()))
    guest.hastate = "started"
    entries = (await pve.get("/cluster/ha/status/current")).json()["data"]
    kinds = [entry["type"] for entry in entries]
    assert kinds[:2] == ["quorum", "master"]
    assert kinds.count("lrm") == 3
    kind = "vm" if guest.type == "qemu" else "ct"
    service = next(entry for entry in entries if entry["type"] == "service" and entry["sid"] == f"{kind}:{guest.vmid}")
    assert service["node"] == guest.node
    assert service["state"] == "started"


async def test_backup_job_excludes_templates(pve: httpx.AsyncClient, sim: Simulator) -> None:
    jobs = (await pve.get("/cluster/backup")).json()["data"]
    assert len(jobs) == 1
    assert jobs[0]["storage"] == "pbs-backup"
    templates = sorted(g.vmid for g in sim.state.guests.values() if g.template)
    assert jobs[0].get("exclude", "") == ",".join(map(str, templates))


async def test_sdn_zone_per_node(pve: httpx.AsyncClient) -> None:
    entries = (await pve.get("/cluster/resources", params={"type": "sdn"})).json()["data"]
    assert sorted(entry["id"] for entry in entries) == [f"sdn/pve{n}/localnetwork" for n in (1, 2, 3)]
    assert all(entry["type"] == "sdn" and entry["status"] == "ok" for entry in entries)


async def test_offline_node_keeps_last_uptime(pve: httpx.AsyncClient, sim: Simulator) -> None:
    sim.control.set_node_online("pve3", False)
    before = next(e for e in (await pve.get("/cluster/resources", params={"type": "node"})).json()["data"] if e["node"] == "pve3")
    sim.control.advance(120)
    after = next(e for e in (await pve.get("/cluster/resources", params={"type": "node"})).json()["data"] if e["node"] == "pve3")
    assert after["status"] == "offline"
    assert after["uptime"] == before["uptime"] > 0
