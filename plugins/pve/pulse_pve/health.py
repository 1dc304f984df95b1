"""Physical disks, Ceph status and storage replication: normalization and the slow-cadence fetches.

Sources of each field (PVE 8.4 and 9.1 API):

* ``GET /nodes/{node}/disks/list``: one entry per disk with ``devpath``, ``model``,
  ``serial``, ``type``, ``size``, ``health`` and ``wearout`` from the node's
  smartctl run, and ``used``. Needs Sys.Audit on ``/`` or ``/nodes/{node}``.
* ``GET /cluster/ceph/status``: Ceph's own ``status`` document (health, monitor
  map, manager map, OSD map, PG map). Needs Sys.Audit or Datastore.Audit on ``/``.
* ``GET /cluster/replication``: the job configuration of the whole cluster, and
  ``GET /nodes/{node}/replication``: the state of the jobs whose guest runs on
  that node (``last_sync``, ``next_sync``, ``duration``, ``fail_count``, ``error``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import trio

from pulse_core import (
    CephCluster,
    PhysicalDisk,
    ReplicationJob,
    SourceError,
    SourcePermissionError,
    Storage,
    Usage,
    ceph_cluster_id,
    physical_disk_id,
    replication_job_id,
)

from pulse_pve.normalize import as_bool, as_float, as_int

log = logging.getLogger(__name__)

CEPH_STORAGE_TYPES = frozenset({"rbd", "cephfs"})
DISK_PRIVILEGE = "Sys.Audit"
CEPH_PRIVILEGE = "Sys.Audit"

Fetch = Callable[[str], Awaitable[Any]]
LogOnce = Callable[..., None]


# --- normalization -----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _wearout(value: Any) -> int | None:
    # Proxmox sends a number (or numeric string) for SSDs and NVMe, "N/A" otherwise.
    number = as_int(value)
    if number is None or not 0 <= number <= 100:
        return None
    return number


def disks_from_list(instance: str, node: str, items: Any) -> list[PhysicalDisk]:
    """Normalize ``/nodes/{node}/disks/list``; partitions and entries without a device path are skipped."""
    disks: list[PhysicalDisk] = []
    seen: set[str] = set()
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping) or item.get("parent"):
            continue
        devpath = _text(item.get("devpath"))
        if devpath is None:
            continue
        osd_ids = [osd for osd in (as_int(value) for value in item.get("osdid-list") or ()) if osd is not None and osd >= 0]
        osd = as_int(item.get("osdid"))
        if osd is not None and osd >= 0 and osd not in osd_ids:
            osd_ids.insert(0, osd)
        rpm = as_int(item.get("rpm"))
        serial = _text(item.get("serial"))
        disk_id = physical_disk_id(instance, node, devpath, serial)
        if disk_id in seen:
            # Multipath shows one disk under several device paths with the same serial.
            disk_id = physical_disk_id(instance, node, devpath)
        seen.add(disk_id)
        disks.append(PhysicalDisk(
            id=disk_id,
            node=node,
            instance=instance,
            devpath=devpath,
            model=_text(item.get("model")),
            serial=serial,
            vendor=_text(item.get("vendor")),
            wwn=_text(item.get("wwn")),
            type=(_text(item.get("type")) or "unknown").lower(),
            size=as_int(item.get("size")),
            health=_text(item.get("health")),
            wearout=_wearout(item.get("wearout")),
            used_by=_text(item.get("used")),
            rpm=rpm if rpm is not None and rpm >= 0 else None,
            osd_ids=osd_ids,
        ))
    disks.sort(key=lambda disk: disk.devpath)
    return disks


def _ceph_checks(health: Mapping[str, Any]) -> list[dict[str, Any]]:
    checks = health.get("checks")
    found: list[dict[str, Any]] = []
    if not isinstance(checks, Mapping):
        return found
    for name, check in checks.items():
        if not isinstance(check, Mapping):
            continue
        summary = check.get("summary")
        summary = summary if isinstance(summary, Mapping) else {}
        found.append({
            "name": str(name),
            "severity": _text(check.get("severity")),
            "message": _text(summary.get("message")) or str(name),
            "count": as_int(summary.get("count")),
            "muted": as_bool(check.get("muted")),
        })
    # Errors before warnings, then by name, so the list reads the same on every poll.
    found.sort(key=lambda check: (check["severity"] != "HEALTH_ERR", check["name"]))
    return found


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def ceph_from_status(instance: str, status: Any) -> CephCluster | None:
    """Normalize the Ceph ``status`` document; None when it is not one."""
    if not isinstance(status, Mapping) or not status:
        return None
    health = _mapping(status.get("health"))
    # Ceph before Luminous named the field overall_status.
    state = _text(health.get("status")) or _text(health.get("overall_status"))

    monmap = _mapping(status.get("monmap"))
    mons = monmap.get("mons")
    monitors_total = len(mons) if isinstance(mons, list) else as_int(monmap.get("num_mons"))
    quorum = status.get("quorum_names")
    monitors_in_quorum = len(quorum) if isinstance(quorum, list) else None

    # PVE adds the full "mgr dump" (active_name, standbys); plain "ceph status" has num_standbys.
    mgrmap = _mapping(status.get("mgrmap"))
    managers_up: int | None = None
    if mgrmap:
        standbys = mgrmap.get("standbys")
        standby_count = len(standbys) if isinstance(standbys, list) else as_int(mgrmap.get("num_standbys")) or 0
        managers_up = (1 if as_bool(mgrmap.get("available")) else 0) + standby_count

    # Ceph before Nautilus nested the counts one level deeper (osdmap.osdmap).
    osdmap = _mapping(status.get("osdmap"))
    if "num_osds" not in osdmap and isinstance(osdmap.get("osdmap"), Mapping):
        osdmap = osdmap["osdmap"]

    pgmap = _mapping(status.get("pgmap"))
    pg_states: dict[str, int] = {}
    for entry in pgmap.get("pgs_by_state") or ():
        if isinstance(entry, Mapping) and entry.get("state_name"):
            pg_states[str(entry["state_name"])] = as_int(entry.get("count")) or 0
    total = as_int(pgmap.get("bytes_total"))
    used = as_int(pgmap.get("bytes_used"))
    free = as_int(pgmap.get("bytes_avail"))

    return CephCluster(
        id=ceph_cluster_id(instance),
        instance=instance,
        fsid=_text(status.get("fsid")),
        health=state,
        checks=_ceph_checks(health),
        monitors_total=monitors_total,
        monitors_in_quorum=monitors_in_quorum,
        managers_up=managers_up,
        manager_active=_text(mgrmap.get("active_name")),
        osds_total=as_int(osdmap.get("num_osds")),
        osds_up=as_int(osdmap.get("num_up_osds")),
        osds_in=as_int(osdmap.get("num_in_osds")),
        pools=as_int(pgmap.get("num_pools")),
        usage=Usage(total=total, used=used, free=free),
        data_bytes=as_int(pgmap.get("data_bytes")),
        pgs_total=as_int(pgmap.get("num_pgs")),
        pg_states=pg_states,
    )


def replication_jobs(
    instance: str,
    config: Iterable[Any],
    status_by_node: Mapping[str, Mapping[str, Mapping[str, Any]]],
    stale_nodes: Iterable[str] = (),
    guest_nodes: Mapping[int, str] | None = None,
) -> list[ReplicationJob]:
    """Join the job configuration with each job's state from the node that runs its guest.

    ``status_by_node`` maps a node to its ``/nodes/{node}/replication`` items by
    job id. A job whose node is in ``stale_nodes``, or that no node reported, is
    marked stale. Jobs with a status but no configuration entry (the cluster list
    was unreadable) are still listed from their status.
    """
    stale = set(stale_nodes)
    statuses: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for node, items in status_by_node.items():
        for job_id, item in items.items():
            statuses[job_id] = (node, item)
    entries: dict[str, Mapping[str, Any]] = {}
    for item in config:
        if isinstance(item, Mapping) and _text(item.get("id")):
            entries[str(item["id"]).strip()] = item
    for job_id, (_, item) in statuses.items():
        entries.setdefault(job_id, item)

    jobs: list[ReplicationJob] = []
    for job_id, entry in entries.items():
        guest = as_int(entry.get("guest"))
        if guest is None:
            guest = as_int(job_id.partition("-")[0])
        if guest is None:
            continue
        node, state = statuses.get(job_id, (None, {}))
        source = node or _text(entry.get("source")) or (guest_nodes or {}).get(guest)
        error = _text(state.get("error"))
        jobs.append(ReplicationJob(
            id=replication_job_id(instance, job_id),
            job_id=job_id,
            instance=instance,
            guest=guest,
            guest_type=_text(state.get("vmtype")),
            source=source,
            target=_text(entry.get("target")) or _text(state.get("target")) or "",
            schedule=_text(entry.get("schedule")) or "*/15",
            disabled=as_bool(entry.get("disable")),
            comment=_text(entry.get("comment")),
            last_sync=as_int(state.get("last_sync")) or None,
            last_try=as_int(state.get("last_try")) or None,
            next_sync=as_int(state.get("next_sync")) or None,
            duration=as_float(state.get("duration")),
            fail_count=as_int(state.get("fail_count")) or 0,
            error=error,
            stale=node is None or node in stale,
        ))
    jobs.sort(key=lambda job: (job.guest, job.job_id))
    return jobs


# --- fetching ----------------------------------------------------------------------------------


class HealthCollector:
    """Fetch disks, Ceph and replication on the slow cadence and keep the last good lists.

    ``fetch`` performs one GET through the source's active endpoint and its
    concurrency limit. A failed fetch keeps what was read before, marked stale.
    A node whose disks are denied (HTTP 403) is listed in ``unavailable`` with
    the missing privilege until a later read succeeds.
    """

    def __init__(
        self, instance: str, fetch: Fetch, log_once: LogOnce, missing_privileges: dict[str, str]
    ) -> None:
        self.instance = instance
        self._fetch = fetch
        self._log_once = log_once
        self._missing = missing_privileges
        self.disks_by_node: dict[str, list[PhysicalDisk]] = {}
        # Node name -> why its disks are unavailable (a missing privilege).
        self.unavailable: dict[str, str] = {}
        self._replication_config: list[Any] = []
        self._replication_status: dict[str, dict[str, Mapping[str, Any]]] = {}
        self._replication_stale: set[str] = set()
        self.ceph: CephCluster | None = None
        self._ceph_present = False

    async def refresh(self, online: list[str], storages: list[Storage]) -> None:
        """Read every node's disks and replication state, the job configuration and, where present, Ceph."""
        async with trio.open_nursery() as nursery:
            for node in online:
                nursery.start_soon(self._disks, node)
                nursery.start_soon(self._node_replication, node)
            nursery.start_soon(self._replication_config_list)
        uses_ceph = any(entry.type in CEPH_STORAGE_TYPES for entry in storages) or any(
            disk.osd_ids or (disk.used_by or "").lower().startswith("ceph")
            for disks in self.disks_by_node.values() for disk in disks
        )
        if uses_ceph:
            await self._ceph()
        else:
            self.ceph = None

    async def _disks(self, node: str) -> None:
        try:
            items = await self._fetch(f"/nodes/{node}/disks/list")
        except SourcePermissionError as exc:
            self.unavailable[node] = f"missing {DISK_PRIVILEGE} on /nodes/{node}"
            self._missing.setdefault(DISK_PRIVILEGE, "physical disks and SMART health")
            self.disks_by_node.pop(node, None)
            self._log_once(
                f"disks-perm:{node}", logging.WARNING,
                "%s: physical disks of node %s are unavailable (missing %s on /nodes/%s): %s",
                self.instance, node, DISK_PRIVILEGE, node, exc,
            )
            return
        except SourceError as exc:
            self._log_once(f"disks:{node}", logging.INFO, "%s: disks of %s unavailable: %s", self.instance, node, exc)
            self._mark_disks_stale(node)
            return
        self.unavailable.pop(node, None)
        self.disks_by_node[node] = disks_from_list(self.instance, node, items)

    def _mark_disks_stale(self, node: str) -> None:
        for disk in self.disks_by_node.get(node, ()):
            disk.stale = True

    async def _node_replication(self, node: str) -> None:
        try:
            items = await self._fetch(f"/nodes/{node}/replication")
        except SourceError as exc:
            self._log_once(
                f"replication:{node}", logging.INFO, "%s: replication state of %s unavailable: %s", self.instance, node, exc,
            )
            self._replication_stale.add(node)
            return
        self._replication_stale.discard(node)
        found: dict[str, Mapping[str, Any]] = {}
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Mapping) and _text(item.get("id")):
                found[str(item["id"]).strip()] = item
        self._replication_status[node] = found

    async def _replication_config_list(self) -> None:
        try:
            items = await self._fetch("/cluster/replication")
        except SourceError as exc:
            self._log_once("replication-config", logging.INFO, "%s: replication jobs unavailable: %s", self.instance, exc)
            return
        self._replication_config = list(items) if isinstance(items, list) else []

    async def _ceph(self) -> None:
        try:
            status = await self._fetch("/cluster/ceph/status")
        except SourcePermissionError as exc:
            self._missing.setdefault(CEPH_PRIVILEGE, "Ceph cluster status")
            self._log_once("ceph-perm", logging.WARNING, "%s: Ceph status unavailable: %s", self.instance, exc)
            self.ceph = None
            return
        except SourceError as exc:
            # PVE returns 500 "binary not installed" where Ceph storage is
            # configured but this cluster does not run Ceph itself (external Ceph).
            self._log_once("ceph", logging.INFO, "%s: Ceph status unavailable: %s", self.instance, exc)
            if self.ceph is not None:
                self.ceph.stale = True
            return
        self.ceph = ceph_from_status(self.instance, status)

    def forget_nodes(self, present: Iterable[str]) -> None:
        """Drop the disks and replication state of nodes that left the cluster."""
        keep = set(present)
        self.disks_by_node = {node: disks for node, disks in self.disks_by_node.items() if node in keep}
        self.unavailable = {node: reason for node, reason in self.unavailable.items() if node in keep}
        self._replication_status = {
            node: items for node, items in self._replication_status.items() if node in keep
        }
        self._replication_stale &= keep

    def collected(
        self, offline: Iterable[str], guest_nodes: Mapping[int, str]
    ) -> tuple[list[PhysicalDisk], list[CephCluster], list[ReplicationJob]]:
        """Return the current lists; the disks and jobs of ``offline`` nodes are marked stale."""
        offline = set(offline)
        disks: list[PhysicalDisk] = []
        for node in sorted(self.disks_by_node):
            for disk in self.disks_by_node[node]:
                if node in offline:
                    disk.stale = True
                disks.append(disk)
        jobs = replication_jobs(
            self.instance, self._replication_config, self._replication_status,
            stale_nodes=offline | self._replication_stale, guest_nodes=guest_nodes,
        )
        return disks, [self.ceph] if self.ceph is not None else [], jobs

    def warnings(self) -> list[str]:
        """Return one line per node whose disks cannot be read for lack of a privilege."""
        return [
            f"node {node}: physical disks unavailable ({reason})" for node, reason in sorted(self.unavailable.items())
        ]
