"""Backups and snapshots from the merged state: PVE backup tasks and files, PBS snapshots, guest snapshots."""

from __future__ import annotations

from typing import Any

import time

from quart import Blueprint, Response

from pulse_core.backups import GuestBackup, last_backups

from pulse_core.state import backup_task_to_api, pbs_backup_to_api, snapshot_to_api, storage_backup_to_api
from pulse_core.web.jsonio import current_daemon, json_response

blueprint = Blueprint("backups", __name__)


def _pve(state: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        "backupTasks": [backup_task_to_api(task) for task in state.all("backup_tasks")],
        "storageBackups": [storage_backup_to_api(item) for item in state.all("storage_backups")],
        "guestSnapshots": [snapshot_to_api(item) for item in state.all("guest_snapshots")],
    }


def _pbs(state: Any) -> list[dict[str, Any]]:
    return [pbs_backup_to_api(item) for item in state.all("pbs_backups")]


def unified_backups(state: Any) -> list[dict[str, Any]]:
    """Return every backup copy (PVE storage files and PBS snapshots) in one list, newest first.

    Each entry has the same keys whatever its source, so a client can sort and
    filter them together. ``source`` names the API that listed the copy: "pve" for
    files on a PVE storage (a PBS storage included, seen through PVE), "pbs"
    for snapshots listed by the PBS server itself.
    """
    entries: list[dict[str, Any]] = []
    for item in state.all("storage_backups"):
        entries.append({
            "id": item.id, "source": "pve", "instance": item.instance,
            "node": item.node, "location": item.storage, "vmid": item.vmid, "type": item.guest_type,
            "time": item.ctime, "size": item.size, "protected": item.protected,
            "verification": item.verification, "notes": item.notes,
        })
    for item in state.all("pbs_backups"):
        guest_type = {"vm": "qemu", "ct": "lxc"}.get(item.backup_type, item.backup_type)
        vmid = int(item.backup_id) if item.backup_id.isdigit() else None
        entries.append({
            "id": item.id, "source": "pbs", "instance": item.instance, "node": None,
            "location": f"{item.datastore}/{item.namespace}" if item.namespace else item.datastore,
            "vmid": vmid, "type": guest_type, "time": item.backup_time, "size": item.size,
            "protected": item.protected, "verification": item.verification, "notes": item.comment,
        })
    entries.sort(key=lambda entry: entry["time"] or 0, reverse=True)
    return entries


@blueprint.get("/api/backups")
async def backups() -> Response:
    state = current_daemon().state
    return json_response({**_pve(state), "pbsBackups": _pbs(state)})


@blueprint.get("/api/backups/unified")
async def backups_unified() -> Response:
    return json_response({"backups": unified_backups(current_daemon().state)})


@blueprint.get("/api/backups/pve")
async def backups_pve() -> Response:
    return json_response(_pve(current_daemon().state))


@blueprint.get("/api/backups/pbs")
async def backups_pbs() -> Response:
    return json_response({"pbsBackups": _pbs(current_daemon().state)})


def guest_backup_to_api(entry: GuestBackup) -> dict[str, Any]:
    return {
        "guestId": entry.guest_id, "instance": entry.instance, "vmid": entry.vmid, "time": entry.time,
        "source": entry.source, "verification": entry.verification, "pbsInstance": entry.pbs_instance,
        "datastore": entry.datastore, "namespace": entry.namespace, "ambiguous": entry.ambiguous,
        "ambiguousWith": entry.ambiguous_with, "missing": entry.missing,
    }


@blueprint.get("/api/backups/guests")
async def backups_per_guest() -> Response:
    state = current_daemon().state
    entries = last_backups(
        state.all("guests"),
        state.all("pbs_backups"),
        now=time.time(),
        storage=state.all("storage"),
        storage_backups=state.all("storage_backups"),
        backup_tasks=state.all("backup_tasks"),
        pbs_hosts={pbs.id: pbs.host for pbs in state.all("pbs")},
    )
    return json_response({"guests": [guest_backup_to_api(entry) for entry in entries.values()]})


@blueprint.get("/api/snapshots")
async def snapshots() -> Response:
    state = current_daemon().state
    return json_response({"snapshots": [snapshot_to_api(item) for item in state.all("guest_snapshots")]})
