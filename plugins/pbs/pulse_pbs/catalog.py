"""The snapshot catalog of one PBS: backup groups, their newest snapshots and what to re-read.

A poll lists the groups of every namespace (one small call each) and re-reads
only groups whose newest backup time or snapshot count changed. Groups are
also re-read once per ``full_pass`` seconds, because verification results,
comments and the protected flag change without changing either number.
Memory is bounded by keeping at most ``group_snapshots`` snapshots per group
and ``max_snapshots`` overall (the newest of each group win).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulse_core import PBSBackup

from pulse_pbs import normalize as nz
from pulse_pbs.settings import Limits

GroupKey = tuple[str, str, str, str]  # store, namespace, backup type, backup id


@dataclass(slots=True)
class Group:
    store: str
    ns: str
    backup_type: str
    backup_id: str
    last_backup: int | None = None
    count: int | None = None
    owner: str | None = None
    # Newest first, at most the per-group cap.
    snapshots: list[PBSBackup] = field(default_factory=list)
    # trio time of the last snapshot read; None = never read.
    fetched_at: float | None = None
    changed: bool = True

    @property
    def key(self) -> GroupKey:
        return (self.store, self.ns, self.backup_type, self.backup_id)


class SnapshotCatalog:
    """Backup groups of one PBS instance and the snapshots read for them."""

    def __init__(self, instance: str, limits: Limits) -> None:
        self.instance = instance
        self.limits = limits
        self.groups: dict[GroupKey, Group] = {}
        # Bumped whenever the listed snapshots change, so unchanged polls send nothing.
        self.version = 0
        self.dropped = 0
        self._flat: list[PBSBackup] | None = None

    # -- group lists ---------------------------------------------------------------------------

    def update_groups(self, store: str, ns: str, items: Iterable[Any]) -> None:
        """Merge one namespace's ``/groups`` response and remove groups it no longer lists."""
        seen: set[GroupKey] = set()
        for item in items:
            if not isinstance(item, Mapping):
                continue
            backup_type = str(item.get("backup-type") or "")
            backup_id = nz.text_or_none(item.get("backup-id"))
            if backup_type not in nz.BACKUP_TYPES or backup_id is None:
                continue
            key = (store, ns, backup_type, backup_id)
            seen.add(key)
            last_backup = nz.as_int(item.get("last-backup"))
            count = nz.as_int(item.get("backup-count"))
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = Group(store, ns, backup_type, backup_id)
            elif (group.last_backup, group.count) != (last_backup, count):
                group.changed = True
            group.last_backup = last_backup
            group.count = count
            group.owner = nz.text_or_none(item.get("owner"))
        removed = [key for key in self.groups if key[0] == store and key[1] == ns and key not in seen]
        self._remove(removed)

    def retain(self, stores: Mapping[str, Iterable[str]]) -> None:
        """Drop groups of datastores or namespaces that no longer exist (store -> its namespaces)."""
        current = {(store, ns) for store, namespaces in stores.items() for ns in namespaces}
        self._remove([key for key in self.groups if (key[0], key[1]) not in current])

    def _remove(self, keys: list[GroupKey]) -> None:
        for key in keys:
            del self.groups[key]
        if keys:
            self._touch()

    # -- what to read --------------------------------------------------------------------------

    def due(self, now: float) -> list[Group]:
        """Return the groups to re-read this poll.

        New and changed groups are always read, so a new backup shows up in
        the poll that lists it. Groups past their full pass follow, oldest
        first, at most ``group_fetches`` of them per poll.
        """
        changed = [group for group in self.groups.values() if group.changed or group.fetched_at is None]
        expired = [
            group for group in self.groups.values()
            if not group.changed and group.fetched_at is not None and now - group.fetched_at >= self.limits.full_pass
        ]
        expired.sort(key=lambda group: group.fetched_at or 0.0)
        return changed + expired[: self.limits.group_fetches]

    def namespace_groups(self, store: str, ns: str) -> list[Group]:
        return [group for key, group in self.groups.items() if key[0] == store and key[1] == ns]

    # -- snapshot lists ------------------------------------------------------------------------

    def store_snapshots(self, store: str, ns: str, items: Iterable[Any], now: float, only: Group | None = None) -> None:
        """Store a ``/snapshots`` response for one group (``only``) or a whole namespace."""
        by_group: dict[GroupKey, list[PBSBackup]] = {}
        for item in items:
            backup = nz.snapshot(self.instance, store, ns, item)
            if backup is None:
                continue
            by_group.setdefault((store, ns, backup.backup_type, backup.backup_id), []).append(backup)
        targets = [only] if only is not None else self.namespace_groups(store, ns)
        for group in targets:
            snapshots = by_group.get(group.key, [])
            snapshots.sort(key=lambda backup: backup.backup_time, reverse=True)
            del snapshots[self.limits.group_snapshots:]
            if not _same(group.snapshots, snapshots):
                group.snapshots = snapshots
                self._touch()
            group.fetched_at = now
            group.changed = False

    def _touch(self) -> None:
        self.version += 1
        self._flat = None

    def backups(self) -> list[PBSBackup]:
        """Return every kept snapshot, trimming the largest groups first when over ``max_snapshots``."""
        if self._flat is not None:
            return self._flat
        groups = list(self.groups.values())
        total = sum(len(group.snapshots) for group in groups)
        self.dropped = 0
        if total > self.limits.max_snapshots:
            keep = _per_group_allowance([len(group.snapshots) for group in groups], self.limits.max_snapshots)
            for group in groups:
                if len(group.snapshots) > keep:
                    self.dropped += len(group.snapshots) - keep
                    # Trimming the stored list, not only the output, is what bounds memory.
                    del group.snapshots[keep:]
        flat: list[PBSBackup] = []
        for group in groups:
            flat.extend(group.snapshots)
        self._flat = flat
        return flat


def _same(old: list[PBSBackup], new: list[PBSBackup]) -> bool:
    # Dataclass equality compares every field, which catches verification and comment changes.
    return len(old) == len(new) and all(a == b for a, b in zip(old, new))


def _per_group_allowance(sizes: list[int], cap: int) -> int:
    """Return the largest per-group count k with sum(min(size, k)) <= cap (at least 1)."""
    low, high = 1, max(sizes, default=1)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(size, middle) for size in sizes) <= cap:
            low = middle
        else:
            high = middle - 1
    return low
