"""``GET /api/backups/guests`` against a daemon polling the simulated PVE cluster and PBS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from pulse_core.daemon import Daemon
from pulse_core.testing.fixtures import simulator_nodes, wait_until


async def test_last_backup_per_guest(live_factory: Callable[..., Awaitable[Daemon]], sim: Any) -> None:
    daemon = await live_factory(nodes=simulator_nodes(sim))
    await wait_until(lambda: bool(daemon.state.all("guests")) and bool(daemon.state.all("pbs_backups")))
    async with httpx.AsyncClient(base_url=daemon.bound_urls[0], timeout=30) as http:
        response = await http.get("/api/backups/guests")
    assert response.status_code == 200
    entries = {entry["guestId"]: entry for entry in response.json()["guests"]}
    guests = daemon.state.all("guests")
    assert set(entries) == {guest.id for guest in guests}

    newest: dict[tuple[str, str], int] = {}
    for backup in daemon.state.all("pbs_backups"):
        key = (backup.backup_type, backup.backup_id)
        newest[key] = max(newest.get(key, 0), backup.backup_time)
    checked = 0
    for guest in guests:
        pbs_time = newest.get(("vm" if guest.type == "qemu" else "ct", str(guest.vmid)))
        if pbs_time is None:
            continue
        entry = entries[guest.id]
        checked += 1
        # One cluster writes to this PBS, so nothing is ambiguous and the PBS backup counts.
        assert entry["ambiguous"] is False
        assert entry["time"] >= pbs_time
    assert checked > 0
