"""Match PBS snapshots to PVE guests and find each guest's last backup across all sources.

A PBS backup group names only a type and an id ("vm/101"), and several PVE
clusters may write to one PBS, so the same id can stand for different
guests. A group is matched to a guest of the same type and VMID like this:

1. Exactly one connected PVE instance has such a guest: that guest.
2. Several have one: keep the instances whose PBS storage configuration
   (type "pbs" with ``datastore``, ``server`` and ``namespace``) points at
   this datastore, namespace and server.
3. Still several: keep the instances whose PBS storage lists a backup of this
   VMID with the same backup time (PVE lists PBS snapshots as storage content).
4. Still several: the group counts for every candidate, flagged as ambiguous.

Everything here is pure: it reads model objects and returns new ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pulse_core.model import BackupTask, Guest, PBSBackup, Storage, StorageBackup

# A guest without a backup newer than this many seconds is reported as missing a backup.
DEFAULT_MAX_AGE = 2 * 86400
_GUEST_TYPES = {"vm": "qemu", "ct": "lxc"}
# vzdump task statuses that mean the backup was written.
_SUCCESS = ("OK", "WARNINGS")


@dataclass(slots=True)
class GuestBackup:
    """The newest backup of one guest over PBS snapshots, PVE backup files and vzdump tasks."""

    guest_id: str
    instance: str
    vmid: int
    time: int | None = None
    # "pbs" (a PBS snapshot), "pve" (a file on a PVE storage) or "task" (a finished vzdump task).
    source: str | None = None
    # Verification of the newest PBS snapshot ("ok", "failed" or "none"), or None when the newest backup is not one.
    verification: str | None = None
    pbs_instance: str | None = None
    datastore: str | None = None
    namespace: str | None = None
    # True when the newest PBS snapshot could belong to guests of other PVE instances too.
    ambiguous: bool = False
    # The other PVE instances with a guest of this type and VMID, when ambiguous.
    ambiguous_with: list[str] = field(default_factory=list)
    # No backup at all, or none newer than ``max_age``.
    missing: bool = True


@dataclass(slots=True)
class Match:
    """The guests one PBS backup group was matched to."""

    guest_ids: list[str]
    ambiguous: bool


def _host_of(server: str | None) -> str:
    text = (server or "").strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text


def match_groups(
    guests: Iterable[Guest],
    pbs_backups: Iterable[PBSBackup],
    storage: Iterable[Storage] = (),
    storage_backups: Iterable[StorageBackup] = (),
    pbs_hosts: Mapping[str, str] | None = None,
) -> dict[tuple[str, str, str, str, str], Match]:
    """Match every PBS group (pbs instance, datastore, namespace, type, id) to guests.

    ``pbs_hosts`` maps a PBS instance to its host name or address, compared
    with the ``server`` of PVE PBS storages; without it the server is ignored.
    """
    guests_by_key: dict[tuple[str, int], list[Guest]] = {}
    for guest in guests:
        guests_by_key.setdefault((guest.type, guest.vmid), []).append(guest)
    writers: dict[str, list[Storage]] = {}
    for entry in storage:
        if entry.type == "pbs" and entry.pbs_datastore:
            writers.setdefault(entry.instance, []).append(entry)
    listed_times: dict[tuple[str, int], set[int]] = {}
    for item in storage_backups:
        if item.is_pbs and item.vmid is not None:
            listed_times.setdefault((item.instance, item.vmid), set()).add(item.ctime)

    groups: dict[tuple[str, str, str, str, str], list[int]] = {}
    for backup in pbs_backups:
        key = (backup.instance, backup.datastore, backup.namespace, backup.backup_type, backup.backup_id)
        groups.setdefault(key, []).append(backup.backup_time)

    matches: dict[tuple[str, str, str, str, str], Match] = {}
    for key, times in groups.items():
        pbs_instance, store, ns, backup_type, backup_id = key
        guest_type = _GUEST_TYPES.get(backup_type)
        if guest_type is None or not backup_id.isdigit():
            continue
        vmid = int(backup_id)
        candidates = guests_by_key.get((guest_type, vmid), [])
        instances = sorted({guest.instance for guest in candidates})
        if not instances:
            continue
        if len(instances) > 1:
            host = _host_of((pbs_hosts or {}).get(pbs_instance))
            configured = [
                instance for instance in instances
                if any(
                    entry.pbs_datastore == store and (entry.pbs_namespace or "") == ns
                    and (not host or not entry.pbs_server or _host_of(entry.pbs_server) == host)
                    for entry in writers.get(instance, [])
                )
            ]
            if configured:
                instances = configured
        if len(instances) > 1:
            seen = [instance for instance in instances if listed_times.get((instance, vmid), set()) & set(times)]
            if seen:
                instances = seen
        matches[key] = Match(
            guest_ids=[guest.id for guest in candidates if guest.instance in instances],
            ambiguous=len(instances) > 1,
        )
    return matches


def last_backups(
    guests: Iterable[Guest],
    pbs_backups: Iterable[PBSBackup],
    *,
    now: float,
    storage: Iterable[Storage] = (),
    storage_backups: Iterable[StorageBackup] = (),
    backup_tasks: Iterable[BackupTask] = (),
    pbs_hosts: Mapping[str, str] | None = None,
    max_age: float = DEFAULT_MAX_AGE,
) -> dict[str, GuestBackup]:
    """Return the last backup of every guest (templates included), keyed by guest id."""
    guests = list(guests)
    pbs_backups = list(pbs_backups)
    storage_backups = list(storage_backups)
    result = {guest.id: GuestBackup(guest.id, guest.instance, guest.vmid) for guest in guests}
    by_instance_vmid = {(guest.instance, guest.vmid): guest.id for guest in guests}
    by_guest_types = {guest.id: guest.type for guest in guests}

    def offer(guest_id: str | None, when: int | None, source: str) -> GuestBackup | None:
        if guest_id is None or when is None:
            return None
        entry = result[guest_id]
        if entry.time is not None and when <= entry.time:
            return None
        entry.time = when
        entry.source = source
        entry.verification = None
        entry.pbs_instance = entry.datastore = entry.namespace = None
        entry.ambiguous = False
        entry.ambiguous_with = []
        return entry

    for task in backup_tasks:
        if task.vmid is not None and task.end_time is not None and task.status.upper().startswith(_SUCCESS):
            offer(by_instance_vmid.get((task.instance, task.vmid)), task.end_time, "task")
    for item in storage_backups:
        if item.vmid is not None:
            guest_id = by_instance_vmid.get((item.instance, item.vmid))
            if guest_id is not None and (item.guest_type in (None, by_guest_types[guest_id])):
                offer(guest_id, item.ctime, "pve")

    matches = match_groups(guests, pbs_backups, storage, storage_backups, pbs_hosts)
    instances_of = {guest.id: guest.instance for guest in guests}
    for backup in pbs_backups:
        match = matches.get((backup.instance, backup.datastore, backup.namespace, backup.backup_type, backup.backup_id))
        if match is None:
            continue
        for guest_id in match.guest_ids:
            entry = offer(guest_id, backup.backup_time, "pbs")
            if entry is None:
                continue
            entry.verification = backup.verification
            entry.pbs_instance = backup.instance
            entry.datastore = backup.datastore
            entry.namespace = backup.namespace
            entry.ambiguous = match.ambiguous
            if match.ambiguous:
                entry.ambiguous_with = sorted(
                    {instances_of[other] for other in match.guest_ids if other != guest_id} - {entry.instance}
                )

    for entry in result.values():
        entry.missing = entry.time is None or now - entry.time > max_age
    return result
