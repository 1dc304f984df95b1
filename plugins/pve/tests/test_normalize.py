"""Normalization rules, each checked against recorded Proxmox VE responses."""

from __future__ import annotations

import pytest

from pulse_core import Node, guest_id

from pulse_pve import normalize as nz

GiB = 1024**3


def _guests(items, now=1000.0, rates=None):
    rates = rates or nz.RateTracker()
    return {g.vmid: g for g in (nz.guest_from_resource("lab", item, now, rates) for item in items) if g is not None}


def test_vm_disk_unknown_not_zero(sample):
    items = sample("pve-cluster-resources.go-proxmox-pve7x.json")["data"]
    guests = _guests(items)
    assert guests, "the sample holds guests"
    for guest in guests.values():
        assert guest.type == "qemu"
        assert guest.disk.used is None
        assert guest.disk.percent is None
        assert guest.disk.unknown_reason


def test_vm_disk_unknown_reason_names_allocation_and_state(sample):
    guests = _guests(sample("pve-cluster-resources.go-proxmox-pve7x.json")["data"])
    assert guests[100].status == "running"
    assert guests[100].disk.total == 34359738368
    assert guests[100].disk.unknown_reason.startswith("32 GiB allocated")
    assert guests[102].disk.unknown_reason == "50.2 GiB allocated; guest is not running"


def test_template_and_tags_from_cluster_resources(sample):
    guests = _guests(sample("pve-cluster-resources.go-proxmox-pve7x.json")["data"])
    assert guests[101].template is True
    assert guests[100].template is False
    # "+" is a legal tag character; the whole value is one tag.
    assert guests[102].tags == ["go-proxmox+cloud-init"]
    assert guests[100].tags == []


def test_nodes_and_storage_from_cluster_resources(sample):
    items = sample("pve-cluster-resources.go-proxmox-pve7x.json")["data"]
    nodes = [nz.node_from_resource("lab", item, cluster_name="c") for item in items if item["type"] == "node"]
    assert {node.name for node in nodes} == {"node1", "node2", "node3", "node4"}
    node1 = next(node for node in nodes if node.name == "node1")
    assert node1.id == "lab-node1"
    assert node1.memory.used == 2113265664
    assert node1.memory.total == 65919459328
    assert node1.status == "online"
    assert node1.is_cluster_member
    storages = [nz.storage_from_resource("lab", item) for item in items if item["type"] == "storage"]
    # Shared or not, every node lists its own entry: ids include the node.
    assert len({storage.id for storage in storages}) == len(storages) == 12
    zfs3 = next(s for s in storages if s.id == "lab-node3-local-zfs")
    assert zfs3.usage.used == 98304
    assert zfs3.active


def test_container_disk_real_stopped_vm_unknown(sample):
    guests = _guests(sample("pve-cluster-resources-type-vm.community-proxmox.json")["data"])
    container = guests[102]
    assert container.type == "lxc"
    assert container.disk.used == 352190464
    assert container.disk.percent == pytest.approx(352190464 * 100 / 10737418240)
    stopped_vm = guests[101]
    assert stopped_vm.disk.total is None
    assert stopped_vm.disk.used is None
    assert stopped_vm.disk.unknown_reason == "guest is not running"
    assert stopped_vm.pool == "pool1"
    # A stopped container's disk is not 0 %, it is unknown.
    assert guests[103].disk.used is None


def test_empty_container_name_gets_the_proxmox_default(sample):
    guests = _guests(sample("pve-cluster-resources-type-vm.community-proxmox.json")["data"])
    assert guests[105].name == "CT105"


def test_guest_ids_ignore_node_and_name(sample):
    items = sample("pve-cluster-resources-type-vm.community-proxmox.json")["data"]
    moved = [dict(item, node="elsewhere", name="renamed") for item in items]
    assert {g.id for g in _guests(items).values()} == {g.id for g in _guests(moved).values()}
    assert _guests(items)[100].id == guest_id("lab", 100)


@pytest.mark.parametrize("name", ["pve-lxc-list.go-proxmox-pve7x.json", "pve-lxc-list.community-proxmox.json", "pve-lxc-list.telegraf.json"])
def test_container_lists_with_string_numbers(sample, name):
    items = sample(name)["data"]
    guests = _guests(items)
    assert len(guests) == len(items)
    for item in items:
        guest = guests[int(item["vmid"])]
        assert guest.type == "lxc"
        if item["status"] == "running":
            assert guest.disk.used == int(item["disk"])
            assert guest.disk.total == int(item["maxdisk"])


def test_container_template_flag_only_when_set(sample):
    guests = _guests(sample("pve-lxc-list.go-proxmox-pve7x.json")["data"])
    assert [vmid for vmid, g in guests.items() if g.template] == [
        int(item["vmid"]) for item in sample("pve-lxc-list.go-proxmox-pve7x.json")["data"] if item.get("template")
    ]


def test_qemu_list_with_string_vmid(sample):
    item = sample("pve-qemu-list.telegraf.json")["data"][0]
    guest = nz.guest_from_resource("lab", item, 1.0, nz.RateTracker(), kind="qemu")
    assert guest.vmid == 113
    assert guest.type == "qemu"
    assert guest.disk.used is None
    assert guest.disk.total == 10737418240


def test_node_status_pve9_memory_excludes_cache(sample):
    node = Node(id="lab-pve", name="pve", instance="lab")
    nz.apply_node_status(node, sample("pve-node-status.pvexport-pve9.json")["data"])
    assert node.memory.total == 16540520448
    assert node.memory.used == 16540520448 - 3868946432
    assert node.loadavg == (1.74, 1.86, 1.5)
    assert node.pve_version == "9.1.2"
    assert node.kernel == "6.17.4-1-pve"
    assert node.swap.used == 6283759616
    assert node.disk.used == 24372563968
    assert node.disk.total == 100861726720
    assert node.cpu_model == "Intel(R) N100"
    assert node.cpus == 4


@pytest.mark.parametrize(
    "name, version",
    [("pve-node-status.go-proxmox-pve7x.json", "7.4-16"), ("pve-node-status.unattributed-k3s-checklist-pve8.json", "8.4.14")],
)
def test_node_status_before_pve9_uses_reported_used(sample, name, version):
    data = sample(name)["data"]
    node = Node(id="lab-pve", name="pve", instance="lab")
    nz.apply_node_status(node, data)
    assert node.memory.used == data["memory"]["used"]
    assert node.pve_version == version
    assert node.loadavg is not None
    assert all(isinstance(value, float) for value in node.loadavg)


def test_version_majors(sample):
    assert nz.major_version(sample("pve-node-version.go-proxmox-pve7x.json")["data"]["version"]) == 7
    assert nz.major_version("8.4.14") == 8
    assert nz.major_version(None) is None


def test_vm_memory_from_balloon_statistics(sample):
    status = sample("pve-qemu-status-current.go-proxmox-pve7x.json")["data"]
    memory, balloon = nz.vm_memory_from_status(status)
    assert memory.total == 2015014912
    assert memory.used == 2015014912 - 887222272
    assert balloon == 2097152000


def test_container_status_current_string_cpus(sample):
    data = sample("pve-lxc-status-current.community-proxmox.json")["data"]
    guest = nz.guest_from_resource("lab", dict(data, type="lxc", maxcpu=data["cpus"]), 1.0, nz.RateTracker())
    assert guest.cpus == 1.0
    assert guest.disk.used == 4998168576


def test_agent_interfaces_skip_loopback(sample):
    result, error = nz.agent_result(sample("pve-qemu-agent-network-get-interfaces.community-proxmox.json")["data"])
    assert error is None
    assert nz.ip_addresses_from_interfaces(result) == ["10.1.2.3", "fd8c:4687:e88d:1be3:5b70:7b88:c79c:293", "10.10.2.3"]


def test_agent_error_inside_result(sample):
    result, error = nz.agent_result(sample("pve-qemu-agent-network-get-interfaces-unsupported.community-proxmox.json")["data"])
    assert result is None
    assert error == "this feature or command is not currently supported"


def test_pbs_backups_on_storage(sample):
    items = sample("pve-storage-content-pbs.community-proxmox.json")["data"]
    backups = [nz.storage_backup_from_content("lab", "pve", "datastore", item) for item in items]
    assert all(b.is_pbs and b.vmid == 931 and b.guest_type == "qemu" for b in backups)
    assert backups[0].ctime == 1702528474
    assert backups[0].size == 273804166061
    assert len({b.id for b in backups}) == 2


def test_failed_task_status_is_the_error_text(sample):
    tasks = sample("pve-tasks.community-proxmox.json")["data"]
    outcomes = [nz.task_outcome(task["status"]) for task in tasks]
    assert outcomes[1] == ("failed", "command 'ifreload -a' failed: exit code 1")
    assert outcomes[0] == ("ok", None)
    for task in tasks:
        upid = nz.parse_upid(task["upid"])
        assert (upid.pid, upid.pstart, upid.starttime) == (task["pid"], task["pstart"], task["starttime"])


def test_all_guest_vzdump_without_log_is_one_job(sample):
    task = sample("pve-tasks.home-assistant-core.json")["data"][0]
    entries = nz.backup_tasks_from_task("lab", task, None)
    assert len(entries) == 1
    assert entries[0].vmid is None
    assert entries[0].status == "ok"
    assert entries[0].start_time == 1774350000
    assert entries[0].end_time == 1774350433


def test_multi_guest_vzdump_gives_one_result_per_guest(sample):
    task = sample("pve-tasks.home-assistant-core.json")["data"][0]
    log = [
        "INFO: starting new backup job: vzdump --all 1 --storage local",
        "INFO: Starting Backup of VM 100 (qemu)",
        "INFO: archive file size: 1.5GB",
        "INFO: Finished Backup of VM 100 (00:01:02)",
        "INFO: Starting Backup of VM 101 (lxc)",
        "ERROR: Backup of VM 101 failed - unable to freeze filesystem",
        "INFO: Backup job finished with errors",
    ]
    entries = {entry.vmid: entry for entry in nz.backup_tasks_from_task("lab", dict(task, status="job errors"), log)}
    assert entries[100].status == "ok"
    assert entries[100].size == int(1.5 * 1024**3)
    assert entries[101].status == "failed"
    assert entries[101].error == "unable to freeze filesystem"
    assert len({entry.id for entry in entries.values()}) == 2


def test_counter_rates_and_resets():
    rates = nz.RateTracker()
    assert rates.rate("g:netin", 1000, 100.0, uptime=50) is None  # first sight: no rate yet
    assert rates.rate("g:netin", 11000, 110.0, uptime=60) == 1000.0
    # Counter went backwards (guest restarted): no negative value, no spike.
    assert rates.rate("g:netin", 500, 120.0, uptime=5) is None
    assert rates.rate("g:netin", 1500, 130.0, uptime=15) == 100.0
    # Uptime reset with a counter that happens to be higher: still no spike.
    assert rates.rate("g:netin", 10**12, 140.0, uptime=3) is None
    assert rates.rate("g:netin", 10**12 + 100, 150.0, uptime=13) == 10.0


def test_rates_from_cluster_resources_between_polls(sample):
    items = sample("pve-cluster-resources-type-vm.community-proxmox.json")["data"]
    rates = nz.RateTracker()
    first = _guests(items, 1000.0, rates)
    assert first[100].net_in is None
    later = [dict(item, netin=item["netin"] + 10_000, uptime=item["uptime"] + 10) for item in items]
    second = _guests(later, 1010.0, rates)
    assert second[100].net_in == 1000.0
    assert second[101].net_in == 0.0  # stopped


def test_fsinfo_sums_real_filesystems_only():
    fsinfo = [
        {"name": "sda1", "mountpoint": "/", "type": "ext4", "total-bytes": 20 * GiB, "used-bytes": 5 * GiB, "disk": [{"dev": "/dev/sda1"}]},
        {"name": "sda1", "mountpoint": "/var/lib/bind", "type": "ext4", "total-bytes": 20 * GiB, "used-bytes": 5 * GiB, "disk": [{"dev": "/dev/sda1"}]},
        {"name": "sdb1", "mountpoint": "/data", "type": "xfs", "total-bytes": 100 * GiB, "used-bytes": 50 * GiB, "disk": [{"dev": "/dev/sdb1"}]},
        {"name": "tmpfs", "mountpoint": "/run", "type": "tmpfs", "total-bytes": GiB, "used-bytes": 1},
        {"name": "server:/export", "mountpoint": "/mnt/nfs", "type": "nfs4", "total-bytes": 10 * 1024 * GiB, "used-bytes": 9 * 1024 * GiB},
        {"name": "loop0", "mountpoint": "/snap/core/1", "type": "squashfs", "total-bytes": GiB, "used-bytes": GiB},
        {"name": "cdrom", "mountpoint": "/media/cdrom", "type": "iso9660", "total-bytes": GiB, "used-bytes": GiB},
        {"name": "C:\\", "mountpoint": "C:\\", "type": "NTFS", "total-bytes": 60 * GiB, "used-bytes": 30 * GiB},
    ]
    usage, filesystems = nz.vm_disk_from_fsinfo(fsinfo, 200 * GiB)
    assert usage.total == 180 * GiB
    assert usage.used == 85 * GiB
    assert sorted(fs.mountpoint for fs in filesystems) == ["/", "/data", "C:\\"]


def test_fsinfo_without_real_filesystems_is_unknown_with_reason():
    usage, filesystems = nz.vm_disk_from_fsinfo([{"name": "tmpfs", "mountpoint": "/run", "type": "tmpfs", "total-bytes": 1, "used-bytes": 1}], 8 * GiB)
    assert usage.used is None
    assert filesystems == []
    assert usage.unknown_reason == "8 GiB allocated; guest agent reported no usable filesystems"


def test_agent_permission_reason_per_major():
    assert nz.reason_permission(9) == "unavailable: permission VM.GuestAgent.Audit"
    assert nz.reason_permission(8) == "unavailable: permission VM.Monitor"


@pytest.mark.parametrize("value, expected", [("1", True), (1, True), (0, False), ("0", False), ("yes", True), (True, True), (None, False)])
def test_perl_booleans(value, expected):
    assert nz.as_bool(value) is expected


@pytest.mark.parametrize("value, expected", [("113", 113), (113, 113), ("1.0", 1), ("", None), ("x", None), (None, None)])
def test_perl_integers(value, expected):
    assert nz.as_int(value) == expected


def test_snapshot_list_skips_current():
    items = [
        {"name": "before-upgrade", "snaptime": 1700000000, "vmstate": 1, "description": "pre"},
        {"name": "current", "description": "You are here!", "running": 1, "parent": "before-upgrade"},
    ]
    snapshots = nz.snapshots_from_list("lab", "pve1", 100, "qemu", items)
    assert [s.name for s in snapshots] == ["before-upgrade"]
    assert snapshots[0].vmstate is True
    assert snapshots[0].snaptime == 1700000000


def test_pbs_targets_from_storage_config():
    # Shaped like GET /storage on PVE 8/9: every storage type, PBS entries with their target.
    items = [
        {"storage": "local", "type": "dir", "path": "/var/lib/vz", "content": "iso,backup,vztmpl", "digest": "a1"},
        {"storage": "pbs-main", "type": "pbs", "server": "pbs.example", "datastore": "main", "content": "backup",
         "username": "backup@pbs", "fingerprint": ":".join(["AB"] * 32), "digest": "a1"},
        {"storage": "pbs-team", "type": "pbs", "server": "192.0.2.20", "port": 8007, "datastore": "team",
         "namespace": "/lab/pve1/", "content": "backup", "digest": "a1"},
        {"storage": "pbs-broken", "type": "pbs", "datastore": "main", "content": "backup", "digest": "a1"},
        "not an object",
    ]
    targets = nz.pbs_targets(items)
    assert sorted(targets) == ["pbs-main", "pbs-team"]
    assert targets["pbs-main"] == nz.PBSTarget(server="pbs.example", datastore="main", namespace=None)
    assert targets["pbs-team"] == nz.PBSTarget(server="192.0.2.20", datastore="team", namespace="lab/pve1")


def test_pbs_targets_ignores_non_list():
    assert nz.pbs_targets({"data": []}) == {}
    assert nz.pbs_targets(None) == {}
