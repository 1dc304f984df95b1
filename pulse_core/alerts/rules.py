"""Read the merged state and list what the alert rules look at: one observation per resource and metric.

A value of ``None`` means "unknown" (stale data, a missing guest agent, a node
whose stats expired). The state machine neither fires nor resolves on it.
Percentages are 0-100; ages are days; conditions are 1.0 (bad) or 0.0 (good).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pulse_core.backups import match_groups
from pulse_core.model import BackupTask, Guest, datastore_id

DAY_SECONDS = 86_400.0
# Connection-health statuses that mean "cannot reach it". A rejected login or a
# certificate mismatch is a configuration problem, shown in connection health instead.
UNREACHABLE_STATUSES = frozenset({"connect", "timeout"})
_SUCCESS_TASK_PREFIXES = ("OK", "WARNINGS")
_JOB_METRICS = {"verify": "verify_failed", "sync": "sync_failed", "prune": "prune_failed", "gc": "gc_failed"}


@dataclass(slots=True)
class Observation:
    """One metric value of one resource in the current state."""

    key: str
    resource_id: str
    resource_name: str
    resource_type: str
    metric: str
    value: float | None
    node: str | None
    instance: str | None
    # Changes when the instance was polled again; consecutive-poll counts use it.
    poll_marker: Any = None
    tags: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


def alert_key(resource_id: str, metric: str, sub: str | None = None) -> str:
    return f"{resource_id}/{metric}" if sub is None else f"{resource_id}/{metric}/{sub}"


def _percent(usage: Any, stale: bool) -> float | None:
    if stale:
        return None
    return usage.percent


def _condition(bad: bool | None) -> float | None:
    if bad is None:
        return None
    return 1.0 if bad else 0.0


def _task_succeeded(task: BackupTask) -> bool:
    return task.status.upper().startswith(_SUCCESS_TASK_PREFIXES)


def _task_finished(task: BackupTask) -> bool:
    return task.end_time is not None and task.status.lower() not in ("", "running")


class StateReader:
    """Extract observations from a ``State`` (duck-typed: ``instances`` with per-kind lists and health)."""

    def __init__(self, now: float, first_seen: dict[str, float]) -> None:
        self.now = now
        # When each guest was first seen, so "never backed up" ages from that moment.
        self.first_seen = first_seen
        self.pbs_known = False

    def observations(self, state: Any) -> Iterator[Observation]:
        pbs_backup_times = self._pbs_backup_times(state)
        # Any PBS snapshot shows backups are monitored, even one no guest of this instance matched.
        self.pbs_known = any(current.pbs_backups for current in state.instances.values())
        for instance, current in state.instances.items():
            health = current.health
            marker = (current.last_update, getattr(health, "last_success", None), getattr(health, "last_error", None))
            unreachable = health is not None and not health.healthy and health.status in UNREACHABLE_STATUSES
            yield from self._nodes(instance, current, marker, unreachable)
            yield from self._guests(instance, current, marker, pbs_backup_times)
            yield from self._storage(instance, current, marker)
            yield from self._pbs(instance, current, marker, unreachable)
            yield from _physical_disks(instance, current, marker)
            yield from _ceph(instance, current, marker)
            yield from _replication(instance, current, marker)

    # --- nodes ---------------------------------------------------------------------------------

    def _nodes(self, instance: str, current: Any, marker: Any, unreachable: bool) -> Iterator[Observation]:
        for node in current.nodes:
            base = dict(resource_id=node.id, resource_name=node.name, resource_type="node",
                        node=node.name, instance=instance, poll_marker=marker)
            for metric, value in (
                ("cpu", None if node.stale or node.cpu is None else node.cpu * 100.0),
                ("memory", _percent(node.memory, node.stale)),
                ("disk", _percent(node.disk, node.stale)),
            ):
                if node.status != "online":
                    value = None
                yield Observation(key=alert_key(node.id, metric), metric=metric, value=value, **base)
            if unreachable or node.status == "offline":
                offline: bool | None = True
            elif node.status == "online" and not node.stale:
                offline = False
            else:
                offline = None
            yield Observation(key=alert_key(node.id, "offline"), metric="offline", value=_condition(offline), **base)

    # --- guests --------------------------------------------------------------------------------

    def _guests(
        self, instance: str, current: Any, marker: Any, pbs_backup_times: dict[str, float]
    ) -> Iterator[Observation]:
        last_backup = self._last_backups(instance, current, pbs_backup_times)
        latest_task = self._latest_tasks(current.backup_tasks)
        oldest_snapshot: dict[int, float] = {}
        for snapshot in current.guest_snapshots:
            if snapshot.name == "current" or snapshot.snaptime is None:
                continue
            previous = oldest_snapshot.get(snapshot.vmid)
            oldest_snapshot[snapshot.vmid] = snapshot.snaptime if previous is None else min(previous, snapshot.snaptime)
        backups_known = bool(current.backup_tasks or current.storage_backups or self.pbs_known)
        for guest in current.guests:
            if guest.template:
                continue
            self.first_seen.setdefault(guest.id, self.now)
            base = dict(resource_id=guest.id, resource_name=guest.name or str(guest.vmid), resource_type="guest",
                        node=guest.node, instance=instance, poll_marker=marker, tags=tuple(guest.tags),
                        detail={"vmid": guest.vmid, "guestType": guest.type})
            for metric, value in self._guest_usage(guest):
                yield Observation(key=alert_key(guest.id, metric), metric=metric, value=value, **base)

            powered_off = None if guest.stale else {"stopped": True, "running": False}.get(guest.status)
            yield Observation(key=alert_key(guest.id, "powered_off"), metric="powered_off",
                              value=_condition(powered_off), **base)

            task = latest_task.get(guest.vmid)
            failed = None if task is None else not _task_succeeded(task)
            yield Observation(key=alert_key(guest.id, "backup_failed"), metric="backup_failed",
                              value=_condition(failed), **base)

            age: float | None = None
            if backups_known:
                since = last_backup.get(guest.vmid, self.first_seen[guest.id])
                age = max(0.0, (self.now - since) / DAY_SECONDS)
            yield Observation(key=alert_key(guest.id, "backup_age"), metric="backup_age", value=age, **base)

            # The state cannot tell "snapshots not fetched yet" from "none anywhere", so an
            # empty list means unknown; an empty list cannot give an old snapshot anyway.
            snap_age: float | None = None
            if current.guest_snapshots:
                oldest = oldest_snapshot.get(guest.vmid)
                snap_age = 0.0 if oldest is None else max(0.0, (self.now - oldest) / DAY_SECONDS)
            yield Observation(key=alert_key(guest.id, "snapshot_age"), metric="snapshot_age", value=snap_age, **base)

    @staticmethod
    def _guest_usage(guest: Guest) -> list[tuple[str, float | None]]:
        if guest.stale or guest.status not in ("running", "stopped"):
            return [("cpu", None), ("memory", None), ("disk", None)]
        if guest.status == "stopped":
            # A stopped guest uses no CPU or memory; its disk usage is still real for containers.
            return [("cpu", 0.0), ("memory", 0.0), ("disk", guest.disk.percent)]
        cpu = None if guest.cpu is None or "cpu" in guest.stale_fields else guest.cpu * 100.0
        memory = None if "memory" in guest.stale_fields else guest.memory.percent
        disk = None if "disk" in guest.stale_fields else guest.disk.percent
        return [("cpu", cpu), ("memory", memory), ("disk", disk)]

    @staticmethod
    def _latest_tasks(tasks: list[BackupTask]) -> dict[int, BackupTask]:
        latest: dict[int, BackupTask] = {}
        for task in tasks:
            if task.vmid is None or not _task_finished(task):
                continue
            previous = latest.get(task.vmid)
            if previous is None or task.start_time > previous.start_time:
                latest[task.vmid] = task
        return latest

    def _last_backups(self, instance: str, current: Any, pbs_backup_times: dict[str, float]) -> dict[int, float]:
        times: dict[int, float] = {}

        def record(vmid: int | None, ts: float | None) -> None:
            if vmid is not None and ts is not None and ts > times.get(vmid, float("-inf")):
                times[vmid] = ts

        for task in current.backup_tasks:
            if _task_finished(task) and _task_succeeded(task):
                record(task.vmid, task.end_time)
        for backup in current.storage_backups:
            record(backup.vmid, backup.ctime)
        for guest in current.guests:
            # Keyed by guest id: pulse_core.backups matched each PBS group to its cluster's guest.
            record(guest.vmid, pbs_backup_times.get(guest.id))
        return times

    @staticmethod
    def _pbs_backup_times(state: Any) -> dict[str, float]:
        """Return the newest PBS backup time per guest id, over every PBS connection."""
        instances = list(state.instances.values())
        pbs_backups = [backup for current in instances for backup in current.pbs_backups]
        if not pbs_backups:
            return {}
        matches = match_groups(
            [guest for current in instances for guest in current.guests],
            pbs_backups,
            [entry for current in instances for entry in current.storage],
            [item for current in instances for item in current.storage_backups],
            {pbs.id: pbs.host for current in instances for pbs in current.pbs},
        )
        times: dict[str, float] = {}
        for backup in pbs_backups:
            match = matches.get((backup.instance, backup.datastore, backup.namespace, backup.backup_type,
                                 backup.backup_id))
            # An ambiguous group counts for every candidate guest, as a backup may be theirs.
            for guest_id in match.guest_ids if match else ():
                if backup.backup_time > times.get(guest_id, float("-inf")):
                    times[guest_id] = float(backup.backup_time)
        return times

    # --- storage -------------------------------------------------------------------------------

    @staticmethod
    def _storage(instance: str, current: Any, marker: Any) -> Iterator[Observation]:
        for storage in current.storage:
            if not storage.enabled:
                continue
            base = dict(resource_id=storage.id, resource_name=storage.name, resource_type="storage",
                        node=storage.node, instance=instance, poll_marker=marker)
            yield Observation(key=alert_key(storage.id, "usage"), metric="usage",
                              value=_percent(storage.usage, storage.stale), **base)
            if storage.stale or storage.status == "unknown":
                unavailable: bool | None = None
            else:
                unavailable = not storage.active or storage.status != "available"
            yield Observation(key=alert_key(storage.id, "unavailable"), metric="unavailable",
                              value=_condition(unavailable), **base)

    # --- PBS -----------------------------------------------------------------------------------

    @staticmethod
    def _pbs(instance: str, current: Any, marker: Any, unreachable: bool) -> Iterator[Observation]:
        for pbs in current.pbs:
            if unreachable or pbs.status == "offline":
                offline: bool | None = True
            elif pbs.status == "online" and not pbs.stale:
                offline = False
            else:
                offline = None
            yield Observation(key=alert_key(pbs.id, "offline"), metric="offline", value=_condition(offline),
                              resource_id=pbs.id, resource_name=pbs.name, resource_type="pbs", node=None,
                              instance=instance, poll_marker=marker)
            names = {store.name: store for store in pbs.datastores}
            for store in pbs.datastores:
                yield Observation(key=alert_key(store.id, "usage"), metric="usage",
                                  value=_percent(store.usage, store.stale), resource_id=store.id,
                                  resource_name=f"{pbs.name}/{store.name}", resource_type="datastore", node=None,
                                  instance=instance, poll_marker=marker)
            for job in pbs.jobs:
                metric = _JOB_METRICS.get(job.kind)
                if metric is None:
                    continue
                store = names.get(job.store)
                store_id = store.id if store is not None else datastore_id(pbs.id, job.store)
                result = job.last_result
                failed = None if not result else result.strip().upper() != "OK"
                yield Observation(key=alert_key(store_id, metric, job.id), metric=metric, value=_condition(failed),
                                  resource_id=store_id, resource_name=f"{pbs.name}/{job.store}",
                                  resource_type="datastore", node=None, instance=instance, poll_marker=marker,
                                  detail={"job": job.id, "lastResult": result, "lastRun": job.last_run})



# --- disks, Ceph and replication ---------------------------------------------------------------


def _physical_disks(instance: str, current: Any, marker: Any) -> Iterator[Observation]:
    for disk in getattr(current, "physical_disks", ()):
        failed = None if disk.stale else disk.failed
        yield Observation(
            key=alert_key(disk.id, "failed"), metric="failed", value=_condition(failed), resource_id=disk.id,
            resource_name=f"{disk.devpath} on {disk.node}", resource_type="physical_disk", node=disk.node,
            instance=instance, poll_marker=marker,
            detail={"devPath": disk.devpath, "model": disk.model, "serial": disk.serial, "health": disk.health,
                    "reason": ", ".join(part for part in (disk.model, disk.serial and f"serial {disk.serial}") if part)},
        )


def _ceph(instance: str, current: Any, marker: Any) -> Iterator[Observation]:
    for ceph in getattr(current, "ceph_clusters", ()):
        health = None if ceph.stale else ceph.health
        warn = None if health is None else health == "HEALTH_WARN"
        error = None if health is None else health == "HEALTH_ERR"
        messages = [check["message"] for check in ceph.checks if not check.get("muted")]
        detail = {"health": health, "checks": [check["name"] for check in ceph.checks],
                  "reason": "; ".join(messages[:3]) or health}
        base = dict(resource_id=ceph.id, resource_name=instance, resource_type="ceph", node=None,
                    instance=instance, poll_marker=marker, detail=detail)
        yield Observation(key=alert_key(ceph.id, "health_warn"), metric="health_warn", value=_condition(warn), **base)
        yield Observation(key=alert_key(ceph.id, "health_err"), metric="health_err", value=_condition(error), **base)


def _replication(instance: str, current: Any, marker: Any) -> Iterator[Observation]:
    for job in getattr(current, "replication_jobs", ()):
        failed = None if job.stale or job.disabled else job.fail_count > 0
        reason = f"{job.fail_count} failed runs: {job.error or 'see the replication log'}"
        yield Observation(
            key=alert_key(job.id, "failed"), metric="failed", value=_condition(failed), resource_id=job.id,
            resource_name=f"{job.job_id} (guest {job.guest} to {job.target})", resource_type="replication",
            node=job.source, instance=instance, poll_marker=marker,
            detail={"replicationJob": job.job_id, "guest": job.guest, "failCount": job.fail_count,
                    "lastSync": job.last_sync, "reason": reason},
        )
