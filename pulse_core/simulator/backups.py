"""vzdump backup runs: the task, its per-guest log and the backup files it leaves on storage."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from pulse_core.simulator.scenario import StorageSpec
from pulse_core.simulator.state import GiB, BackupFile, Guest, PVEState, Task, make_task


@dataclass
class VzdumpRun:
    """One vzdump job on one node, planned in full when it starts.

    While it runs, its task shows only the first log line, has no status and
    its guests carry ``lock: backup``. :meth:`finish` writes the rest.
    """

    task: Task
    endtime: int
    status: str
    log: list[str]
    backups: list[BackupFile] = field(default_factory=list)
    guests: list[Guest] = field(default_factory=list)

    def finish(self, state: PVEState) -> None:
        for backup in self.backups:
            state.adopt(backup)
            state.backups.append(backup)
        for guest in self.guests:
            if guest.lock == "backup":
                guest.lock = None
        self.task.log = list(self.log)
        self.task.endtime = self.endtime
        self.task.status = self.status
        if self.task not in state.tasks.get(self.task.node, []):
            state.add_task(self.task)


def backup_target(storages: list[StorageSpec]) -> StorageSpec | None:
    """Return the storage nightly backups go to: a PBS storage if any, else the last one for backups."""
    candidates = [spec for spec in storages if "backup" in spec.content.split(",")]
    if not candidates:
        return None
    return next((spec for spec in candidates if spec.type == "pbs"), candidates[-1])


def plan_vzdump(
    state: PVEState,
    rng: random.Random,
    node: str,
    guests: list[Guest],
    start: int,
    target: StorageSpec,
    *,
    failure_share: float = 0.0,
    fail: set[int] | None = None,
) -> VzdumpRun:
    """Plan a vzdump of ``guests`` starting at ``start``; guests in ``fail`` (or by chance) fail."""
    task = make_task(state, rng, node, start, "vzdump", "", "root@pam")
    clock = start
    log = [f"INFO: starting new backup job: vzdump --all 1 --mode snapshot --storage {target.name} --quiet 1 --node {node}"]
    backups: list[BackupFile] = []
    failures = 0
    for guest in guests:
        label = "VM" if guest.type == "qemu" else "CT"
        size = int(guest.maxdisk * rng.uniform(0.05, 0.4))
        stamp = _format_time(clock, "%Y-%m-%dT%H:%M:%SZ")
        log.append(f"INFO: Starting Backup of VM {guest.vmid} ({guest.type})")
        log.append(f"INFO: Backup started at {_format_time(clock, '%Y-%m-%d %H:%M:%S')}")
        duration = rng.randint(5, 600)
        clock += duration
        failed = rng.random() < failure_share
        if fail is not None:
            failed = guest.vmid in fail
        if failed:
            failures += 1
            log.append(
                f"ERROR: Backup of VM {guest.vmid} failed - unable to open file "
                f"'/var/tmp/vzdumptmp{guest.vmid}' - No space left on device"
            )
            continue
        if target.type == "pbs":
            kind = "vm" if guest.type == "qemu" else "ct"
            volid = f"{target.name}:backup/{kind}/{guest.vmid}/{stamp}"
            file_format = f"pbs-{kind}"
        else:
            extension = "vma.zst" if guest.type == "qemu" else "tar.zst"
            started = _format_time(clock - duration, "%Y_%m_%d-%H_%M_%S")
            volid = f"{target.name}:backup/vzdump-{guest.type}-{guest.vmid}-{started}.{extension}"
            file_format = extension
        log.append(f"INFO: creating {label} archive '{volid}'")
        log.append(f"INFO: transferred {size / GiB:.2f} GiB in {duration} seconds")
        log.append(f"INFO: Finished Backup of VM {guest.vmid} ({duration // 3600:02d}:{duration % 3600 // 60:02d}:{duration % 60:02d})")
        backups.append(BackupFile(
            storage=target.name,
            volid=volid,
            vmid=guest.vmid,
            guest_type=guest.type,
            ctime=clock - duration,
            size=size,
            format=file_format,
            notes=guest.name,
            protected=rng.random() < 0.02,
        ))
    if failures:
        log += ["INFO: Backup job finished with errors", "TASK ERROR: job errors"]
        status = "job errors"
    else:
        log += ["INFO: Backup job finished successfully", "TASK OK"]
        status = "OK"
    return VzdumpRun(task=task, endtime=clock, status=status, log=log, backups=backups, guests=list(guests))


def _format_time(epoch: float, pattern: str) -> str:
    return time.strftime(pattern, time.gmtime(epoch))
