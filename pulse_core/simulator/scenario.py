"""Scenario: a small, seeded description of the Proxmox estate the simulator serves.

A scenario only holds counts, shares and names. :func:`pulse_core.simulator.state.build_state`
turns it into the live model, and the same scenario with the same seed always
produces the same guests, storages, backups and snapshots.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulse_core.simulator.errors import ScenarioError

STORAGE_TYPES = ("dir", "lvmthin", "zfspool", "nfs", "cifs", "rbd", "cephfs", "pbs", "lvm")
SHARED_TYPES = ("nfs", "cifs", "rbd", "cephfs", "pbs")
SUPPORTED_PVE_VERSIONS = ("9", "8")


@dataclass
class StorageSpec:
    """One storage definition from ``storage.cfg``.

    ``shared`` storages appear once per node in ``/cluster/resources`` with
    the same usage; local ones get their own size and usage on every node.
    ``size`` is bytes per node (local) or in total (shared).
    """

    name: str
    type: str = "dir"
    content: str = "images,rootdir"
    shared: bool = False
    size: int = 500 * 1024**3
    used_share: float = 0.4
    enabled: bool = True
    # For type "pbs": the datastore on the simulated PBS this storage points at.
    datastore: str | None = None
    # Nodes the storage is limited to (``nodes`` in storage.cfg), or None for all.
    nodes: list[str] | None = None


@dataclass
class PBSScenario:
    """The Proxmox Backup Server side of a scenario."""

    datastores: list[str] = field(default_factory=lambda: ["backup"])
    # Namespaces created in every datastore besides the root (""), "/"-separated.
    namespaces: list[str] = field(default_factory=lambda: ["prod", "prod/db", "dev"])
    # Total snapshots spread over all datastores, namespaces and backup groups.
    snapshots: int = 300
    # Extra backup groups of type "host" (file-level client backups).
    host_groups: int = 2
    verify_failed_share: float = 0.02
    unverified_share: float = 0.2
    encrypted_share: float = 0.1
    # Share of backup/verify/sync/prune/gc tasks that failed.
    failed_task_share: float = 0.05
    sync_jobs: int = 1
    verify_jobs: int = 1
    prune_jobs: int = 1
    gc: bool = True
    datastore_size: int = 8 * 1024**4
    hostname: str = "pbs"
    version: str = "4.0"
    release: str = "14"


@dataclass
class Scenario:
    """Seeded description of a PVE cluster (or standalone node) and an optional PBS.

    Shares are fractions 0..1 of the guests they apply to: ``vm_share`` of all
    guests are VMs (the rest containers), ``stopped_share`` of all guests are
    stopped, ``agent_share`` of VMs have the guest agent enabled and
    ``agent_running_share`` of those have it answering.
    """

    seed: int = 1
    nodes: int = 3
    # Explicit node names, or None for pve1, pve2, ...
    node_names: list[str] | None = None
    cluster_name: str | None = "demo"
    guests: int = 30
    vm_share: float = 0.65
    stopped_share: float = 0.2
    template_share: float = 0.05
    agent_share: float = 0.7
    agent_running_share: float = 0.9
    balloon_share: float = 0.5
    tagged_share: float = 0.5
    unicode_share: float = 0.1
    ha_share: float = 0.1
    locked_share: float = 0.02
    pool_share: float = 0.2
    # Maximum snapshots per guest (each guest gets 0 to this many).
    max_snapshots: int = 3
    storages: list[StorageSpec] | None = None
    # Days of nightly vzdump history per node.
    backup_days: int = 7
    backup_failure_share: float = 0.05
    replication_jobs: int = 2
    # How many of the replication jobs fail (fail count 3 and an error).
    failed_replication_jobs: int = 0
    ceph: bool = False
    # Health the simulated Ceph cluster reports: HEALTH_OK, HEALTH_WARN or HEALTH_ERR.
    ceph_health: str = "HEALTH_OK"
    # How many nodes (the first ones) have a hard disk whose SMART health is FAILED.
    failing_disks: int = 0
    pve_version: str = "9.1.2"
    # Simulated epoch at start, or None for the wall clock at build time (rounded).
    start_time: float | None = None
    # Seconds a failed login waits before its 401, like the real servers' 3 s.
    # Zero by default so tests stay fast.
    auth_failure_delay: float = 0.0
    pbs: PBSScenario | None = None

    # -- presets ---------------------------------------------------------------

    @classmethod
    def demo(cls, *, seed: int = 1) -> Scenario:
        """Build a 3-node cluster named "demo" with about 30 guests and one PBS."""
        return cls(seed=seed, nodes=3, cluster_name="demo", guests=30, pbs=PBSScenario(snapshots=300))

    @classmethod
    def large(cls, nodes: int = 16, guests: int = 2500, *, seed: int = 1, pbs: bool = True) -> Scenario:
        """Build a large cluster for benchmarks, with thousands of PBS snapshots."""
        pbs_scenario = None
        if pbs:
            pbs_scenario = PBSScenario(
                datastores=["backup", "offsite"],
                snapshots=max(1000, guests * 2),
                sync_jobs=2,
                verify_jobs=2,
                prune_jobs=2,
            )
        return cls(
            seed=seed,
            nodes=nodes,
            cluster_name="large",
            guests=guests,
            backup_days=3,
            replication_jobs=10,
            pbs=pbs_scenario,
        )

    # -- derived values ---------------------------------------------------------

    @property
    def pve_major(self) -> int:
        return int(self.pve_version.split(".", 1)[0])

    def resolved_node_names(self) -> list[str]:
        if self.node_names:
            return list(self.node_names)
        return [f"pve{index}" for index in range(1, self.nodes + 1)]

    def resolved_storages(self) -> list[StorageSpec]:
        """Return the storages, with defaults (and a PBS storage when a PBS exists)."""
        if self.storages is not None:
            return list(self.storages)
        storages = [
            StorageSpec("local", "dir", "iso,vztmpl,backup", False, 100 * 1024**3, 0.3),
            StorageSpec("local-lvm", "lvmthin", "images,rootdir", False, 900 * 1024**3, 0.45),
            StorageSpec("nfs-backup", "nfs", "backup,iso", True, 4 * 1024**4, 0.55),
        ]
        if self.ceph:
            storages.append(StorageSpec("ceph-pool", "rbd", "images,rootdir", True, 12 * 1024**4, 0.35))
        if self.pbs is not None and self.pbs.datastores:
            storages.append(
                StorageSpec(
                    "pbs-" + self.pbs.datastores[0],
                    "pbs",
                    "backup",
                    True,
                    self.pbs.datastore_size,
                    0.4,
                    datastore=self.pbs.datastores[0],
                )
            )
        return storages

    # -- validation and loading -------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`ScenarioError` listing every invalid field."""
        problems: list[str] = []
        if self.node_names is not None:
            if not self.node_names:
                problems.append("node_names: must list at least one node, or be omitted")
            if len(set(self.node_names)) != len(self.node_names):
                problems.append("node_names: names must be unique")
        elif self.nodes < 1:
            problems.append(f"nodes: must be at least 1, got {self.nodes}")
        if self.guests < 0:
            problems.append(f"guests: must be 0 or more, got {self.guests}")
        if self.guests > 899_900:
            problems.append(f"guests: at most 899900 fit in the vmid range 100..999999, got {self.guests}")
        for name in (
            "vm_share", "stopped_share", "template_share", "agent_share", "agent_running_share",
            "balloon_share", "tagged_share", "unicode_share", "ha_share", "locked_share",
            "pool_share", "backup_failure_share",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name}: must be a fraction between 0 and 1, got {value}")
        if self.max_snapshots < 0:
            problems.append(f"max_snapshots: must be 0 or more, got {self.max_snapshots}")
        if self.backup_days < 0:
            problems.append(f"backup_days: must be 0 or more, got {self.backup_days}")
        if self.failing_disks < 0:
            problems.append(f"failing_disks: must be 0 or more, got {self.failing_disks}")
        if not 0 <= self.failed_replication_jobs <= max(self.replication_jobs, 0):
            problems.append(
                f"failed_replication_jobs: must be between 0 and replication_jobs ({self.replication_jobs}), "
                f"got {self.failed_replication_jobs}"
            )
        if self.ceph_health not in ("HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"):
            problems.append(f"ceph_health: must be HEALTH_OK, HEALTH_WARN or HEALTH_ERR, got {self.ceph_health!r}")
        if self.auth_failure_delay < 0:
            problems.append(f"auth_failure_delay: must be 0 or more seconds, got {self.auth_failure_delay}")
        major = self.pve_version.split(".", 1)[0]
        if major not in SUPPORTED_PVE_VERSIONS or self.pve_version.count(".") != 2:
            problems.append(
                f"pve_version: expected a PVE 8 or 9 version like '9.1.2' or '8.4.14', got {self.pve_version!r}"
            )
        names = self.resolved_node_names()
        for index, storage in enumerate(self.resolved_storages()):
            where = f"storages[{index}]"
            if storage.type not in STORAGE_TYPES:
                problems.append(f"{where}.type: must be one of {', '.join(STORAGE_TYPES)}, got {storage.type!r}")
            if storage.size <= 0:
                problems.append(f"{where}.size: must be a positive number of bytes, got {storage.size}")
            if not 0.0 <= storage.used_share <= 1.0:
                problems.append(f"{where}.used_share: must be a fraction between 0 and 1, got {storage.used_share}")
            if storage.type == "pbs" and self.pbs is not None and storage.datastore not in self.pbs.datastores:
                problems.append(f"{where}.datastore: {storage.datastore!r} is not one of the PBS datastores")
            for node in storage.nodes or []:
                if node not in names:
                    problems.append(f"{where}.nodes: unknown node {node!r}")
        if self.pbs is not None:
            pbs = self.pbs
            if not pbs.datastores:
                problems.append("pbs.datastores: list at least one datastore")
            if pbs.snapshots < 0:
                problems.append(f"pbs.snapshots: must be 0 or more, got {pbs.snapshots}")
            for namespace in pbs.namespaces:
                if not namespace or namespace.startswith("/") or namespace.endswith("/") or namespace.count("/") >= 7:
                    problems.append(
                        f"pbs.namespaces: {namespace!r} is not a relative namespace path of at most 7 levels"
                    )
            for name in ("verify_failed_share", "unverified_share", "encrypted_share", "failed_task_share"):
                value = getattr(pbs, name)
                if not 0.0 <= value <= 1.0:
                    problems.append(f"pbs.{name}: must be a fraction between 0 and 1, got {value}")
        if problems:
            raise ScenarioError(problems)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build and validate a scenario from plain data, e.g. parsed YAML.

        A ``preset`` key (``demo`` or ``large``) starts from that preset and
        the other keys override it.
        """
        if not isinstance(data, dict):
            raise ScenarioError(f"scenario: expected a mapping of settings, got {type(data).__name__}")
        data = dict(data)
        problems: list[str] = []
        preset = data.pop("preset", None)
        if preset is None:
            scenario = cls()
        elif preset == "demo":
            scenario = cls.demo()
        elif preset == "large":
            scenario = cls.large(nodes=int(data.get("nodes", 16)), guests=int(data.get("guests", 2500)))
        else:
            raise ScenarioError(f"preset: must be 'demo' or 'large', got {preset!r}")

        known = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in data.items():
            if key not in known:
                problems.append(f"{key}: unknown scenario setting (known: {', '.join(sorted(known))})")
                continue
            try:
                if key == "storages":
                    value = None if value is None else [_storage_from_dict(item, i) for i, item in enumerate(value)]
                elif key == "pbs":
                    value = _pbs_from_dict(value)
                else:
                    value = _coerce(key, value, getattr(scenario, key), known[key].type)
            except ScenarioError as exc:
                problems.extend(exc.problems)
                continue
            setattr(scenario, key, value)
        if problems:
            raise ScenarioError(problems)
        scenario.validate()
        return scenario

    @classmethod
    def from_yaml(cls, source: str | Path) -> Scenario:
        """Build a scenario from a YAML file path or YAML text."""
        import yaml

        text: str
        if isinstance(source, Path) or ("\n" not in str(source) and str(source).endswith((".yaml", ".yml"))):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ScenarioError(f"scenario file {path}: cannot be read ({exc.strerror})") from exc
        else:
            text = str(source)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"scenario: invalid YAML ({exc})") from exc
        return cls.from_dict(data or {})


def _coerce(key: str, value: Any, current: Any, annotation: Any, prefix: str = "") -> Any:
    """Check one scalar or list setting against the type of its current value."""
    where = f"{prefix}{key}"
    text_annotation = str(annotation)
    if value is None:
        if "None" in text_annotation:
            return None
        raise ScenarioError(f"{where}: must not be empty")
    if "list[str]" in text_annotation:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ScenarioError(f"{where}: expected a list of strings, got {value!r}")
        return list(value)
    if "bool" in text_annotation:
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected true or false, got {value!r}")
        return value
    if "float" in text_annotation:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if "int" in text_annotation:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{where}: expected a whole number, got {value!r}")
        return value
    if "str" in text_annotation:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ScenarioError(f"{where}: expected text, got {value!r}")
        return str(value)
    return value


def _storage_from_dict(data: Any, index: int) -> StorageSpec:
    where = f"storages[{index}]."
    if not isinstance(data, dict) or "name" not in data:
        raise ScenarioError(f"storages[{index}]: expected a mapping with at least a name, got {data!r}")
    known = {f.name: f for f in dataclasses.fields(StorageSpec)}
    spec = StorageSpec(name=str(data["name"]))
    problems = []
    for key, value in data.items():
        if key not in known:
            problems.append(f"{where}{key}: unknown storage setting (known: {', '.join(sorted(known))})")
            continue
        try:
            setattr(spec, key, _coerce(key, value, getattr(spec, key), known[key].type, where))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if "shared" not in data:
        spec.shared = spec.type in SHARED_TYPES
    if problems:
        raise ScenarioError(problems)
    return spec


def _pbs_from_dict(data: Any) -> PBSScenario | None:
    if data is None or data is False:
        return None
    if data is True:
        return PBSScenario()
    if not isinstance(data, dict):
        raise ScenarioError(f"pbs: expected a mapping, true or false, got {data!r}")
    known = {f.name: f for f in dataclasses.fields(PBSScenario)}
    pbs = PBSScenario()
    problems = []
    for key, value in data.items():
        if key not in known:
            problems.append(f"pbs.{key}: unknown PBS setting (known: {', '.join(sorted(known))})")
            continue
        try:
            setattr(pbs, key, _coerce(key, value, getattr(pbs, key), known[key].type, "pbs."))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return pbs
