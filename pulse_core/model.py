"""Resource types that source plugins produce and the rest of Pulse consumes.

Units are fixed here, once, so every consumer reads the same thing:

* CPU is a fraction of the resource's CPUs, 0.0 to 1.0, as Proxmox reports it.
* Sizes are bytes; rates are bytes per second; times are epoch seconds (UTC).
* ``None`` means the source could not tell the value. It is never replaced by 0,
  and ``unknown_reason`` on the enclosing object gives the reason, for the UI.

Identifiers are stable across poll order, guest migration between nodes and
display-name changes: see the ``*_id`` helpers at the end of this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

NodeStatus = Literal["online", "offline", "unknown"]
GuestType = Literal["qemu", "lxc"]
ResourceKind = Literal["node", "guest", "storage", "pbs", "datastore"]


@dataclass(slots=True)
class Usage:
    """Used and total size of memory, a disk or a storage, in bytes."""

    total: int | None = None
    used: int | None = None
    free: int | None = None
    # Why ``used`` is None (for example "no guest agent"); None when known.
    unknown_reason: str | None = None

    @property
    def percent(self) -> float | None:
        """Usage in percent (0-100), or None when either side is unknown or total is 0."""
        if self.used is None or not self.total:
            return None
        return self.used * 100.0 / self.total


@dataclass(slots=True)
class Node:
    """A Proxmox VE node as seen through one configured connection."""

    id: str
    name: str
    instance: str
    status: NodeStatus = "unknown"
    host: str = ""
    cpu: float | None = None
    cpus: int | None = None
    memory: Usage = field(default_factory=Usage)
    swap: Usage = field(default_factory=Usage)
    disk: Usage = field(default_factory=Usage)
    uptime: int | None = None
    loadavg: tuple[float, float, float] | None = None
    pve_version: str | None = None
    kernel: str | None = None
    cpu_model: str | None = None
    cluster_name: str | None = None
    is_cluster_member: bool = False
    # True when the values come from an earlier poll because this one failed.
    stale: bool = False
    last_seen: float | None = None
    connection_health: str = "unknown"


@dataclass(slots=True)
class GuestFilesystem:
    mountpoint: str
    fstype: str
    total: int
    used: int
    device: str | None = None


@dataclass(slots=True)
class Guest:
    """A VM (``qemu``) or container (``lxc``)."""

    id: str
    vmid: int
    name: str
    node: str
    instance: str
    type: GuestType
    status: str = "unknown"
    template: bool = False
    cpu: float | None = None
    cpus: float | None = None
    memory: Usage = field(default_factory=Usage)
    balloon: int | None = None
    disk: Usage = field(default_factory=Usage)
    net_in: float | None = None
    net_out: float | None = None
    disk_read: float | None = None
    disk_write: float | None = None
    uptime: int | None = None
    tags: list[str] = field(default_factory=list)
    lock: str | None = None
    ha_state: str | None = None
    pool: str | None = None
    agent_enabled: bool | None = None
    agent_status: str | None = None
    os_name: str | None = None
    ip_addresses: list[str] = field(default_factory=list)
    filesystems: list[GuestFilesystem] = field(default_factory=list)
    stale: bool = False
    # Fields whose detail call (status/current, guest agent) failed last time.
    stale_fields: list[str] = field(default_factory=list)
    last_seen: float | None = None


@dataclass(slots=True)
class Storage:
    """A storage as reported by one node (shared storage appears once per node)."""

    id: str
    name: str
    node: str
    instance: str
    type: str = ""
    content: list[str] = field(default_factory=list)
    shared: bool = False
    enabled: bool = True
    active: bool = True
    status: str = "unknown"
    usage: Usage = field(default_factory=Usage)
    stale: bool = False
    # For type "pbs": the PBS host, datastore and namespace from the storage
    # configuration (/storage), which tie PBS backups to the cluster writing them.
    pbs_server: str | None = None
    pbs_datastore: str | None = None
    pbs_namespace: str | None = None


@dataclass(slots=True)
class Datastore:
    """A Proxmox Backup Server datastore."""

    id: str
    name: str
    instance: str
    status: str = "unknown"
    usage: Usage = field(default_factory=Usage)
    dedup_factor: float | None = None
    estimated_full: int | None = None
    gc_status: str | None = None
    gc_last_run: int | None = None
    namespaces: list[str] = field(default_factory=list)
    removable: bool = False
    error: str | None = None
    stale: bool = False
    comment: str | None = None
    # "nonremovable", "mounted" or "notmounted" (PBS 3.3 and later).
    mount_status: str | None = None
    # "filesystem" or "s3" (PBS 4).
    backend_type: str | None = None
    # Maintenance mode as PBS reports it, e.g. "offline" or "read-only,message=disk swap".
    maintenance: str | None = None
    # Backup groups and snapshots over all namespaces; None until they were listed.
    group_count: int | None = None
    snapshot_count: int | None = None


@dataclass(slots=True)
class PBSJob:
    id: str
    kind: Literal["sync", "verify", "prune", "gc"]
    store: str
    last_run: int | None = None
    last_result: str | None = None
    next_run: int | None = None
    schedule: str | None = None
    last_upid: str | None = None


@dataclass(slots=True)
class PBSTask:
    """A finished task of a Proxmox Backup Server (for example a failed backup or verification)."""

    upid: str
    worker_type: str
    worker_id: str | None
    user: str
    start_time: int
    end_time: int | None = None
    # "OK", "WARNINGS: n" or the error text; None while running.
    status: str | None = None
    # The datastore the task worked on, when its worker id names one.
    store: str | None = None


@dataclass(slots=True)
class PBSInstance:
    """A Proxmox Backup Server and its datastores."""

    id: str
    name: str
    host: str
    status: NodeStatus = "unknown"
    version: str | None = None
    cpu: float | None = None
    memory: Usage = field(default_factory=Usage)
    disk: Usage = field(default_factory=Usage)
    uptime: int | None = None
    loadavg: tuple[float, float, float] | None = None
    datastores: list[Datastore] = field(default_factory=list)
    jobs: list[PBSJob] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    connection_health: str = "unknown"
    stale: bool = False
    # Failed tasks within the source's task window, newest first.
    failed_tasks: list[PBSTask] = field(default_factory=list)


@dataclass(slots=True)
class BackupTask:
    """A vzdump task; a multi-guest job yields one entry per guest."""

    id: str
    upid: str
    node: str
    instance: str
    vmid: int | None
    status: str
    start_time: int
    end_time: int | None = None
    size: int | None = None
    error: str | None = None


@dataclass(slots=True)
class StorageBackup:
    """A backup file on a PVE storage (``content=backup``)."""

    id: str
    volid: str
    storage: str
    node: str
    instance: str
    vmid: int | None
    guest_type: str | None
    ctime: int
    size: int | None = None
    format: str | None = None
    notes: str | None = None
    protected: bool = False
    verification: str | None = None
    is_pbs: bool = False


@dataclass(slots=True)
class GuestSnapshot:
    id: str
    name: str
    vmid: int
    guest_type: GuestType
    node: str
    instance: str
    snaptime: int | None = None
    description: str = ""
    vmstate: bool = False
    parent: str | None = None


@dataclass(slots=True)
class PBSBackup:
    """One snapshot in a PBS datastore."""

    id: str
    instance: str
    datastore: str
    namespace: str
    backup_type: Literal["vm", "ct", "host"]
    backup_id: str
    backup_time: int
    size: int | None = None
    protected: bool = False
    comment: str | None = None
    verification: Literal["ok", "failed", "none"] = "none"
    encrypted: bool = False
    owner: str | None = None
    files: list[str] = field(default_factory=list)
    # "encrypt", "sign-only" or "none" over the snapshot's files; None when the manifest was unreadable.
    crypt_mode: str | None = None


@dataclass(slots=True)
class PhysicalDisk:
    """A physical disk of a PVE node, from ``/nodes/{node}/disks/list``."""

    id: str
    node: str
    instance: str
    devpath: str
    model: str | None = None
    serial: str | None = None
    vendor: str | None = None
    wwn: str | None = None
    # "hdd", "ssd", "nvme", "usb" or "unknown", as Proxmox reports it.
    type: str = "unknown"
    size: int | None = None
    # SMART health in Proxmox's words: "PASSED" (ATA), "OK" (SCSI), "UNKNOWN", or
    # smartctl's failure text such as "FAILED"; None when not reported.
    health: str | None = None
    # Percent of rated life left (100 = new) for SSDs and NVMe; None where
    # Proxmox reports "N/A" (hard disks, or no wear attribute in SMART).
    # NOTE: no recorded /disks/list response was at hand to confirm that
    # Proxmox reports life left rather than life used.
    wearout: int | None = None
    # What uses the disk, as Proxmox reports it: "LVM", "ZFS", "ceph osd", "mounted", ...
    used_by: str | None = None
    rpm: int | None = None
    osd_ids: list[int] = field(default_factory=list)
    # True when the values come from an earlier poll because this one could not read the node's disks.
    stale: bool = False

    @property
    def failed(self) -> bool | None:
        """Whether SMART reports the disk as failing; None when health is unknown."""
        return disk_health_failed(self.health)


@dataclass(slots=True)
class CephCluster:
    """Status of the Ceph cluster a PVE cluster runs (``/cluster/ceph/status``)."""

    id: str
    instance: str
    fsid: str | None = None
    # "HEALTH_OK", "HEALTH_WARN" or "HEALTH_ERR"; None when the status had no health.
    health: str | None = None
    # One entry per active health check: {"name", "severity", "message", "count", "muted"}.
    checks: list[dict[str, Any]] = field(default_factory=list)
    monitors_total: int | None = None
    monitors_in_quorum: int | None = None
    # The active manager counts as up, and so does every standby.
    managers_up: int | None = None
    manager_active: str | None = None
    osds_total: int | None = None
    osds_up: int | None = None
    osds_in: int | None = None
    pools: int | None = None
    # Raw capacity over all OSDs (bytes_total/bytes_used/bytes_avail of the PG map).
    usage: Usage = field(default_factory=Usage)
    # Logical bytes stored in the pools, before replication.
    data_bytes: int | None = None
    pgs_total: int | None = None
    # Placement groups per state name, e.g. {"active+clean": 128, "active+degraded": 1}.
    pg_states: dict[str, int] = field(default_factory=dict)
    stale: bool = False


@dataclass(slots=True)
class ReplicationJob:
    """A storage replication job (``/cluster/replication``) with its state from the source node."""

    id: str
    job_id: str
    instance: str
    guest: int
    # "qemu" or "lxc" from the job's state; None until the source node returned it.
    guest_type: str | None = None
    source: str | None = None
    target: str = ""
    schedule: str = "*/15"
    disabled: bool = False
    comment: str | None = None
    last_sync: int | None = None
    last_try: int | None = None
    next_sync: int | None = None
    # Seconds the last run took.
    duration: float | None = None
    fail_count: int = 0
    error: str | None = None
    # True when no status could be read (source node offline, or the call failed).
    stale: bool = False


@dataclass(slots=True)
class Sample:
    """One metric value of one resource at one time."""

    resource_id: str
    metric: str
    ts: float
    value: float


@dataclass(slots=True)
class ConnectionHealth:
    """Outcome of the last poll of one configured connection."""

    instance: str
    healthy: bool
    # Short stable label: ok, auth, permission, tls, connect, response, partial.
    status: str = "ok"
    message: str = ""
    last_success: float | None = None
    last_error: float | None = None
    consecutive_failures: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PollResult:
    """Result of one poll of one source.

    A list left as ``None`` was not refreshed in this cycle (slow cadence); the
    core keeps the previous one. An empty list means "refreshed, and empty".
    """

    instance: str
    nodes: list[Node] | None = None
    guests: list[Guest] | None = None
    storage: list[Storage] | None = None
    pbs: list[PBSInstance] | None = None
    backup_tasks: list[BackupTask] | None = None
    storage_backups: list[StorageBackup] | None = None
    guest_snapshots: list[GuestSnapshot] | None = None
    pbs_backups: list[PBSBackup] | None = None
    physical_disks: list[PhysicalDisk] | None = None
    ceph_clusters: list[CephCluster] | None = None
    replication_jobs: list[ReplicationJob] | None = None
    # Extra samples beyond those the core derives from the resources above.
    samples: list[Sample] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Set when the source lost sight of everything at once (for example the
    # token's permissions were revoked): the core keeps the last lists as stale.
    visibility_lost: bool = False


@dataclass(slots=True)
class ConnectionReport:
    """Result of testing a connection before saving it."""

    ok: bool
    message: str
    reachable: bool = False
    authenticated: bool = False
    fingerprint: str | None = None
    version: str | None = None
    cluster_name: str | None = None
    members: list[str] = field(default_factory=list)
    # Each missing privilege with what it disables, e.g.
    # {"privilege": "VM.GuestAgent.Audit", "disables": "VM disk usage"}.
    missing_privileges: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lower-case ``text`` and replace runs of other characters with one hyphen."""
    slug = _SLUG_RE.sub("-", text.lower()).strip("-")
    return slug or "instance"


def node_id(instance: str, node: str) -> str:
    return f"{instance}-{node}"


def guest_id(instance: str, vmid: int) -> str:
    # The vmid is unique within a cluster and kept across migration, so the
    # node is deliberately not part of the id.
    return f"{instance}-{vmid}"


def storage_id(instance: str, node: str, storage: str) -> str:
    return f"{instance}-{node}-{storage}"


def datastore_id(instance: str, store: str) -> str:
    return f"{instance}-{store}"


def physical_disk_id(instance: str, node: str, devpath: str, serial: str | None = None) -> str:
    """Return a disk's id, from its serial number when known, else from its device path.

    The serial comes first because Linux may rename devices after a reboot (sda and sdb swapped).
    """
    if serial and serial.strip():
        return f"{instance}-{node}-disk-{slugify(serial)}"
    # "/dev/nvme0n1" -> "nvme0n1"; deeper paths such as "/dev/cciss/c0d0" keep their parts.
    device = devpath.removeprefix("/dev/").strip("/").replace("/", "-")
    return f"{instance}-{node}-disk-{device}"


def ceph_cluster_id(instance: str) -> str:
    # A PVE cluster runs at most one Ceph cluster, so the connection names it.
    return f"{instance}-ceph"


def replication_job_id(instance: str, job: str) -> str:
    # Job ids ("<vmid>-<n>") are unique in a cluster and stay when the guest migrates.
    return f"{instance}-replication-{job}"


# Health values Proxmox reports for a disk that SMART does not flag.
_DISK_HEALTH_GOOD = frozenset({"PASSED", "OK"})


def disk_health_failed(health: str | None) -> bool | None:
    """Return True when ``health`` reports a failing disk, False when it passed, None when unknown."""
    if health is None:
        return None
    value = health.strip().upper()
    if not value or value == "UNKNOWN":
        return None
    return value not in _DISK_HEALTH_GOOD


AlertLevel = Literal["warning", "critical"]


@dataclass(slots=True)
class Alert:
    """One alert episode: from firing until it resolves."""

    id: str
    type: str
    level: AlertLevel
    resource_id: str
    resource_name: str
    resource_type: str
    node: str | None
    instance: str | None
    message: str
    value: float | None
    threshold: float | None
    start_time: float
    last_seen: float
    acknowledged: bool = False
    ack_user: str | None = None
    ack_time: float | None = None
    resolved_time: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Notification:
    """Message a notifier channel delivers: one or more alerts firing or resolved together."""

    id: str
    event: Literal["alert", "resolved", "test", "flapping"]
    alerts: list[Alert]
    title: str
    created: float

    @property
    def grouped(self) -> bool:
        return len(self.alerts) > 1


@dataclass(slots=True)
class DeliveryResult:
    """Outcome of one delivery attempt, with the remote server's own reply."""

    ok: bool
    status_code: int | None = None
    # The server's reply (HTTP body or SMTP reply text), capped by the notifier.
    response: str = ""
    error: str | None = None
    # Seconds the server asked us to wait (HTTP Retry-After), if any.
    retry_after: float | None = None
    # False when retrying cannot help (4xx other than 408/429, bad config).
    retryable: bool = True
