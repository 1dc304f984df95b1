"""Normalization of recorded PBS responses and of edge cases the recordings do not show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from pulse_pbs import normalize as nz

SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "proxmox-samples"


def sample(name: str) -> Any:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"recorded sample {name} not found; the shared reference directory is not next to the repository")
    return orjson.loads(path.read_bytes())["data"]


def test_encrypted_verified_snapshot():
    item = sample("pbs-datastore-snapshots.gerrrt-homelab.json")[0]
    backup = nz.snapshot("pbs1", "erebor", "", item)
    assert backup is not None
    assert backup.backup_type == "vm"
    assert backup.backup_id == "152"
    assert backup.backup_time == 1791087763
    assert backup.size == 85904082241
    assert backup.verification == "ok"
    assert backup.encrypted is True
    assert backup.crypt_mode == "encrypt"
    assert backup.owner == "pve@pbs!saruman"
    assert backup.protected is False
    assert backup.comment == "titan"
    assert backup.files == ["qemu-server.conf.blob", "drive-scsi0.img.fidx", "index.json.blob", "client.log.blob"]
    assert backup.id == "pbs1-erebor::vm/152/1791087763"


def test_gc_job_after_first_run():
    item = sample("pbs-admin-gc.gerrrt-homelab.json")[0]
    job = nz.job("gc", item)
    assert (job.id, job.store, job.kind) == ("erebor", "erebor", "gc")
    assert job.last_result == "OK"
    assert job.last_run == 1791118715
    assert job.next_run == 1791626400
    assert job.schedule == "sat 03:00"
    # 575554027520 referenced / 115363386675 on disk.
    assert nz.dedup_factor(item) == 4.99
    assert nz.gc_state(item, None) == ("OK", 1791118715)


def test_gc_never_run():
    item = sample("pbs-admin-gc-never-run.gerrrt-homelab.json")[0]
    job = nz.job("gc", item)
    assert job.last_result is None
    assert job.last_run is None
    assert nz.dedup_factor(item) is None
    assert nz.gc_state(item, None) == ("never run", None)
    store = nz.datastore("pbs1", {"store": "erebor"}, {"store": "erebor", "total": 10, "used": 1, "avail": 9}, item)
    assert store.gc_status == "never run"
    assert store.dedup_factor is None


def test_verify_job_with_escaped_worker_id():
    item = sample("pbs-admin-verify.gerrrt-homelab.json")[0]
    job = nz.job("verify", item)
    assert (job.id, job.store, job.last_result) == ("weekly", "erebor", "OK")
    assert job.last_run == 1791110495
    assert job.next_run == 1791712800
    assert job.last_upid.endswith(":verificationjob:erebor\\x3aweekly:root@pam:")


def test_prune_job():
    item = sample("pbs-admin-prune.gerrrt-homelab.json")[0]
    job = nz.job("prune", item)
    assert (job.id, job.kind, job.store, job.schedule) == ("daily", "prune", "erebor", "daily")
    assert job.last_run == 1791097200


@pytest.mark.parametrize(
    "value, expected",
    [(None, "none"), ({"state": "ok", "upid": "U"}, "ok"), ({"state": "failed"}, "failed"), ({"state": "odd"}, "none")],
)
def test_verification_states(value, expected):
    assert nz.verification(value) == expected


def test_snapshot_in_progress_has_no_sizes():
    backup = nz.snapshot("pbs1", "s1", "ns", {"backup-type": "ct", "backup-id": "200", "backup-time": "1700000000",
                                              "files": [{"filename": "root.pxar.didx"}], "protected": 0})
    assert backup.size is None
    assert backup.crypt_mode is None
    assert backup.encrypted is False
    assert backup.backup_time == 1700000000


@pytest.mark.parametrize("item", [None, {}, {"backup-type": "disk", "backup-id": "1", "backup-time": 1},
                                  {"backup-type": "vm", "backup-time": 1}, {"backup-type": "vm", "backup-id": "1"}])
def test_unusable_snapshot_items_are_skipped(item):
    assert nz.snapshot("pbs1", "s1", "", item) is None


def test_version_joins_release():
    assert nz.version_string({"version": "3.2", "release": "7", "repoid": "x"}) == "3.2.7"
    assert nz.version_string({"version": "3.2"}) == "3.2"
    assert nz.version_string(None) is None


@pytest.mark.parametrize(
    "listed, usage, status",
    [
        ({"store": "s", "mount-status": "notmounted"}, {"store": "s", "error": "not mounted"}, "not-mounted"),
        ({"store": "s"}, {"store": "s", "error": "chunk store missing"}, "unavailable"),
        ({"store": "s", "maintenance": "type=offline,message=swap"}, {"store": "s", "total": 1, "used": 0, "avail": 1},
         "maintenance"),
        ({"store": "s", "maintenance": "read-only"}, {"store": "s", "total": 1, "used": 0, "avail": 1}, "maintenance"),
        ({"store": "s"}, None, "unknown"),
        ({"store": "s"}, {"store": "s", "total": 1, "used": 0, "avail": 1}, "available"),
    ],
)
def test_datastore_status(listed, usage, status):
    assert nz.datastore("pbs1", listed, usage, None).status == status


def test_flat_usage_has_no_full_date():
    store = nz.datastore("pbs1", {"store": "s"}, {"store": "s", "total": 10, "used": 5, "avail": 5,
                                                   "estimated-full-date": 0}, None)
    assert store.estimated_full is None
    assert store.usage.percent == 50.0


@pytest.mark.parametrize(
    "worker_type, worker_id, store",
    [("garbage_collection", "store1", "store1"), ("backup", "store1:vm/101", "store1"),
     ("verificationjob", "store1\\x3aweekly", "store1"), ("syncjob", "remote:mirror:store1::s-1", "store1"),
     ("logrotate", None, None)],
)
def test_task_store(worker_type, worker_id, store):
    assert nz.task_store(worker_type, worker_id) == store


def test_task_failure():
    base = {"upid": "UPID:x", "starttime": 1, "worker_type": "backup", "worker_id": None, "user": "root@pam"}
    assert nz.task_failed(nz.task({**base, "status": "OK"})) is False
    assert nz.task_failed(nz.task({**base, "status": "WARNINGS: 2"})) is False
    assert nz.task_failed(nz.task(base)) is False  # still running
    assert nz.task_failed(nz.task({**base, "status": "backup failed"})) is True
