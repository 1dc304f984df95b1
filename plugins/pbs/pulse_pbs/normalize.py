"""Every conversion from PBS API items to ``pulse_core`` model objects, in one place.

PBS is written in Rust and sends typed JSON (real booleans and numbers), but
the same fields are read defensively: a proxy or an older release may send
numbers as strings, and optional fields are absent rather than null.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from pulse_core import Datastore, PBSBackup, PBSInstance, PBSJob, PBSTask, Usage, datastore_id

BACKUP_TYPES = ("vm", "ct", "host")
VERIFICATION_STATES = ("ok", "failed")


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --- server -----------------------------------------------------------------------------------


def version_string(data: Any) -> str | None:
    """Join ``/version``'s ``version`` (major.minor) and ``release`` (patch) into e.g. "4.0.14"."""
    if not isinstance(data, Mapping):
        return None
    version = text_or_none(data.get("version"))
    release = text_or_none(data.get("release"))
    if version and release:
        return f"{version}.{release}"
    return version


def apply_node_status(server: PBSInstance, status: Any) -> None:
    """Fill CPU, memory, root disk, load and uptime from ``/nodes/localhost/status``."""
    if not isinstance(status, Mapping):
        return
    server.cpu = as_float(status.get("cpu"))
    memory = status.get("memory")
    if isinstance(memory, Mapping):
        server.memory = Usage(total=as_int(memory.get("total")), used=as_int(memory.get("used")),
                              free=as_int(memory.get("free")))
    root = status.get("root")
    if isinstance(root, Mapping):
        server.disk = Usage(total=as_int(root.get("total")), used=as_int(root.get("used")),
                            free=as_int(root.get("avail")))
    server.uptime = as_int(status.get("uptime"))
    load = status.get("loadavg")
    if isinstance(load, (list, tuple)) and len(load) >= 3:
        values = [as_float(item) for item in load[:3]]
        if all(value is not None for value in values):
            server.loadavg = (values[0], values[1], values[2])  # type: ignore[assignment]


# --- datastores -------------------------------------------------------------------------------


def dedup_factor(gc_status: Any) -> float | None:
    """Return the deduplication factor: bytes referenced by indexes per byte stored on disk.

    Both numbers come from the last garbage collection, so the factor is None
    until GC has run once (both are 0 then).
    """
    if not isinstance(gc_status, Mapping):
        return None
    referenced = as_int(gc_status.get("index-data-bytes"))
    on_disk = as_int(gc_status.get("disk-bytes"))
    if not referenced or not on_disk:
        return None
    return round(referenced / on_disk, 2)


def gc_state(gc_job: Mapping[str, Any] | None, gc_status: Any) -> tuple[str | None, int | None]:
    """Return the GC result ("OK", an error text, "running" or "never run") and when it last ended.

    ``gc_job`` is the store's ``/admin/gc`` entry, which carries the last run.
    ``gc_status`` (from datastore-usage) only shows whether GC ever ran.
    """
    if gc_job is not None:
        state = text_or_none(gc_job.get("last-run-state"))
        if state is not None:
            return state, as_int(gc_job.get("last-run-endtime"))
        return ("running" if gc_job.get("upid") else "never run"), None
    if isinstance(gc_status, Mapping):
        return (None if gc_status.get("upid") else "never run"), None
    return None, None


def datastore(
    instance: str,
    listed: Mapping[str, Any] | None,
    usage: Mapping[str, Any] | None,
    gc_job: Mapping[str, Any] | None,
) -> Datastore:
    """Build one datastore from its ``/admin/datastore`` entry, ``/status/datastore-usage`` entry and GC job.

    A store that is not mounted, in offline maintenance or reporting an error
    is returned with that status instead of raising, so it does not fail the poll.
    """
    listed = listed or {}
    usage = usage or {}
    name = str(listed.get("store") or usage.get("store") or "")
    mount_status = text_or_none(listed.get("mount-status") or usage.get("mount-status"))
    maintenance = text_or_none(listed.get("maintenance"))
    error = text_or_none(usage.get("error"))
    store = Datastore(
        id=datastore_id(instance, name),
        name=name,
        instance=instance,
        comment=text_or_none(listed.get("comment")),
        mount_status=mount_status,
        backend_type=text_or_none(listed.get("backend-type") or usage.get("backend-type")),
        maintenance=maintenance,
        removable=mount_status in ("mounted", "notmounted"),
        error=error,
    )
    total = as_int(usage.get("total"))
    used = as_int(usage.get("used"))
    avail = as_int(usage.get("avail"))
    # PBS reports -1 for sizes it could not read.
    if total is not None and total >= 0:
        store.usage = Usage(total=total, used=used if used is not None and used >= 0 else None,
                            free=avail if avail is not None and avail >= 0 else None)
    full = as_int(usage.get("estimated-full-date"))
    # 0 means flat usage (never full); a date in the past means shrinking usage.
    store.estimated_full = full if full and full > 0 else None
    gc_status = usage.get("gc-status")
    store.dedup_factor = dedup_factor(gc_status if isinstance(gc_status, Mapping) else gc_job)
    store.gc_status, store.gc_last_run = gc_state(gc_job, gc_status)

    maintenance_type = maintenance.split(",", 1)[0].removeprefix("type=") if maintenance else None
    if mount_status == "notmounted":
        store.status = "not-mounted"
    elif error:
        store.status = "unavailable"
    elif maintenance_type == "offline":
        store.status = "maintenance"
    elif not usage:
        # Listed but absent from datastore-usage: visible only through a namespace ACL.
        store.status = "unknown"
    elif maintenance_type:
        store.status = "maintenance"
    else:
        store.status = "available"
    return store


# --- jobs and tasks -----------------------------------------------------------------------------


def job(kind: str, item: Mapping[str, Any]) -> PBSJob | None:
    """Build a sync, verify, prune or GC job from ``/admin/<kind>`` (GC jobs are named by their store)."""
    store = text_or_none(item.get("store"))
    job_id = text_or_none(item.get("id")) or (store if kind == "gc" else None)
    if job_id is None or store is None:
        return None
    return PBSJob(
        id=job_id,
        kind=kind,  # type: ignore[arg-type]
        store=store,
        last_run=as_int(item.get("last-run-endtime")),
        last_result=text_or_none(item.get("last-run-state")),
        next_run=as_int(item.get("next-run")),
        schedule=text_or_none(item.get("schedule")),
        last_upid=text_or_none(item.get("last-run-upid") or (item.get("upid") if kind == "gc" else None)),
    )


def task_store(worker_type: str, worker_id: str | None) -> str | None:
    """Return the datastore a task worked on, read from its worker id.

    Worker ids are "store" (garbage_collection), "store:vm/101" (backup,
    verify), "store:job" (verificationjob, prunejob) and
    "remote:remote-store:store:ns:job" (syncjob).
    """
    if not worker_id:
        return None
    parts = worker_id.replace("\\x3a", ":").split(":")
    if worker_type == "syncjob":
        return parts[2] if len(parts) >= 3 and parts[2] else None
    return parts[0] or None


def task(item: Mapping[str, Any]) -> PBSTask | None:
    upid = text_or_none(item.get("upid"))
    start = as_int(item.get("starttime"))
    if upid is None or start is None:
        return None
    # PBS uses snake_case worker_type/worker_id where PVE has type/id.
    worker_type = str(item.get("worker_type") or item.get("type") or "")
    worker_id = text_or_none(item.get("worker_id") if "worker_id" in item else item.get("id"))
    return PBSTask(
        upid=upid,
        worker_type=worker_type,
        worker_id=worker_id,
        user=str(item.get("user") or ""),
        start_time=start,
        end_time=as_int(item.get("endtime")),
        status=text_or_none(item.get("status")),
        store=task_store(worker_type, worker_id),
    )


def task_failed(item: PBSTask) -> bool:
    """Tell whether a finished task failed: its status is neither OK nor a warnings count."""
    if item.status is None:
        return False
    return item.status != "OK" and not item.status.startswith("WARNINGS")


# --- snapshots ----------------------------------------------------------------------------------


def backup_key(store: str, ns: str, backup_type: str, backup_id: str) -> tuple[str, str, str, str]:
    return (store, ns, backup_type, backup_id)


def snapshot_id(instance: str, store: str, ns: str, backup_type: str, backup_id: str, backup_time: int) -> str:
    # Namespaces contain "/" and ids may contain "." or "-", so ":" separates the parts.
    return f"{datastore_id(instance, store)}:{ns}:{backup_type}/{backup_id}/{backup_time}"


def crypt_mode(files: Any) -> str | None:
    """Return the strongest crypt mode over a snapshot's files, or None when no file states one.

    The manifest of an encrypted snapshot is "sign-only" and the client log has
    no mode, so one "encrypt" file makes the snapshot encrypted.
    """
    modes = {item.get("crypt-mode") for item in files if isinstance(item, Mapping)} if isinstance(files, list) else set()
    for mode in ("encrypt", "sign-only", "none"):
        if mode in modes:
            return mode
    return None


def verification(value: Any) -> str:
    """Return "ok", "failed" or "none"; PBS leaves the field out for never-verified snapshots."""
    if isinstance(value, Mapping):
        state = str(value.get("state") or "").lower()
        if state in VERIFICATION_STATES:
            return state
    return "none"


def _shared(text: str | None) -> str | None:
    # File names, owners and ids repeat across thousands of snapshots; one copy each saves memory.
    return None if text is None else sys.intern(text)


def snapshot(instance: str, store: str, ns: str, item: Any) -> PBSBackup | None:
    """Build one snapshot from ``/admin/datastore/{store}/snapshots``; None for an unusable item."""
    if not isinstance(item, Mapping):
        return None
    backup_type = str(item.get("backup-type") or "")
    backup_id = text_or_none(item.get("backup-id"))
    backup_time = as_int(item.get("backup-time"))
    if backup_type not in BACKUP_TYPES or backup_id is None or backup_time is None:
        return None
    files = item.get("files")
    mode = crypt_mode(files)
    return PBSBackup(
        id=snapshot_id(instance, store, ns, backup_type, backup_id, backup_time),
        instance=instance,
        datastore=store,
        namespace=ns,
        backup_type=backup_type,  # type: ignore[arg-type]
        backup_id=sys.intern(backup_id),
        backup_time=backup_time,
        size=as_int(item.get("size")),
        protected=as_bool(item.get("protected")),
        comment=text_or_none(item.get("comment")),
        verification=verification(item.get("verification")),  # type: ignore[arg-type]
        encrypted=mode == "encrypt",
        owner=_shared(text_or_none(item.get("owner"))),
        files=[sys.intern(str(entry["filename"])) for entry in files if isinstance(entry, Mapping) and entry.get("filename")]
        if isinstance(files, list) else [],
        crypt_mode=mode,
    )
