"""Charts, storage and backup endpoints against a live daemon polling the simulator."""

from __future__ import annotations

import httpx

from pulse_core.daemon import Daemon

from .conftest import wait_until


async def test_charts_have_series_per_guest_and_node(client: httpx.AsyncClient, live: Daemon) -> None:
    first_poll = live.state.version
    await wait_until(lambda: live.state.version > first_poll + 3)

    response = await client.get("/api/charts", params={"range": "1h", "points": 10})

    assert response.status_code == 200
    body = response.json()
    guest_ids = {guest.id for guest in live.state.all("guests")}
    assert set(body["guests"]) == guest_ids
    assert set(body["nodes"]) == {node.id for node in live.state.all("nodes")}
    running = [guest.id for guest in live.state.all("guests") if guest.status == "running" and not guest.template]
    series = body["guests"][running[0]]["cpu"]
    assert series, "a running guest has CPU history after a few polls"
    assert set(series[0]) == {"timestamp", "value", "min", "max"}
    assert set(body["nodes"][next(iter(body["nodes"]))]) == {"cpu", "memory", "disk"}


async def test_charts_filters_and_ranges(client: httpx.AsyncClient, live: Daemon) -> None:
    node_id = live.state.all("nodes")[0].id

    response = await client.get("/api/charts", params={"ids": node_id, "metrics": "cpu", "range": "7d"})

    assert response.status_code == 200
    assert response.json()["guests"] == {}
    assert list(response.json()["nodes"]) == [node_id]
    assert list(response.json()["nodes"][node_id]) == ["cpu"]
    for params, field in (({"range": "2h"}, "range"), ({"points": "x"}, "points"), ({"points": 1}, "points"),
                          ({"metrics": "cpu,temp"}, "metrics")):
        bad = await client.get("/api/charts", params=params)
        assert bad.status_code == 400, params
        assert bad.json()["error"].startswith(f"{field}:"), params


async def test_storage_by_node(client: httpx.AsyncClient, live: Daemon) -> None:
    node = live.state.all("nodes")[0]

    everything = (await client.get("/api/storage/")).json()
    one = await client.get(f"/api/storage/{node.id}")

    assert one.status_code == 200
    assert one.json()["storage"]
    assert all(item["node"] == node.name for item in one.json()["storage"])
    assert len(everything["storage"]) == len(live.state.all("storage"))
    missing = await client.get("/api/storage/no-such-node")
    assert missing.status_code == 404
    assert "no-such-node" in missing.json()["error"]


async def test_storage_charts_cover_every_storage(client: httpx.AsyncClient, live: Daemon) -> None:
    response = await client.get("/api/storage-charts", params={"range": "24h"})

    assert response.status_code == 200
    assert set(response.json()["storage"]) == {item.id for item in live.state.all("storage")}


async def test_backup_views_match_state(client: httpx.AsyncClient, live: Daemon) -> None:
    everything = (await client.get("/api/backups")).json()
    pve = (await client.get("/api/backups/pve")).json()
    pbs = (await client.get("/api/backups/pbs")).json()
    unified = (await client.get("/api/backups/unified")).json()["backups"]
    snapshots = (await client.get("/api/snapshots")).json()["snapshots"]

    assert len(everything["storageBackups"]) == len(live.state.all("storage_backups"))
    assert pve["backupTasks"] == everything["backupTasks"]
    assert pbs["pbsBackups"] == everything["pbsBackups"]
    assert len(unified) == len(everything["storageBackups"]) + len(everything["pbsBackups"])
    assert [entry["time"] for entry in unified] == sorted((entry["time"] for entry in unified), reverse=True)
    assert len(snapshots) == len(live.state.all("guest_snapshots"))


async def test_chart_cache_reuses_body_until_state_changes() -> None:
    from pulse_core.web.routes.history import ChartCache

    cache = ChartCache()
    builds = 0

    async def build() -> dict[str, int]:
        nonlocal builds
        builds += 1
        return {"build": builds}

    first = await cache.get("/api/charts?range=1h", 1, build)
    again = await cache.get("/api/charts?range=1h", 1, build)
    other = await cache.get("/api/charts?range=24h", 1, build)
    changed = await cache.get("/api/charts?range=1h", 2, build)

    assert first == again == b'{"build":1}'
    assert other == b'{"build":2}'
    assert changed == b'{"build":3}'
    assert builds == 3
