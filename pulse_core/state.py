"""The merged state of every source, with stable ids and one cached serialization per poll.

Sources hand their ``PollResult`` to ``State.apply``. The state keeps, per
configured connection (``instance``), the latest list of each resource kind;
lists a poll did not refresh stay as they were. After each apply the API
document is serialized once (orjson) and served from that cache by the REST
API and the WebSocket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pulse_core.model import (
    Alert,
    BackupTask,
    CephCluster,
    ConnectionHealth,
    Datastore,
    Guest,
    GuestSnapshot,
    Node,
    PBSBackup,
    PBSInstance,
    PhysicalDisk,
    PollResult,
    ReplicationJob,
    Sample,
    Storage,
    StorageBackup,
    Usage,
)

log = logging.getLogger(__name__)

_LIST_KINDS = (
    "nodes", "guests", "storage", "pbs", "backup_tasks", "storage_backups", "guest_snapshots", "pbs_backups",
    "physical_disks", "ceph_clusters", "replication_jobs",
)


@dataclass(slots=True)
class InstanceState:
    nodes: list[Node] = field(default_factory=list)
    guests: list[Guest] = field(default_factory=list)
    storage: list[Storage] = field(default_factory=list)
    pbs: list[PBSInstance] = field(default_factory=list)
    backup_tasks: list[BackupTask] = field(default_factory=list)
    storage_backups: list[StorageBackup] = field(default_factory=list)
    guest_snapshots: list[GuestSnapshot] = field(default_factory=list)
    pbs_backups: list[PBSBackup] = field(default_factory=list)
    physical_disks: list[PhysicalDisk] = field(default_factory=list)
    ceph_clusters: list[CephCluster] = field(default_factory=list)
    replication_jobs: list[ReplicationJob] = field(default_factory=list)
    health: ConnectionHealth | None = None
    last_update: float | None = None


def usage_to_api(usage: Usage) -> dict[str, Any]:
    percent = usage.percent
    return {
        "total": usage.total,
        "used": usage.used,
        "free": usage.free if usage.free is not None else (
            usage.total - usage.used if usage.total is not None and usage.used is not None else None
        ),
        "usage": round(percent, 2) if percent is not None else None,
        "unknownReason": usage.unknown_reason,
    }


def node_to_api(node: Node) -> dict[str, Any]:
    return {
        "id": node.id,
        "name": node.name,
        "instance": node.instance,
        "host": node.host,
        "status": node.status,
        "type": "node",
        "cpu": node.cpu,
        "cpus": node.cpus,
        "memory": usage_to_api(node.memory),
        "swap": usage_to_api(node.swap),
        "disk": usage_to_api(node.disk),
        "uptime": node.uptime,
        "loadAverage": list(node.loadavg) if node.loadavg else None,
        "pveVersion": node.pve_version,
        "kernelVersion": node.kernel,
        "cpuModel": node.cpu_model,
        "clusterName": node.cluster_name,
        "isClusterMember": node.is_cluster_member,
        "connectionHealth": node.connection_health,
        "stale": node.stale,
        "lastSeen": node.last_seen,
    }


def guest_to_api(guest: Guest) -> dict[str, Any]:
    return {
        "id": guest.id,
        "vmid": guest.vmid,
        "name": guest.name,
        "node": guest.node,
        "instance": guest.instance,
        "type": guest.type,
        "status": guest.status,
        "template": guest.template,
        "cpu": guest.cpu,
        "cpus": guest.cpus,
        "memory": usage_to_api(guest.memory),
        "balloon": guest.balloon,
        "disk": usage_to_api(guest.disk),
        "networkIn": guest.net_in,
        "networkOut": guest.net_out,
        "diskRead": guest.disk_read,
        "diskWrite": guest.disk_write,
        "uptime": guest.uptime,
        "tags": guest.tags,
        "lock": guest.lock,
        "haState": guest.ha_state,
        "pool": guest.pool,
        "agentEnabled": guest.agent_enabled,
        "agentStatus": guest.agent_status,
        "osName": guest.os_name,
        "ipAddresses": guest.ip_addresses,
        "filesystems": [
            {"mountpoint": fs.mountpoint, "type": fs.fstype, "total": fs.total, "used": fs.used, "device": fs.device}
            for fs in guest.filesystems
        ],
        "stale": guest.stale,
        "staleFields": guest.stale_fields,
        "lastSeen": guest.last_seen,
    }


def storage_to_api(storage: Storage) -> dict[str, Any]:
    usage = usage_to_api(storage.usage)
    return {
        "id": storage.id,
        "name": storage.name,
        "node": storage.node,
        "instance": storage.instance,
        "type": storage.type,
        "content": ",".join(storage.content),
        "shared": storage.shared,
        "enabled": storage.enabled,
        "active": storage.active,
        "status": storage.status,
        "total": usage["total"],
        "used": usage["used"],
        "free": usage["free"],
        "usage": usage["usage"],
        "stale": storage.stale,
    }


def datastore_to_api(store: Datastore) -> dict[str, Any]:
    usage = usage_to_api(store.usage)
    return {
        "id": store.id,
        "name": store.name,
        "instance": store.instance,
        "status": store.status,
        "total": usage["total"],
        "used": usage["used"],
        "free": usage["free"],
        "usage": usage["usage"],
        "deduplicationFactor": store.dedup_factor,
        "estimatedFull": store.estimated_full,
        "gcStatus": store.gc_status,
        "gcLastRun": store.gc_last_run,
        "namespaces": store.namespaces,
        "removable": store.removable,
        "error": store.error,
        "stale": store.stale,
        "comment": store.comment,
        "mountStatus": store.mount_status,
        "backendType": store.backend_type,
        "maintenance": store.maintenance,
        "groupCount": store.group_count,
        "snapshotCount": store.snapshot_count,
    }


def pbs_to_api(pbs: PBSInstance) -> dict[str, Any]:
    return {
        "id": pbs.id,
        "name": pbs.name,
        "host": pbs.host,
        "status": pbs.status,
        "version": pbs.version,
        "cpu": pbs.cpu,
        "memory": usage_to_api(pbs.memory),
        "disk": usage_to_api(pbs.disk),
        "uptime": pbs.uptime,
        "loadAverage": list(pbs.loadavg) if pbs.loadavg else None,
        "datastores": [datastore_to_api(store) for store in pbs.datastores],
        "jobs": [
            {"id": job.id, "type": job.kind, "store": job.store, "lastRun": job.last_run,
             "lastResult": job.last_result, "nextRun": job.next_run, "schedule": job.schedule,
             "lastUpid": job.last_upid}
            for job in pbs.jobs
        ],
        "warnings": pbs.warnings,
        "connectionHealth": pbs.connection_health,
        "stale": pbs.stale,
        "failedTasks": [
            {"upid": task.upid, "type": task.worker_type, "workerId": task.worker_id, "user": task.user,
             "startTime": task.start_time, "endTime": task.end_time, "status": task.status, "store": task.store}
            for task in pbs.failed_tasks
        ],
    }


def backup_task_to_api(task: BackupTask) -> dict[str, Any]:
    return {
        "id": task.id, "upid": task.upid, "node": task.node, "instance": task.instance, "vmid": task.vmid,
        "status": task.status, "startTime": task.start_time, "endTime": task.end_time, "size": task.size,
        "error": task.error,
    }


def storage_backup_to_api(backup: StorageBackup) -> dict[str, Any]:
    return {
        "id": backup.id, "volid": backup.volid, "storage": backup.storage, "node": backup.node,
        "instance": backup.instance, "vmid": backup.vmid, "type": backup.guest_type, "ctime": backup.ctime,
        "size": backup.size, "format": backup.format, "notes": backup.notes, "protected": backup.protected,
        "verification": backup.verification, "isPBS": backup.is_pbs,
    }


def snapshot_to_api(snapshot: GuestSnapshot) -> dict[str, Any]:
    return {
        "id": snapshot.id, "name": snapshot.name, "vmid": snapshot.vmid, "type": snapshot.guest_type,
        "node": snapshot.node, "instance": snapshot.instance, "time": snapshot.snaptime,
        "description": snapshot.description, "vmstate": snapshot.vmstate, "parent": snapshot.parent,
    }


def pbs_backup_to_api(backup: PBSBackup) -> dict[str, Any]:
    return {
        "id": backup.id, "instance": backup.instance, "datastore": backup.datastore,
        "namespace": backup.namespace, "backupType": backup.backup_type, "vmid": backup.backup_id,
        "backupTime": backup.backup_time, "size": backup.size, "protected": backup.protected,
        "comment": backup.comment, "verification": backup.verification, "encrypted": backup.encrypted,
        "owner": backup.owner, "files": backup.files, "cryptMode": backup.crypt_mode,
    }


def physical_disk_to_api(disk: PhysicalDisk) -> dict[str, Any]:
    return {
        "id": disk.id, "node": disk.node, "instance": disk.instance, "devPath": disk.devpath,
        "model": disk.model, "serial": disk.serial, "vendor": disk.vendor, "wwn": disk.wwn, "type": disk.type,
        "size": disk.size, "health": disk.health, "failed": disk.failed, "wearout": disk.wearout,
        "usedBy": disk.used_by, "rpm": disk.rpm, "osdIds": disk.osd_ids, "stale": disk.stale,
    }


def ceph_cluster_to_api(ceph: CephCluster) -> dict[str, Any]:
    usage = usage_to_api(ceph.usage)
    return {
        "id": ceph.id, "instance": ceph.instance, "fsid": ceph.fsid, "health": ceph.health,
        "checks": ceph.checks,
        "monitors": {"total": ceph.monitors_total, "inQuorum": ceph.monitors_in_quorum},
        "managers": {"up": ceph.managers_up, "active": ceph.manager_active},
        "osds": {"total": ceph.osds_total, "up": ceph.osds_up, "in": ceph.osds_in},
        "pools": ceph.pools,
        "total": usage["total"], "used": usage["used"], "free": usage["free"], "usage": usage["usage"],
        "dataBytes": ceph.data_bytes,
        "placementGroups": {"total": ceph.pgs_total, "states": ceph.pg_states},
        "stale": ceph.stale,
    }


def replication_job_to_api(job: ReplicationJob) -> dict[str, Any]:
    return {
        "id": job.id, "jobId": job.job_id, "instance": job.instance, "guest": job.guest, "guestType": job.guest_type,
        "source": job.source, "target": job.target, "schedule": job.schedule, "disabled": job.disabled,
        "comment": job.comment, "lastSync": job.last_sync, "lastTry": job.last_try, "nextSync": job.next_sync,
        "duration": job.duration, "failCount": job.fail_count, "error": job.error, "stale": job.stale,
    }


def health_to_api(health: ConnectionHealth) -> dict[str, Any]:
    return {
        "instance": health.instance, "healthy": health.healthy, "status": health.status,
        "message": health.message, "lastSuccess": health.last_success, "lastError": health.last_error,
        "consecutiveFailures": health.consecutive_failures, "warnings": health.warnings,
    }


def alert_to_api(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id, "type": alert.type, "level": alert.level, "resourceId": alert.resource_id,
        "resourceName": alert.resource_name, "resourceType": alert.resource_type, "node": alert.node,
        "instance": alert.instance, "message": alert.message, "value": alert.value,
        "threshold": alert.threshold, "startTime": alert.start_time, "lastSeen": alert.last_seen,
        "acknowledged": alert.acknowledged, "ackUser": alert.ack_user, "ackTime": alert.ack_time,
        "resolvedTime": alert.resolved_time, "metadata": alert.metadata,
    }


# Metrics the core derives from every guest and node; stored by the storage backend.
GUEST_METRICS = ("cpu", "memory", "disk", "netin", "netout", "diskread", "diskwrite")


def derive_samples(result: PollResult, now: float) -> list[Sample]:
    """Turn the resources in one poll into history samples (percent for usage, bytes/s for rates)."""
    samples: list[Sample] = list(result.samples)
    add = samples.append
    for node in result.nodes or ():
        if node.status != "online" or node.stale:
            continue
        if node.cpu is not None:
            add(Sample(node.id, "cpu", now, node.cpu * 100.0))
        if (pct := node.memory.percent) is not None:
            add(Sample(node.id, "memory", now, pct))
        if (pct := node.disk.percent) is not None:
            add(Sample(node.id, "disk", now, pct))
    for guest in result.guests or ():
        if guest.stale or guest.template or guest.status != "running":
            continue
        if guest.cpu is not None:
            add(Sample(guest.id, "cpu", now, guest.cpu * 100.0))
        if (pct := guest.memory.percent) is not None:
            add(Sample(guest.id, "memory", now, pct))
        if (pct := guest.disk.percent) is not None:
            add(Sample(guest.id, "disk", now, pct))
        for metric, value in (
            ("netin", guest.net_in), ("netout", guest.net_out),
            ("diskread", guest.disk_read), ("diskwrite", guest.disk_write),
        ):
            if value is not None:
                add(Sample(guest.id, metric, now, value))
    for storage in result.storage or ():
        if (pct := storage.usage.percent) is not None and not storage.stale:
            add(Sample(storage.id, "usage", now, pct))
    for pbs in result.pbs or ():
        for store in pbs.datastores:
            if (pct := store.usage.percent) is not None and not store.stale:
                add(Sample(store.id, "usage", now, pct))
    return samples


class State:
    """The merged state of all sources; the single place the API reads from."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.instances: dict[str, InstanceState] = {}
        self.active_alerts: list[Alert] = []
        self.version = 0
        self._cached: bytes | None = None
        self._cached_version = -1
        self.started = clock()
        self.extra_stats: dict[str, Any] = {}

    # --- updates --------------------------------------------------------------------------

    def apply(self, result: PollResult) -> None:
        """Merge one poll; lists the poll did not refresh keep their previous content."""
        current = self.instances.setdefault(result.instance, InstanceState())
        if result.visibility_lost:
            self._mark_stale(current)
        else:
            for kind in _LIST_KINDS:
                value = getattr(result, kind)
                if value is not None:
                    setattr(current, kind, value)
        current.last_update = self._clock()
        self._changed()

    def set_health(self, health: ConnectionHealth) -> None:
        self.instances.setdefault(health.instance, InstanceState()).health = health
        self._changed()

    def mark_instance_failed(self, instance: str) -> None:
        """Keep the last good lists of a connection whose poll failed, marked stale."""
        current = self.instances.get(instance)
        if current is not None:
            self._mark_stale(current)
            self._changed()

    def remove_instance(self, instance: str) -> None:
        if self.instances.pop(instance, None) is not None:
            self._changed()

    def set_active_alerts(self, alerts: list[Alert]) -> None:
        self.active_alerts = list(alerts)
        self._changed()

    @staticmethod
    def _mark_stale(current: InstanceState) -> None:
        for node in current.nodes:
            node.stale = True
        for guest in current.guests:
            guest.stale = True
        for storage in current.storage:
            storage.stale = True
        for pbs in current.pbs:
            pbs.stale = True
            for store in pbs.datastores:
                store.stale = True
        for item in (*current.physical_disks, *current.ceph_clusters, *current.replication_jobs):
            item.stale = True

    def _changed(self) -> None:
        self.version += 1

    # --- reading --------------------------------------------------------------------------

    def all(self, kind: str) -> list[Any]:
        items: list[Any] = []
        for instance in self.instances.values():
            items.extend(getattr(instance, kind))
        return items

    def find_guest(self, resource_id: str) -> Guest | None:
        for guest in self.all("guests"):
            if guest.id == resource_id:
                return guest
        return None

    def to_api(self) -> dict[str, Any]:
        guests = self.all("guests")
        nodes = self.all("nodes")
        pve_backups = {
            "backupTasks": [backup_task_to_api(task) for task in self.all("backup_tasks")],
            "storageBackups": [storage_backup_to_api(item) for item in self.all("storage_backups")],
            "guestSnapshots": [snapshot_to_api(item) for item in self.all("guest_snapshots")],
        }
        health = {
            name: health_to_api(inst.health) for name, inst in self.instances.items() if inst.health is not None
        }
        return {
            "nodes": [node_to_api(node) for node in nodes],
            "vms": [guest_to_api(guest) for guest in guests if guest.type == "qemu"],
            "containers": [guest_to_api(guest) for guest in guests if guest.type == "lxc"],
            "storage": [storage_to_api(storage) for storage in self.all("storage")],
            "pbs": [pbs_to_api(pbs) for pbs in self.all("pbs")],
            "pveBackups": pve_backups,
            "pbsBackups": [pbs_backup_to_api(item) for item in self.all("pbs_backups")],
            "physicalDisks": [physical_disk_to_api(disk) for disk in self.all("physical_disks")],
            "cephClusters": [ceph_cluster_to_api(ceph) for ceph in self.all("ceph_clusters")],
            "replicationJobs": [replication_job_to_api(job) for job in self.all("replication_jobs")],
            "activeAlerts": [alert_to_api(alert) for alert in self.active_alerts],
            "connectionHealth": health,
            "stats": {
                "startTime": self.started,
                "uptime": self._clock() - self.started,
                "version": self.version,
                "nodes": len(nodes),
                "guests": len(guests),
                **self.extra_stats,
            },
            "lastUpdate": max(
                (inst.last_update for inst in self.instances.values() if inst.last_update), default=None
            ),
        }

    def serialized(self) -> bytes:
        """Return the API document as JSON bytes, serialized at most once per state version."""
        if self._cached is None or self._cached_version != self.version:
            self._cached = orjson.dumps(self.to_api())
            self._cached_version = self.version
        return self._cached
