"""Every unit conversion and "unknown" rule for Proxmox VE data, in one place.

Proxmox VE is written in Perl: a field may arrive as a number, a numeric
string or 0/1 for a boolean depending on the code path and version. The
``as_*`` helpers accept all of those. The builders below turn API items into
``pulse_core`` model objects with fixed units (fractions, bytes, bytes/s,
epoch seconds) and ``None`` plus a reason where Proxmox cannot tell a value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulse_core import (
    BackupTask,
    Guest,
    GuestFilesystem,
    GuestSnapshot,
    Node,
    Storage,
    StorageBackup,
    Usage,
    guest_id,
    node_id,
    storage_id,
)

# --- scalar coercion ---------------------------------------------------------------

_TRUE_STRINGS = frozenset({"1", "true", "yes", "on"})


def as_int(value: Any) -> int | None:
    """Return ``value`` as an int (numbers, numeric strings); None when absent or not numeric."""
    if type(value) is int:
        return value
    if value is None or isinstance(value, bool):
        return int(value) if isinstance(value, bool) else None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            try:
                return int(float(text))
            except ValueError:
                return None
    return None


def as_float(value: Any) -> float | None:
    if type(value) is float:
        return value
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_STRINGS
    return False


def format_bytes(size: int) -> str:
    """Format a byte count the way the Proxmox UI does (binary units, e.g. "32 GiB")."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable; keeps type checkers calm


# --- counters to rates ----------------------------------------------------------------


_NO_RATES: tuple[None, None, None, None] = (None, None, None, None)


class RateTracker:
    """Turns cumulative byte counters into bytes per second.

    The first sight of a counter, a counter that went backwards (guest or node
    restart, counter wrap) and an uptime that went backwards all give ``None``
    for that interval: never a negative rate or a spike of the whole counter.
    Counters are kept per resource in one list that each call updates in
    place, so a poll of thousands of guests allocates no new records.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        # key -> [time, uptime, counters] from ``rates``, or
        # [time, uptime, net_in, net_out, disk_read, disk_write] from ``guest_rates``.
        self._last: dict[str, list[Any]] = {}

    def rates(
        self, key: str, values: tuple[int | None, ...], now: float, uptime: int | None = None
    ) -> tuple[float | None, ...]:
        record = self._last.get(key)
        if record is None or len(record) != 3:
            self._last[key] = [now, uptime, values]
            return (None,) * len(values)
        then, old_uptime, old_values = record
        record[0] = now
        record[1] = uptime
        record[2] = values
        elapsed = now - then
        if elapsed <= 0 or len(old_values) != len(values) or (
            uptime is not None and old_uptime is not None and uptime < old_uptime
        ):
            return (None,) * len(values)
        return tuple(
            None if value is None or old is None or value < old else (value - old) / elapsed
            for value, old in zip(values, old_values)
        )

    def guest_rates(
        self,
        key: str,
        net_in: int | None,
        net_out: int | None,
        disk_read: int | None,
        disk_write: int | None,
        now: float,
        uptime: int | None,
    ) -> tuple[float | None, float | None, float | None, float | None]:
        """Return a guest's network in/out and disk read/write rates, like ``rates`` with four counters.

        The counters go into the guest's record in place rather than into a
        new tuple, because this runs for every running guest on every poll.
        """
        record = self._last.get(key)
        if record is None or len(record) != 6:
            self._last[key] = [now, uptime, net_in, net_out, disk_read, disk_write]
            return _NO_RATES
        then, old_uptime, old_in, old_out, old_read, old_write = record
        record[0] = now
        record[1] = uptime
        record[2] = net_in
        record[3] = net_out
        record[4] = disk_read
        record[5] = disk_write
        elapsed = now - then
        if elapsed <= 0 or (uptime is not None and old_uptime is not None and uptime < old_uptime):
            return _NO_RATES
        return (
            None if net_in is None or old_in is None or net_in < old_in else (net_in - old_in) / elapsed,
            None if net_out is None or old_out is None or net_out < old_out else (net_out - old_out) / elapsed,
            None if disk_read is None or old_read is None or disk_read < old_read else (disk_read - old_read) / elapsed,
            None if disk_write is None or old_write is None or disk_write < old_write else (disk_write - old_write) / elapsed,
        )

    def rate(self, key: str, value: int | None, now: float, uptime: int | None = None) -> float | None:
        return self.rates(key, (value,), now, uptime)[0]

    def drop(self, key: str) -> None:
        self._last.pop(key, None)

    def forget(self, keep: set[str]) -> None:
        """Drop the counters of resources that no longer exist."""
        if len(keep) < len(self._last):
            self._last = {key: item for key, item in self._last.items() if key in keep}


# --- nodes ------------------------------------------------------------------------------


def node_from_resource(instance: str, item: Mapping[str, Any], *, cluster_name: str | None) -> Node:
    """Build a node from its ``/cluster/resources`` entry (type "node")."""
    name = str(item.get("node") or str(item.get("id", "")).removeprefix("node/"))
    status = item.get("status")
    return Node(
        id=node_id(instance, name),
        name=name,
        instance=instance,
        status=status if status in ("online", "offline") else "unknown",
        cpu=as_float(item.get("cpu")),
        cpus=as_int(item.get("maxcpu")),
        memory=usage(as_int(item.get("maxmem")), as_int(item.get("mem"))),
        disk=usage(as_int(item.get("maxdisk")), as_int(item.get("disk"))),
        uptime=as_int(item.get("uptime")),
        cluster_name=cluster_name,
        is_cluster_member=cluster_name is not None,
    )


def apply_node_status(node: Node, status: Mapping[str, Any]) -> None:
    """Refine a node with ``/nodes/{node}/status``.

    Memory used is total minus available when the node reports ``available``
    (PVE 9), so page cache does not count as used. Older versions report
    ``used`` directly.
    """
    memory = status.get("memory")
    if isinstance(memory, Mapping):
        total = as_int(memory.get("total"))
        available = as_int(memory.get("available"))
        used = total - available if total is not None and available is not None else as_int(memory.get("used"))
        node.memory = usage(total, used)
    swap = status.get("swap")
    if isinstance(swap, Mapping):
        node.swap = usage(as_int(swap.get("total")), as_int(swap.get("used")))
    rootfs = status.get("rootfs")
    if isinstance(rootfs, Mapping):
        node.disk = usage(as_int(rootfs.get("total")), as_int(rootfs.get("used")))
    loadavg = status.get("loadavg")
    if isinstance(loadavg, list) and len(loadavg) >= 3:
        values = [as_float(value) for value in loadavg[:3]]
        if all(value is not None for value in values):
            node.loadavg = (values[0], values[1], values[2])  # type: ignore[assignment]
    if (cpu := as_float(status.get("cpu"))) is not None:
        node.cpu = cpu
    if (uptime := as_int(status.get("uptime"))) is not None:
        node.uptime = uptime
    cpuinfo = status.get("cpuinfo")
    if isinstance(cpuinfo, Mapping):
        node.cpu_model = cpuinfo.get("model") or node.cpu_model
        node.cpus = as_int(cpuinfo.get("cpus")) or node.cpus
    version = status.get("pveversion")
    if isinstance(version, str):
        node.pve_version = parse_pveversion(version)
    kernel = status.get("current-kernel")
    if isinstance(kernel, Mapping) and kernel.get("release"):
        node.kernel = str(kernel["release"])
    elif isinstance(status.get("kversion"), str):
        node.kernel = status["kversion"]


def parse_pveversion(text: str) -> str:
    """Return "9.1.2" from "pve-manager/9.1.2/9d436f37a0ac4172" (and "7.4-16" from PVE 7)."""
    parts = text.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "pve-manager" else text


def major_version(version: str | None) -> int | None:
    if not version:
        return None
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else None


def usage(total: int | None, used: int | None, reason: str | None = None) -> Usage:
    if total is not None and used is not None:
        return Usage(total, used, total - used, None)
    return Usage(total, used, None, reason if used is None else None)


# --- guests: base metrics from /cluster/resources --------------------------------------

# Reasons shown when a VM's disk usage is unknown. The UI shows them verbatim.
REASON_STOPPED = "guest is not running"
REASON_NO_AGENT = "no guest agent configured"
REASON_AGENT_NOT_RUNNING = "guest agent not running"
REASON_AGENT_NO_FS = "guest agent reported no usable filesystems"
REASON_WAITING = "waiting for guest details"
REASON_NO_MEMORY_STATS = "guest reports no memory statistics (no balloon driver)"

# The privilege PVE checks on /vms/{vmid} before it runs a guest agent read.
AGENT_PRIVILEGE_BY_MAJOR = {9: "VM.GuestAgent.Audit", 8: "VM.Monitor"}


def agent_privilege(major: int | None) -> str:
    if major is not None and major >= 9:
        return AGENT_PRIVILEGE_BY_MAJOR[9]
    return AGENT_PRIVILEGE_BY_MAJOR[8]


def reason_permission(major: int | None) -> str:
    return f"unavailable: permission {agent_privilege(major)}"


@functools.lru_cache(maxsize=1024)
def _allocation_reason(maxdisk: int | None, reason: str) -> str:
    return f"{format_bytes(maxdisk)} allocated; {reason}" if maxdisk else reason


def vm_disk_unknown(maxdisk: int | None, reason: str) -> Usage:
    """VM disk usage PVE cannot see: total is the allocation, used unknown with a reason."""
    return Usage(total=maxdisk or None, used=None, free=None, unknown_reason=_allocation_reason(maxdisk, reason))


def parse_tags(value: Any) -> list[str]:
    if not value:
        return []
    # A fresh list per guest, so no two guests share one that a consumer could change.
    return list(_parse_tag_text(str(value)))


_TAG_SEPARATORS = re.compile(r"[;, ]+")


@functools.lru_cache(maxsize=4096)
def _parse_tag_text(text: str) -> tuple[str, ...]:
    return tuple(sorted({tag for tag in _TAG_SEPARATORS.split(text) if tag}))


def guest_from_resource(
    instance: str,
    item: Mapping[str, Any],
    now: float,
    rates: RateTracker,
    kind: str | None = None,
) -> Guest | None:
    """Build a guest's base metrics from its ``/cluster/resources`` entry.

    VM disk (``disk`` is always 0 for qemu) and VM memory stay provisional
    here; the source fills them from detail calls. ``kind`` is for per-node
    lists (``/nodes/{node}/qemu``) whose items carry no ``type``.
    """
    kind = item.get("type") or kind
    if kind not in ("qemu", "lxc"):
        return None
    vmid = as_int(item.get("vmid"))
    if vmid is None:
        vmid = as_int(str(item.get("id", "")).rpartition("/")[2])
    if vmid is None:
        return None
    get = item.get
    gid = guest_id(instance, vmid)
    status = str(get("status") or "unknown")
    running = status == "running"
    stopped = status == "stopped"
    uptime = as_int(get("uptime"))
    maxmem = as_int(get("maxmem"))
    maxdisk = as_int(get("maxdisk"))
    if running:
        mem = as_int(get("mem"))
    else:
        mem = 0 if stopped else None
    if kind == "lxc":
        # Container memory and disk come from the host's cgroup and rootfs: real usage.
        memory = usage(maxmem, mem)
        disk = usage(maxdisk, as_int(get("disk"))) if running else Usage(total=maxdisk, unknown_reason=REASON_STOPPED)
    else:
        # VM memory is provisional until status/current shows whether the guest reports it.
        memory = usage(maxmem, mem)
        disk = vm_disk_unknown(maxdisk, REASON_WAITING if running else REASON_STOPPED)
    name = get("name")
    if not name:
        name = f"VM {vmid}" if kind == "qemu" else f"CT{vmid}"
    if running:
        cpu = as_float(get("cpu"))
    else:
        cpu = 0.0 if stopped else None
    guest = Guest(
        id=gid,
        vmid=vmid,
        name=str(name),
        node=str(get("node") or ""),
        instance=instance,
        type=kind,
        status=status,
        template=as_bool(get("template")),
        cpu=cpu,
        cpus=as_float(get("maxcpu")),
        memory=memory,
        disk=disk,
        uptime=uptime,
        tags=parse_tags(get("tags")),
        lock=get("lock") or None,
        ha_state=get("hastate") or None,
        pool=get("pool") or None,
        last_seen=now,
    )
    if running:
        guest.net_in, guest.net_out, guest.disk_read, guest.disk_write = rates.guest_rates(
            gid, as_int(get("netin")), as_int(get("netout")), as_int(get("diskread")), as_int(get("diskwrite")), now, uptime
        )
    else:
        rates.drop(gid)
        guest.net_in = guest.net_out = guest.disk_read = guest.disk_write = 0.0 if stopped else None
    return guest


# --- guests: details -----------------------------------------------------------------------


def vm_memory_from_status(status: Mapping[str, Any]) -> tuple[Usage, int | None]:
    """Return a VM's memory usage and balloon target from ``status/current``.

    Used memory is what the guest itself reports as taken (total minus free
    from the balloon driver's statistics). Without those statistics PVE
    falls back to ``mem = maxmem`` (or the host's view), which is not the
    guest's usage: the result is unknown then, never 100 %.
    """
    # NOTE: QEMU's balloon statistics as PVE passes them on carry ``free_mem``
    # (the guest's MemFree) but no "available" figure, so page cache inside
    # the guest counts as used here, the same as in the Proxmox UI.
    maxmem = as_int(status.get("maxmem"))
    balloon = as_int(status.get("balloon"))
    info = status.get("ballooninfo")
    if isinstance(info, Mapping):
        total = as_int(info.get("total_mem"))
        free = as_int(info.get("free_mem"))
        if total and free is not None and 0 <= free <= total:
            return Usage(total=total, used=total - free, free=free), balloon
    return Usage(total=maxmem, used=None, free=None, unknown_reason=REASON_NO_MEMORY_STATS), balloon


# Filesystems that hold no guest data of their own (kernel and virtual mounts).
PSEUDO_FS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devfs", "devpts",
    "devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc", "pstore",
    "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs",
    "iso9660", "udf", "fuse.lxcfs", "fuse.snapfuse", "fuse.gvfsd-fuse", "fuse.portal", "zram",
})
# Filesystems mounted from elsewhere: counting them would add someone else's disk.
NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "fuse.sshfs", "glusterfs", "fuse.glusterfs",
    "ceph", "fuse.ceph", "fuse.rclone", "afs", "lustre", "beegfs", "gpfs",
})


def filesystems_from_fsinfo(result: Any) -> list[GuestFilesystem]:
    """Return the real, local filesystems from a ``get-fsinfo`` result, one per device.

    Bind mounts and btrfs subvolumes show the same device several times; each
    device counts once (the largest ``used`` seen).
    """
    if not isinstance(result, list):
        return []
    by_device: dict[str, GuestFilesystem] = {}
    for entry in result:
        if not isinstance(entry, Mapping):
            continue
        fstype = str(entry.get("type") or "").lower()
        if not fstype or fstype in PSEUDO_FS or fstype in NETWORK_FS or fstype.startswith("fuse."):
            continue
        total = as_int(entry.get("total-bytes"))
        used = as_int(entry.get("used-bytes"))
        if not total or used is None:
            continue
        mountpoint = str(entry.get("mountpoint") or entry.get("name") or "")
        if mountpoint.startswith(("/snap/", "/var/lib/docker/", "/run/")):
            continue
        device = _fs_device(entry)
        key = device or f"{entry.get('name')}:{mountpoint}"
        item = GuestFilesystem(mountpoint=mountpoint, fstype=fstype, total=total, used=used, device=device)
        existing = by_device.get(key)
        if existing is None or item.used > existing.used:
            by_device[key] = item
    return sorted(by_device.values(), key=lambda fs: fs.mountpoint)


def _fs_device(entry: Mapping[str, Any]) -> str | None:
    disks = entry.get("disk")
    if isinstance(disks, list):
        for disk in disks:
            if isinstance(disk, Mapping) and disk.get("dev"):
                return str(disk["dev"])
    name = entry.get("name")
    return str(name) if name else None


def vm_disk_from_fsinfo(result: Any, maxdisk: int | None) -> tuple[Usage, list[GuestFilesystem]]:
    filesystems = filesystems_from_fsinfo(result)
    if not filesystems:
        return vm_disk_unknown(maxdisk, REASON_AGENT_NO_FS), []
    total = sum(fs.total for fs in filesystems)
    used = sum(fs.used for fs in filesystems)
    return Usage(total=total, used=used, free=total - used), filesystems


def ip_addresses_from_interfaces(result: Any) -> list[str]:
    """Return the guest's addresses from ``network-get-interfaces``, without loopback and link-local."""
    if not isinstance(result, list):
        return []
    addresses: list[str] = []
    for interface in result:
        if not isinstance(interface, Mapping) or interface.get("name") == "lo":
            continue
        for entry in interface.get("ip-addresses") or ():
            if not isinstance(entry, Mapping):
                continue
            address = str(entry.get("ip-address") or "")
            if not address or address.startswith(("127.", "fe80:", "::1")) or address == "::1":
                continue
            if address not in addresses:
                addresses.append(address)
    return addresses


def os_name_from_osinfo(result: Any) -> str | None:
    if not isinstance(result, Mapping):
        return None
    for key in ("pretty-name", "name", "id"):
        if result.get(key):
            return str(result[key])
    return None


def agent_result(data: Any) -> tuple[Any, str | None]:
    """Unwrap ``{"result": ...}``; old servers pass guest agent errors inside it."""
    if isinstance(data, Mapping):
        result = data.get("result")
        if isinstance(result, Mapping) and isinstance(result.get("error"), Mapping):
            error = result["error"]
            return None, str(error.get("desc") or error.get("class") or "guest agent error")
        return result, None
    return None, "guest agent returned no result"


# --- storage -------------------------------------------------------------------------------


def storage_from_resource(instance: str, item: Mapping[str, Any]) -> Storage | None:
    """Build a storage from its ``/cluster/resources`` entry (one per node)."""
    if item.get("type") != "storage":
        return None
    name = str(item.get("storage") or str(item.get("id", "")).rpartition("/")[2])
    node = str(item.get("node") or "")
    status = str(item.get("status") or "unknown")
    total = as_int(item.get("maxdisk"))
    used = as_int(item.get("disk"))
    available = status == "available"
    return Storage(
        id=storage_id(instance, node, name),
        name=name,
        node=node,
        instance=instance,
        type=str(item.get("plugintype") or ""),
        content=[part for part in str(item.get("content") or "").split(",") if part],
        shared=as_bool(item.get("shared")),
        active=available,
        status=status,
        usage=usage(total, used) if available else Usage(total=total, unknown_reason="storage not available"),
    )


def storage_from_node_list(instance: str, node: str, item: Mapping[str, Any]) -> Storage:
    """Build a storage from a ``/nodes/{node}/storage`` entry (adds enabled/active)."""
    name = str(item.get("storage") or "")
    active = as_bool(item.get("active"))
    enabled = as_bool(item.get("enabled", 1))
    total = as_int(item.get("total"))
    used = as_int(item.get("used"))
    if active and total is not None:
        status_usage = usage(total, used)
        status = "available"
    else:
        status_usage = Usage(total=total, unknown_reason="storage disabled" if not enabled else "storage not active")
        status = "unknown"
    return Storage(
        id=storage_id(instance, node, name),
        name=name,
        node=node,
        instance=instance,
        type=str(item.get("type") or ""),
        content=[part for part in str(item.get("content") or "").split(",") if part],
        shared=as_bool(item.get("shared")),
        enabled=enabled,
        active=active,
        status=status,
        usage=status_usage,
    )


# --- backups, tasks, snapshots ---------------------------------------------------------------


def storage_backup_from_content(instance: str, node: str, storage: str, item: Mapping[str, Any]) -> StorageBackup | None:
    volid = item.get("volid")
    if not volid:
        return None
    fmt = str(item.get("format") or "")
    subtype = item.get("subtype")
    guest_type = subtype if subtype in ("qemu", "lxc") else None
    if guest_type is None:
        if "vzdump-qemu" in str(volid) or fmt == "pbs-vm" or "/vm/" in str(volid):
            guest_type = "qemu"
        elif "vzdump-lxc" in str(volid) or fmt == "pbs-ct" or "/ct/" in str(volid):
            guest_type = "lxc"
    verification = item.get("verification")
    state = verification.get("state") if isinstance(verification, Mapping) else None
    notes = item.get("notes")
    return StorageBackup(
        id=f"{instance}-{volid}",
        volid=str(volid),
        storage=storage,
        node=node,
        instance=instance,
        vmid=as_int(item.get("vmid")),
        guest_type=guest_type,
        ctime=as_int(item.get("ctime")) or 0,
        size=as_int(item.get("size")),
        format=fmt or None,
        notes=str(notes) if notes else None,
        protected=as_bool(item.get("protected")),
        verification=str(state) if state else None,
        is_pbs=fmt.startswith("pbs-"),
    )


@dataclass(frozen=True, slots=True)
class Upid:
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str


def parse_upid(upid: str) -> Upid | None:
    """Parse a PVE task id ``UPID:node:pid:pstart:starttime:type:id:user:``."""
    parts = upid.split(":")
    if len(parts) < 8 or parts[0] != "UPID":
        return None
    try:
        return Upid(parts[1], int(parts[2], 16), int(parts[3], 16), int(parts[4], 16), parts[5], parts[6], parts[7])
    except ValueError:
        return None


def task_outcome(status: Any) -> tuple[str, str | None]:
    """Map a finished task's ``status`` text to (ok|warning|failed, error); running when None."""
    if status is None:
        return "running", None
    text = str(status)
    if text == "OK":
        return "ok", None
    if text.startswith("WARNINGS"):
        return "warning", None
    return "failed", text


_LOG_START = re.compile(r"INFO: Starting Backup of VM (\d+)")
_LOG_FINISHED = re.compile(r"INFO: Finished Backup of VM (\d+)")
_LOG_FAILED = re.compile(r"ERROR: Backup of VM (\d+) failed - (.*)")
_LOG_ARCHIVE_SIZE = re.compile(r"INFO: archive file size: ([\d.]+)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)")

_SIZE_UNITS = {
    "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4,
}


def backup_tasks_from_task(instance: str, task: Mapping[str, Any], log_lines: list[str] | None) -> list[BackupTask]:
    """Turn one vzdump task into one entry per guest.

    A single-guest task has the vmid in its ``id``. A multi-guest job (empty
    ``id``) reports per-guest results only in its log, so the log is parsed.
    Without the log the job is one entry with ``vmid`` None.
    """
    upid = str(task.get("upid") or "")
    parsed = parse_upid(upid)
    node = str(task.get("node") or (parsed.node if parsed else ""))
    start = as_int(task.get("starttime")) or (parsed.starttime if parsed else 0)
    end = as_int(task.get("endtime"))
    outcome, error = task_outcome(task.get("status"))
    task_vmid = as_int(task.get("id"))
    if log_lines and task_vmid is None:
        per_guest = _per_guest_results(log_lines)
        if per_guest:
            return [
                BackupTask(
                    id=f"{instance}-{upid}-{vmid}",
                    upid=upid,
                    node=node,
                    instance=instance,
                    vmid=vmid,
                    status=result,
                    start_time=start,
                    end_time=end,
                    size=size,
                    error=guest_error,
                )
                for vmid, (result, guest_error, size) in per_guest.items()
            ]
    size = None
    if log_lines:
        for line in log_lines:
            if match := _LOG_ARCHIVE_SIZE.search(line):
                size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
    return [
        BackupTask(
            id=f"{instance}-{upid}",
            upid=upid,
            node=node,
            instance=instance,
            vmid=task_vmid,
            status=outcome,
            start_time=start,
            end_time=end,
            size=size,
            error=error,
        )
    ]


def _per_guest_results(lines: list[str]) -> dict[int, tuple[str, str | None, int | None]]:
    results: dict[int, tuple[str, str | None, int | None]] = {}
    current: int | None = None
    for line in lines:
        if match := _LOG_START.search(line):
            current = int(match.group(1))
            results[current] = ("running", None, None)
        elif match := _LOG_FAILED.search(line):
            vmid = int(match.group(1))
            results[vmid] = ("failed", match.group(2).strip(), None)
        elif match := _LOG_FINISHED.search(line):
            vmid = int(match.group(1))
            _, _, size = results.get(vmid, ("running", None, None))
            results[vmid] = ("ok", None, size)
        elif current is not None and (match := _LOG_ARCHIVE_SIZE.search(line)):
            status, error, _ = results.get(current, ("running", None, None))
            results[current] = (status, error, int(float(match.group(1)) * _SIZE_UNITS[match.group(2)]))
    return results


def snapshots_from_list(instance: str, node: str, vmid: int, guest_type: str, items: Any) -> list[GuestSnapshot]:
    """Build snapshots from a snapshot list, skipping the "current" pseudo-entry."""
    snapshots: list[GuestSnapshot] = []
    if not isinstance(items, list):
        return snapshots
    for item in items:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("name") or "")
        if not name or name == "current":
            continue
        snaptime = as_int(item.get("snaptime"))
        snapshots.append(
            GuestSnapshot(
                id=f"{guest_id(instance, vmid)}-{name}",
                name=name,
                vmid=vmid,
                guest_type=guest_type,  # type: ignore[arg-type]
                node=node,
                instance=instance,
                snaptime=snaptime or None,
                description=str(item.get("description") or ""),
                vmstate=as_bool(item.get("vmstate")),
                parent=item.get("parent") or None,
            )
        )
    return snapshots


@dataclass(frozen=True, slots=True)
class PBSTarget:
    """Backup target of a PVE storage of type "pbs": the PBS server, datastore and namespace."""

    server: str
    datastore: str
    # None is the datastore's root namespace.
    namespace: str | None


def pbs_targets(items: Any) -> dict[str, PBSTarget]:
    """Map storage name to its PBS target, from the cluster storage configuration (``GET /storage``).

    Entries of other types, and PBS entries without a server or datastore, are skipped.
    """
    targets: dict[str, PBSTarget] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping) or item.get("type") != "pbs":
            continue
        name = str(item.get("storage") or "")
        server = str(item.get("server") or "").strip()
        datastore = str(item.get("datastore") or "").strip()
        if not name or not server or not datastore:
            continue
        namespace = str(item.get("namespace") or "").strip().strip("/") or None
        targets[name] = PBSTarget(server=server, datastore=datastore, namespace=namespace)
    return targets
