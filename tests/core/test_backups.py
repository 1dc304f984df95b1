"""Matching PBS snapshots to PVE guests and each guest's last backup."""

from __future__ import annotations

from pulse_core.backups import last_backups, match_groups
from pulse_core.model import BackupTask, Guest, PBSBackup, Storage, StorageBackup, guest_id

DAY = 86400
NOW = 1767268800  # 2026-01-01T12:00:00Z


def guest(instance: str, vmid: int, kind: str = "qemu") -> Guest:
    return Guest(id=guest_id(instance, vmid), vmid=vmid, name=f"g{vmid}", node="pve1", instance=instance, type=kind)


def snapshot(vmid: str, when: int, *, pbs: str = "pbs1", store: str = "store1", ns: str = "",
             kind: str = "vm", verification: str = "ok") -> PBSBackup:
    return PBSBackup(id=f"{pbs}-{store}:{ns}:{kind}/{vmid}/{when}", instance=pbs, datastore=store, namespace=ns,
                     backup_type=kind, backup_id=vmid, backup_time=when, verification=verification)


def pbs_storage(instance: str, store: str, *, server: str = "pbs.example", ns: str | None = None) -> Storage:
    return Storage(id=f"{instance}-pve1-pbs", name="pbs", node="pve1", instance=instance, type="pbs",
                   pbs_server=server, pbs_datastore=store, pbs_namespace=ns)


def test_single_cluster_matches_by_type_and_id():
    result = last_backups([guest("a", 101)], [snapshot("101", NOW - 3600, ns="site-a")], now=NOW)
    entry = result["a-101"]
    assert entry.time == NOW - 3600
    assert entry.source == "pbs"
    assert entry.namespace == "site-a"
    assert entry.verification == "ok"
    assert entry.ambiguous is False
    assert entry.missing is False


def test_type_must_match():
    result = last_backups([guest("a", 101, "lxc")], [snapshot("101", NOW - 3600)], now=NOW)
    assert result["a-101"].time is None
    assert result["a-101"].missing is True


def test_host_backups_are_not_guests():
    matches = match_groups([guest("a", 101)], [snapshot("101", NOW, kind="host")])
    assert matches == {}


def test_two_clusters_without_hints_are_ambiguous():
    result = last_backups([guest("a", 101), guest("b", 101)], [snapshot("101", NOW - 60)], now=NOW)
    assert result["a-101"].ambiguous is True
    assert result["a-101"].ambiguous_with == ["b"]
    assert result["b-101"].ambiguous is True
    assert result["b-101"].time == NOW - 60


def test_storage_config_picks_the_writing_cluster():
    storages = [pbs_storage("a", "store1"), pbs_storage("b", "store2")]
    result = last_backups([guest("a", 101), guest("b", 101)], [snapshot("101", NOW - 60)], now=NOW,
                          storage=storages, pbs_hosts={"pbs1": "pbs.example:8007"})
    assert result["a-101"].time == NOW - 60
    assert result["a-101"].ambiguous is False
    assert result["b-101"].time is None


def test_storage_namespace_and_server_must_match():
    storages = [pbs_storage("a", "store1", ns="site-a"), pbs_storage("b", "store1", server="other.example")]
    matches = match_groups([guest("a", 101), guest("b", 101)], [snapshot("101", NOW, ns="site-a")], storages,
                           pbs_hosts={"pbs1": "pbs.example"})
    assert matches[("pbs1", "store1", "site-a", "vm", "101")].guest_ids == ["a-101"]


def test_listed_backup_time_picks_the_cluster():
    listed = StorageBackup(id="x", volid="pbs:backup/vm/101/2026-01-01T11:59:00Z", storage="pbs", node="pve1",
                           instance="b", vmid=101, guest_type="qemu", ctime=NOW - 60, is_pbs=True)
    result = last_backups([guest("a", 101), guest("b", 101)], [snapshot("101", NOW - 60)], now=NOW,
                          storage_backups=[listed])
    assert result["b-101"].source in ("pbs", "pve")
    assert result["b-101"].ambiguous is False
    assert result["a-101"].time is None


def test_newest_source_wins():
    task = BackupTask(id="t", upid="UPID:x", node="pve1", instance="a", vmid=101, status="OK",
                      start_time=NOW - 100, end_time=NOW - 50)
    result = last_backups([guest("a", 101)], [snapshot("101", NOW - DAY)], now=NOW, backup_tasks=[task])
    assert result["a-101"].source == "task"
    assert result["a-101"].verification is None


def test_old_backup_is_missing():
    result = last_backups([guest("a", 101)], [snapshot("101", NOW - 3 * DAY)], now=NOW)
    assert result["a-101"].missing is True
    assert result["a-101"].time == NOW - 3 * DAY
