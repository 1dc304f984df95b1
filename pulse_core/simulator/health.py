"""Simulated physical disks, Ceph status and replication state, and the responses built from them.

Disk entries follow ``/nodes/{node}/disks/list`` of PVE 8.4 and 9.1 (numbers as
JSON numbers, ``wearout`` "N/A" for hard disks). The Ceph document has the shape
PVE returns from ``/cluster/ceph/status``: Ceph's ``status`` with the full
monitor and manager dumps added. Replication state carries the fields the PVE
GUI reads from ``/nodes/{node}/replication``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pulse_core.simulator.state import Tracked

if TYPE_CHECKING:
    from pulse_core.simulator.state import PVEState, ReplicationJob

GB = 1000**3
REPLICATION_PERIOD = 900
CEPH_HEALTH_STATES = ("HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR")
FAILED_REPLICATION_ERROR = (
    "command 'zfs snapshot rpool/data/vm-{guest}-disk-0@__replicate_{job}_{time}__' failed: got timeout"
)

# The checks a degraded cluster reports, per health state beyond HEALTH_OK.
_CEPH_CHECKS: dict[str, dict[str, dict[str, Any]]] = {
    "HEALTH_WARN": {
        "OSD_NEARFULL": {"severity": "HEALTH_WARN", "summary": {"message": "1 nearfull osd(s)", "count": 1}, "muted": False},
        "PG_DEGRADED": {
            "severity": "HEALTH_WARN",
            "summary": {"message": "Degraded data redundancy: 212/61728 objects degraded (0.343%), 3 pgs degraded", "count": 3},
            "muted": False,
        },
    },
    "HEALTH_ERR": {
        "OSD_FULL": {"severity": "HEALTH_ERR", "summary": {"message": "1 full osd(s)", "count": 1}, "muted": False},
        "PG_DAMAGED": {
            "severity": "HEALTH_ERR",
            "summary": {"message": "Possible data damage: 1 pg inconsistent", "count": 1},
            "muted": False,
        },
    },
}


@dataclass(eq=False)
class SimDisk(Tracked):
    """One physical disk of a simulated node."""

    devpath: str
    type: str
    model: str
    serial: str
    vendor: str
    size: int
    used: str
    rpm: int
    wwn: str
    health: str = "PASSED"
    # Percent of rated life left, or None for a disk that reports no wear ("N/A").
    wearout: int | None = None
    osdid: int = -1

    def list_item(self) -> dict[str, Any]:
        if self.type == "nvme":
            kind = "nvme"
        elif self.type in ("hdd", "ssd"):
            kind = "ata"
        else:
            kind = "scsi"
        return {
            "devpath": self.devpath,
            "gpt": 1,
            "mounted": 0,
            "osdid": self.osdid,
            "osdid-list": [self.osdid] if self.osdid >= 0 else None,
            "size": self.size,
            "health": self.health,
            "model": self.model,
            "serial": self.serial,
            "type": self.type,
            "used": self.used,
            "vendor": self.vendor,
            "wwn": self.wwn,
            "wearout": self.wearout if self.wearout is not None else "N/A",
            "rpm": self.rpm,
            "by_id_link": f"/dev/disk/by-id/{kind}-{self.model.replace(' ', '_')}_{self.serial}",
        }


@dataclass(eq=False)
class CephState(Tracked):
    """The simulated Ceph cluster's health, changed by tests through the control API."""

    health: str = "HEALTH_OK"
    fsid: str = "3a8c2bd5-1f7e-4c6b-9a0e-5d2f8e7b6c41"
    osds_per_node: int = field(default=1)


def build_disks(state: PVEState, rng: random.Random, failing: int, ceph: bool) -> None:
    """Give every node a boot SSD, an NVMe disk for guests and a hard disk for its ZFS pool.

    The hard disks of the first ``failing`` nodes report SMART health FAILED.
    With Ceph, each node gets one more NVMe disk that contains an OSD.
    """
    osd = 0
    for index, name in enumerate(state.nodes):
        serial = f"{rng.getrandbits(40):010X}"
        disks = [
            SimDisk("/dev/sda", "ssd", "Samsung SSD 870 EVO 500GB", f"S6PX{serial}", "ATA", 500_107_862_016,
                    "BIOS boot", 0, f"0x5002538f{serial[:8].lower()}", wearout=rng.randint(88, 99)),
            SimDisk("/dev/nvme0n1", "nvme", "Samsung SSD 980 PRO 2TB", f"S69E{serial}", "Samsung", 2_000_398_934_016,
                    "LVM", 0, f"eui.002538b{serial.lower()}", wearout=rng.randint(70, 98)),
            SimDisk("/dev/sdb", "hdd", "ST4000NM000A-2HZ100", f"WJG{serial[:5]}", "ATA", 4_000_787_030_016,
                    "ZFS", 7200, f"0x5000c500{serial[:8].lower()}",
                    health="FAILED" if index < failing else "PASSED"),
        ]
        if ceph:
            disks.append(SimDisk("/dev/nvme1n1", "nvme", "Micron_7450_MTFDKBG3T8TFR", f"2231{serial}", "Micron",
                                 3_840_755_982_336, "LVM", 0, f"eui.000000000000{serial.lower()[:4]}",
                                 wearout=rng.randint(90, 100), osdid=osd))
            osd += 1
        for disk in disks:
            state.adopt(disk)
        state.disks[name] = disks


def smart_data(disk: SimDisk, health_only: bool) -> dict[str, Any]:
    """Return ``/nodes/{node}/disks/smart`` for ``disk``: health, and attributes (ATA) or text (NVMe)."""
    if health_only:
        return {"health": disk.health}
    if disk.type == "nvme":
        used = 100 - (disk.wearout if disk.wearout is not None else 100)
        text = (
            "SMART/Health Information (NVMe Log 0x02)\n"
            "Critical Warning:                   0x00\n"
            "Temperature:                        41 Celsius\n"
            "Available Spare:                    100%\n"
            f"Percentage Used:                    {used}%\n"
            "Media and Data Integrity Errors:    0\n"
        )
        return {"health": disk.health, "type": "text", "text": text, "wearout": disk.wearout}
    reallocated = 0 if disk.health == "PASSED" else 3480
    attributes = [
        _attribute(5, "Reallocated_Sector_Ct", "PO--CK", 100 if not reallocated else 1, 10, reallocated),
        _attribute(9, "Power_On_Hours", "-O--CK", 97, 0, 21_833),
        _attribute(194, "Temperature_Celsius", "-O---K", 36, 0, 36),
    ]
    if disk.type == "ssd" and disk.wearout is not None:
        attributes.append(_attribute(177, "Wear_Leveling_Count", "PO--C-", disk.wearout, 0, 100 - disk.wearout))
    return {"health": disk.health, "type": "ata", "attributes": attributes}


def _attribute(number: int, name: str, flags: str, value: int, threshold: int, raw: int) -> dict[str, Any]:
    return {
        "id": f"{number:>3}", "name": name, "flags": flags, "value": value, "worst": value,
        "threshold": threshold, "fail": "FAILING_NOW" if value <= threshold and threshold else "-",
        "raw": str(raw), "normalized": value,
    }


def ceph_status(state: PVEState) -> dict[str, Any]:
    """Return the Ceph status document for the simulated cluster."""
    ceph = state.ceph
    names = list(state.nodes)
    online = [name for name in names if state.nodes[name].online]
    checks = dict(_CEPH_CHECKS.get(ceph.health, {}))
    health = ceph.health
    down = len(names) - len(online)
    if down:
        checks["OSD_HOST_DOWN"] = {
            "severity": "HEALTH_WARN",
            "summary": {"message": f"{down} host ({down * ceph.osds_per_node} osds) down", "count": down},
            "muted": False,
        }
        if health == "HEALTH_OK":
            health = "HEALTH_WARN"

    rbd = [storage for storage in state.storages.values() if storage.spec.type == "rbd"]
    total = rbd[0].total if rbd else 12 * 1024**4
    used = rbd[0].used if rbd else total // 3
    pgs = [{"state_name": "active+clean", "count": 129}]
    if health != "HEALTH_OK":
        pgs = [{"state_name": "active+clean", "count": 126}, {"state_name": "active+undersized+degraded", "count": 3}]
    osds = ceph.osds_per_node * len(names)

    return {
        "fsid": ceph.fsid,
        "health": {"status": health, "checks": checks, "mutes": []},
        "election_epoch": 42,
        "quorum": list(range(len(online))),
        "quorum_names": online,
        "quorum_age": 86400,
        "monmap": {
            "epoch": 3, "fsid": ceph.fsid, "num_mons": len(names),
            "mons": [
                {"rank": rank, "name": name, "public_addr": f"127.0.0.{rank + 1}:6789/0", "addr": f"127.0.0.{rank + 1}:6789/0"}
                for rank, name in enumerate(names)
            ],
        },
        "mgrmap": {
            "available": bool(online),
            "active_name": online[0] if online else "",
            "standbys": [{"name": name, "gid": 4100 + rank} for rank, name in enumerate(online[1:])],
        },
        "osdmap": {
            "epoch": 812, "num_osds": osds,
            "num_up_osds": ceph.osds_per_node * len(online), "num_in_osds": osds, "num_remapped_pgs": 0,
        },
        "pgmap": {
            "pgs_by_state": pgs, "num_pgs": 129, "num_pools": 2, "num_objects": 20_576,
            "data_bytes": used // 3, "bytes_used": used, "bytes_avail": total - used, "bytes_total": total,
        },
    }


def replication_state(job: ReplicationJob, now: int, guest_type: str) -> dict[str, Any]:
    """Return the state fields of one job as ``/nodes/{node}/replication`` adds them to its configuration."""
    slot = now - now % REPLICATION_PERIOD
    if job.fail_count:
        last_try = slot
        # After a failure PVE retries sooner than the schedule, backing off with each failure.
        next_sync = last_try + 300 * min(job.fail_count, 6)
        last_sync = job.last_sync if job.last_sync is not None else 0
    else:
        last_sync = last_try = slot
        next_sync = slot + REPLICATION_PERIOD
    item: dict[str, Any] = {
        "last_sync": last_sync, "last_try": last_try, "next_sync": next_sync,
        "duration": job.duration, "fail_count": job.fail_count, "vmtype": guest_type,
    }
    if job.error:
        item["error"] = job.error
    return item


def fail_replication(job: ReplicationJob, now: int, fail_count: int, error: str | None) -> None:
    """Set a job's failure count and error; 0 clears them, as a successful run would."""
    if fail_count:
        if job.last_sync is None:
            job.last_sync = now - now % REPLICATION_PERIOD - fail_count * REPLICATION_PERIOD
        job.error = error or FAILED_REPLICATION_ERROR.format(guest=job.guest, job=job.id, time=now)
    else:
        job.last_sync = None
        job.error = None
    job.fail_count = fail_count
