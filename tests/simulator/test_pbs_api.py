"""The simulated Proxmox Backup Server API."""

from __future__ import annotations

import httpx

from pulse_core.simulator import Simulator


async def test_version_format(pbs: httpx.AsyncClient) -> None:
    data = (await pbs.get("/version")).json()["data"]
    assert data["version"] == "4.0"
    assert data["release"] == "14"


async def test_namespaces_include_root(pbs: httpx.AsyncClient) -> None:
    items = (await pbs.get("/admin/datastore/backup/namespace")).json()["data"]
    assert [item["ns"] for item in items] == ["", "prod", "prod/db", "dev"]
    top = (await pbs.get("/admin/datastore/backup/namespace", params={"max-depth": 1})).json()["data"]
    assert "prod/db" not in [item["ns"] for item in top]


async def test_snapshots_are_per_namespace(sim: Simulator, pbs: httpx.AsyncClient) -> None:
    assert sim.pbs_state is not None
    total = 0
    for ns in sim.pbs_state.namespaces["backup"]:
        items = (await pbs.get("/admin/datastore/backup/snapshots", params={"ns": ns})).json()["data"]
        expected = sum(len(g.snapshots) for g in sim.pbs_state.groups if g.store == "backup" and g.ns == ns)
        assert len(items) == expected
        total += len(items)
        for item in items:
            assert isinstance(item["backup-id"], str)
            assert isinstance(item["backup-time"], int)
            assert isinstance(item["protected"], bool)
            if "verification" in item:
                assert item["verification"]["state"] in ("ok", "failed")
    assert total == 40


async def test_snapshot_filters(pbs: httpx.AsyncClient) -> None:
    items = (await pbs.get("/admin/datastore/backup/snapshots", params={"backup-type": "vm"})).json()["data"]
    assert all(item["backup-type"] == "vm" for item in items)
    bad = await pbs.get("/admin/datastore/backup/snapshots", params={"backup-type": "disk"})
    assert bad.status_code == 400


async def test_groups_match_snapshots(pbs: httpx.AsyncClient) -> None:
    groups = (await pbs.get("/admin/datastore/backup/groups")).json()["data"]
    snapshots = (await pbs.get("/admin/datastore/backup/snapshots")).json()["data"]
    for group in groups:
        mine = [s for s in snapshots if (s["backup-type"], s["backup-id"]) == (group["backup-type"], group["backup-id"])]
        assert group["backup-count"] == len(mine)
        assert group["last-backup"] == max(s["backup-time"] for s in mine)


async def test_unknown_namespace_and_store(pbs: httpx.AsyncClient) -> None:
    response = await pbs.get("/admin/datastore/backup/snapshots", params={"ns": "nosuch"})
    assert response.status_code == 400
    missing = await pbs.get("/admin/datastore/nosuch/status")
    assert missing.status_code == 400
    assert missing.text == "datastore 'nosuch' does not exist"


async def test_unknown_path_is_404_text(pbs: httpx.AsyncClient) -> None:
    response = await pbs.get("/nosuch")
    assert response.status_code == 404
    assert response.text == "Path '/api2/json/nosuch' not found."


async def test_datastore_usage(pbs: httpx.AsyncClient, sim: Simulator) -> None:
    items = (await pbs.get("/status/datastore-usage")).json()["data"]
    assert len(items) == 1
    item = items[0]
    assert item["total"] == item["used"] + item["avail"]
    assert all(0 <= value <= 1 for value in item["history"])
    assert item["estimated-full-date"] > sim.clock.now()
    assert sim.pbs_state is not None
    sim.pbs_state.datastores["backup"].error = "datastore is not mounted"
    broken = (await pbs.get("/status/datastore-usage")).json()["data"][0]
    assert set(broken) == {"store", "error", "mount-status", "backend-type"}


async def test_tasks_use_snake_case(pbs: httpx.AsyncClient) -> None:
    body = (await pbs.get("/nodes/localhost/tasks", params={"limit": 5})).json()
    assert body["total"] >= len(body["data"]) == 5
    for item in body["data"]:
        assert "worker_type" in item
        assert "type" not in item
        assert item["upid"].startswith("UPID:pbs:")
    errors = (await pbs.get("/nodes/localhost/tasks", params={"errors": 1, "limit": 0})).json()["data"]
    assert all(item["status"] != "OK" for item in errors)


async def test_jobs_have_last_run(pbs: httpx.AsyncClient) -> None:
    for kind in ("verify", "prune", "sync"):
        config = (await pbs.get(f"/config/{kind}")).json()["data"]
        status = (await pbs.get(f"/admin/{kind}")).json()["data"]
        assert len(config) == len(status) == 1
        assert "last-run-state" not in config[0]
        assert {"next-run", "last-run-state", "last-run-upid", "last-run-endtime"} <= set(status[0])


async def test_gc_status(pbs: httpx.AsyncClient) -> None:
    gc = (await pbs.get("/admin/datastore/backup/gc")).json()["data"]
    assert gc["store"] == "backup"
    assert gc["upid"].startswith("UPID:pbs:")
    assert "cache-stats" in gc


async def test_node_status_reports_certificate(sim: Simulator, pbs: httpx.AsyncClient) -> None:
    data = (await pbs.get("/nodes/localhost/status")).json()["data"]
    assert data["info"]["fingerprint"] == sim.pbs_fingerprint
    assert isinstance(data["boot-info"]["secureboot"], bool)
    new = sim.control.rotate_certificate("pbs")
    async with httpx.AsyncClient(base_url=sim.pbs_url + "/api2/json", verify=False, headers=sim.pbs_headers()) as fresh:
        data = (await fresh.get("/nodes/localhost/status")).json()["data"]
    assert data["info"]["fingerprint"] == new


async def test_pbs_down_alone(sim: Simulator, pve: httpx.AsyncClient) -> None:
    sim.control.set_server_down(True, server="pbs")
    async with httpx.AsyncClient(verify=False, headers=sim.pbs_headers()) as client:
        try:
            await client.get(sim.pbs_url + "/api2/json/version")
        except httpx.ConnectError:
            refused = True
        else:
            refused = False
    assert refused
    assert (await pve.get("/version")).status_code == 200


async def test_pve_backups_point_at_pbs_datastore(pve: httpx.AsyncClient, pbs: httpx.AsyncClient) -> None:
    storages = (await pve.get("/storage")).json()["data"]
    pbs_storage = next(item for item in storages if item["type"] == "pbs")
    assert pbs_storage["datastore"] == "backup"
    assert pbs_storage["server"] == "127.0.0.1"
