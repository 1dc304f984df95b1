"""A steady homelab for 14 simulated days with 7-day retention: the database stops growing."""

from __future__ import annotations

import sqlite3

import pytest
from pulse_core import Datastore, Guest, Node, PBSBackup, PBSInstance, PollResult, Storage, Usage
from pulse_core.state import derive_samples

from pulse_storage_sqlite.tiers import TIERS

START = 1_699_920_000
DAY = 86400
GIB = 1 << 30
# Accelerated: one poll per simulated 10 minutes (one sample per raw block) instead of every 10 seconds.
POLL_SECONDS = 600
SIMULATED_DAYS = 14


def steady_cluster() -> tuple[PollResult, PollResult]:
    nodes = [
        Node(id=f"pve-pve{n}", name=f"pve{n}", instance="pve", status="online", cpu=0.12, cpus=16,
             memory=Usage(64 * GIB, 20 * GIB), disk=Usage(100 * GIB, 30 * GIB))
        for n in range(1, 4)
    ]
    guests = [
        Guest(id=f"pve-{vmid}", vmid=vmid, name=f"guest-{vmid}", node=f"pve{vmid % 3 + 1}", instance="pve",
              type="qemu" if vmid % 2 else "lxc", status="running", cpu=0.03, cpus=2,
              memory=Usage(4 * GIB, GIB), disk=Usage(32 * GIB, 8 * GIB),
              net_in=1200.0, net_out=800.0, disk_read=0.0, disk_write=4096.0)
        for vmid in range(100, 220)
    ]
    storage = [
        Storage(id=f"pve-pve{n}-{name}", name=name, node=f"pve{n}", instance="pve", status="available",
                usage=Usage(2000 * GIB, 700 * GIB))
        for n in range(1, 4) for name in ("local", "local-lvm", "nfs")
    ]
    snapshots = [
        PBSBackup(id=f"pbs-main-vm-{i % 120 + 100}-{i}", instance="pbs", datastore="main", namespace="",
                  backup_type="vm", backup_id=str(i % 120 + 100), backup_time=START - i * 3600, size=8 * GIB)
        for i in range(2000)
    ]
    pbs = PBSInstance(id="pbs", name="pbs", host="pbs.example", status="online",
                      datastores=[Datastore(id="pbs-main", name="main", instance="pbs", status="available",
                                            usage=Usage(8000 * GIB, 5000 * GIB))])
    return (
        PollResult(instance="pve", nodes=nodes, guests=guests, storage=storage),
        PollResult(instance="pbs", pbs=[pbs], pbs_backups=snapshots),
    )


@pytest.mark.slow
async def test_steady_homelab_levels_off(storage_factory, clock, tmp_path) -> None:
    storage = storage_factory(
        raw_retention_hours=2, minute_retention_hours=48, quarter_hour_retention_days=7, hour_retention_days=7
    )
    await storage.open()
    pve, pbs = steady_cluster()
    sizes: list[int] = []
    end = START + SIMULATED_DAYS * DAY
    for ts in range(START, end, POLL_SECONDS):
        clock.now = ts
        for result in (pve, pbs):
            await storage.write_samples(derive_samples(result, ts))
        if (ts + POLL_SECONDS) % DAY == 0:
            sizes.append((await storage.statistics())["file_bytes"])
    stats = await storage.statistics()
    await storage.aclose()

    # 3 nodes x 3 + 120 guests x 7 + 9 storages + 1 datastore; snapshots add no series.
    assert stats["series"] == 9 + 840 + 9 + 1
    settled = sizes[9:]
    assert max(settled) <= sizes[8] * 1.05, f"daily sizes still grow after the retention: {sizes}"
    assert min(settled) >= sizes[8] * 0.95, f"daily sizes shrink after the retention: {sizes}"

    now = clock.now
    interval = storage.settings.prune_interval_seconds
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for tier, retention in zip(TIERS, storage.settings.retentions()):
            oldest = conn.execute("SELECT min(start) FROM blocks WHERE tier = ?", (tier.index,)).fetchone()[0]
            if tier.index == 3:
                # Rows age out of the 15-minute tier as old as the 1-hour retention, so no 1-hour row is kept.
                assert oldest is None, "1-hour rows written although the 15-minute rows cover the retention"
                continue
            # A block's age is that of its newest data, the end of its span.
            assert oldest + tier.span >= now - retention - interval, f"tier {tier.name}: block older than retention"
        journal_oldest = conn.execute("SELECT min(ts) FROM journal").fetchone()[0]
        assert journal_oldest >= now - storage.settings.retentions()[0] - interval
