"""The simulator's live model of a PVE cluster: nodes, guests, storages, tasks, backups.

Tests read and change these objects through ``sim.state``. Every attribute
assignment on a tracked object bumps :attr:`PVEState.generation`, which is how
the response caches know to rebuild, so a test can simply write
``sim.state.guests[100].cpu = 0.9``. Changing a list in place (``guest.tags.append``)
or adding to a dict is not seen: assign a new list, or call ``state.touch()``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.scenario import Scenario, StorageSpec

GiB = 1024**3
# pvestatd broadcasts fresh stats about every 10 s, so metrics move in steps of this size.
STEP_SECONDS = 10.0
# pmxcfs drops stats older than this, so an offline node's entries shrink after it.
STALE_AFTER_SECONDS = 300.0

_WORDS = ("web", "db", "cache", "mail", "proxy", "git", "ci", "dns", "vpn", "backup", "monitor", "files", "media", "auth", "build", "log")
_UNICODE_WORDS = ("größe", "café", "ñandú", "東京", "škola", "smörgås", "αθήνα", "данные")
_TAGS = ("prod", "dev", "staging", "db", "web", "critical", "k8s", "backup-daily", "linux", "windows", "go-proxmox+cloud-init")
_POOLS = ("production", "testing", "infra")
_HA_STATES = ("started", "started", "started", "stopped", "error")
_LOCKS = ("backup", "snapshot", "migrate")
_OS = (
    ("l26", "debian", "Debian GNU/Linux", "12", "12 (bookworm)", "6.1.0-28-amd64"),
    ("l26", "ubuntu", "Ubuntu", "24.04", "24.04.1 LTS (Noble Numbat)", "6.8.0-51-generic"),
    ("l26", "rocky", "Rocky Linux", "9.5", "9.5 (Blue Onyx)", "5.14.0-503.14.1.el9_5.x86_64"),
    ("win11", "mswindows", "Microsoft Windows Server 2022 Standard", "10.0", "10.0.20348", "10.0.20348"),
)


class Tracked:
    """Base for model objects whose changes invalidate cached responses."""

    _owner: PVEState | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        owner = self._owner
        if owner is not None:
            owner.generation += 1


@dataclass(eq=False)
class Snapshot(Tracked):
    name: str
    snaptime: int
    description: str = ""
    vmstate: bool = False
    parent: str | None = None


@dataclass(eq=False)
class Guest(Tracked):
    """One VM (``type`` "qemu") or container ("lxc")."""

    vmid: int
    type: str
    node: str
    name: str
    status: str = "running"
    template: bool = False
    tags: list[str] = field(default_factory=list)
    lock: str | None = None
    hastate: str | None = None
    pool: str | None = None
    cpus: int = 2
    maxmem: int = 2 * GiB
    maxdisk: int = 32 * GiB
    maxswap: int = 512 * 1024**2
    balloon: bool = False
    agent: bool = False
    agent_running: bool = False
    cpu: float = 0.0
    cpu_mean: float = 0.1
    mem: int = 0
    mem_mean: float = 0.5
    disk: int = 0
    swap: int = 0
    netin: int = 0
    netout: int = 0
    diskread: int = 0
    diskwrite: int = 0
    # Average counter rates in bytes per second while running.
    net_rate: float = 20_000.0
    disk_rate: float = 50_000.0
    started_at: float | None = None
    pid: int | None = None
    ostype: str = "l26"
    osinfo: tuple[str, ...] = _OS[0]
    mac: str = "BC:24:11:00:00:01"
    ip: str = "10.0.0.2"
    snapshots: list[Snapshot] = field(default_factory=list)
    # Set when stats are not known yet, e.g. for a brand-new guest.
    stats_unknown: bool = False

    @property
    def running(self) -> bool:
        return self.status == "running"

    def uptime(self, now: float) -> int:
        if not self.running or self.started_at is None:
            return 0
        return max(0, int(now - self.started_at))

    def tag_string(self) -> str:
        return ";".join(sorted(set(self.tags)))


@dataclass(eq=False)
class Node(Tracked):
    name: str
    nodeid: int
    online: bool = True
    offline_since: float | None = None
    maxcpu: int = 16
    maxmem: int = 128 * GiB
    maxdisk: int = 100 * GiB
    cpu: float = 0.05
    mem: int = 8 * GiB
    disk: int = 20 * GiB
    swap_total: int = 8 * GiB
    swap_used: int = 0
    netin: int = 0
    netout: int = 0
    booted_at: float = 0.0
    level: str = ""
    cpu_model: str = "AMD EPYC 7313P 16-Core Processor"
    sockets: int = 1
    # Address /cluster/status reports, loopback so that no client is sent elsewhere.
    reported_ip: str = "127.0.0.1"
    hastate: str | None = None

    def uptime(self, now: float) -> int:
        # An offline node keeps reporting the uptime it had when it went down (its last stats).
        end = now if self.online or self.offline_since is None else self.offline_since
        return max(0, int(end - self.booted_at))


@dataclass(eq=False)
class Storage(Tracked):
    """A storage on one node; a shared storage has one of these per node."""

    spec: StorageSpec
    node: str
    total: int
    used: int
    active: bool = True

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(eq=False)
class Task(Tracked):
    """A PVE task with its log lines; ``status`` None means still running."""

    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    endtime: int | None = None
    status: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def upid(self) -> str:
        return (
            f"UPID:{self.node}:{self.pid:08X}:{self.pstart:08X}:{self.starttime:08X}:"
            f"{self.type}:{self.id}:{self.user}:"
        )


@dataclass(eq=False)
class BackupFile(Tracked):
    """A backup volume on a PVE storage."""

    storage: str
    volid: str
    vmid: int
    guest_type: str
    ctime: int
    size: int
    format: str
    notes: str | None = None
    protected: bool = False
    verification: dict[str, str] | None = None


@dataclass(eq=False)
class ReplicationJob(Tracked):
    id: str
    guest: int
    jobnum: int
    target: str
    schedule: str = "*/15"
    source: str | None = None
    # Seconds the last run took.
    duration: float = 3.2
    fail_count: int = 0
    error: str | None = None
    # Last successful sync while failing; None derives it from the schedule.
    last_sync: int | None = None


@dataclass
class PVEState:
    """Everything the simulated PVE cluster serves, mutable at runtime."""

    scenario: Scenario
    clock: SimClock
    cluster_name: str | None
    nodes: dict[str, Node] = field(default_factory=dict)
    guests: dict[int, Guest] = field(default_factory=dict)
    storages: dict[tuple[str, str], Storage] = field(default_factory=dict)
    tasks: dict[str, list[Task]] = field(default_factory=dict)
    backups: list[BackupFile] = field(default_factory=list)
    replication: list[ReplicationJob] = field(default_factory=list)
    # Physical disks per node (``health.SimDisk``) and the Ceph health (``health.CephState``).
    disks: dict[str, list[Any]] = field(default_factory=dict)
    ceph: Any = None
    generation: int = 0
    last_step: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    # The node that serves the main endpoint (``local: 1`` in /cluster/status).
    local_node: str = ""
    # Fingerprint per node for `ssl_fingerprint` in GET /nodes, set by the simulator.
    fingerprints: dict[str, str] = field(default_factory=dict)
    pve_major: int = 9
    cluster_version: int = 1
    # Backup runs in progress (``backups.VzdumpRun``), finished as simulated time passes.
    running_backups: list[Any] = field(default_factory=list)

    def touch(self) -> None:
        """Mark the state changed so cached responses are rebuilt."""
        self.generation += 1

    def adopt(self, item: Tracked) -> None:
        object.__setattr__(item, "_owner", self)
        self.generation += 1

    @property
    def quorate(self) -> bool:
        online = sum(1 for node in self.nodes.values() if node.online)
        return online * 2 > len(self.nodes)

    def node_is_stale(self, node: Node) -> bool:
        """Return True when an offline node's last stats have aged out of pmxcfs."""
        if node.online or node.offline_since is None:
            return False
        return self.clock.now() - node.offline_since >= STALE_AFTER_SECONDS

    def guests_on(self, node: str) -> list[Guest]:
        return [guest for guest in self.guests.values() if guest.node == node]

    # -- time -------------------------------------------------------------------

    def advance_to(self, now: float) -> None:
        """Evolve metrics up to ``now`` in pvestatd-sized steps (at most 360 steps) and finish due backups."""
        for run in [run for run in self.running_backups if run.endtime <= now]:
            self.running_backups.remove(run)
            run.finish(self)
        elapsed = now - self.last_step
        if elapsed < STEP_SECONDS:
            return
        steps = int(elapsed // STEP_SECONDS)
        # Long jumps are folded into at most 360 steps so advancing a day stays cheap.
        count = min(steps, 360)
        dt = elapsed / count if count else 0.0
        for _ in range(count):
            self._step(dt)
        self.last_step = now
        self.generation += 1

    def _step(self, dt: float) -> None:
        rng = self.rng
        # Mean reversion per step: a larger dt pulls harder towards the mean.
        pull = 1.0 - math.exp(-dt / 120.0)
        noise = min(1.0, math.sqrt(dt / STEP_SECONDS)) * 0.03
        node_load: dict[str, float] = {name: 0.0 for name in self.nodes}
        node_mem: dict[str, int] = {name: 0 for name in self.nodes}
        for guest in self.guests.values():
            node = self.nodes.get(guest.node)
            if node is None or not node.online:
                continue
            if guest.stats_unknown:
                object.__setattr__(guest, "stats_unknown", False)
            if not guest.running:
                continue
            cpu = guest.cpu + (guest.cpu_mean - guest.cpu) * pull + rng.gauss(0.0, noise)
            cpu = min(1.0, max(0.0, cpu))
            mem_fraction = guest.mem / guest.maxmem if guest.maxmem else 0.0
            mem_fraction += (guest.mem_mean - mem_fraction) * pull + rng.gauss(0.0, noise / 3)
            mem_fraction = min(0.98, max(0.02, mem_fraction))
            activity = 0.3 + cpu * 3.0
            net = guest.net_rate * activity * dt
            io = guest.disk_rate * activity * dt
            set_value = object.__setattr__
            set_value(guest, "cpu", round(cpu, 6))
            set_value(guest, "mem", int(guest.maxmem * mem_fraction))
            set_value(guest, "netin", guest.netin + int(net * rng.uniform(0.6, 1.4)))
            set_value(guest, "netout", guest.netout + int(net * rng.uniform(0.3, 1.1)))
            set_value(guest, "diskread", guest.diskread + int(io * rng.uniform(0.5, 1.5)))
            set_value(guest, "diskwrite", guest.diskwrite + int(io * rng.uniform(0.4, 1.2)))
            node_load[guest.node] += cpu * guest.cpus
            node_mem[guest.node] += guest.mem
        for node in self.nodes.values():
            if not node.online:
                continue
            base = 0.02 + rng.uniform(0.0, 0.02)
            cpu = min(1.0, base + node_load[node.name] / max(1, node.maxcpu))
            mem = min(node.maxmem - GiB, int(node_mem[node.name] + 3 * GiB + rng.uniform(0, GiB)))
            object.__setattr__(node, "cpu", round(cpu, 6))
            object.__setattr__(node, "mem", max(GiB, mem))
            object.__setattr__(node, "netin", node.netin + int(dt * 200_000 * rng.uniform(0.5, 1.5)))
            object.__setattr__(node, "netout", node.netout + int(dt * 150_000 * rng.uniform(0.5, 1.5)))

    # -- guest lifecycle --------------------------------------------------------

    def start_guest(self, guest: Guest) -> None:
        """Start a guest: counters restart from zero, uptime from now."""
        now = self.clock.now()
        guest.status = "running"
        guest.started_at = now
        guest.pid = self.rng.randint(1000, 4_000_000)
        guest.cpu = guest.cpu_mean
        guest.mem = int(guest.maxmem * guest.mem_mean)
        guest.netin = guest.netout = guest.diskread = guest.diskwrite = 0

    def stop_guest(self, guest: Guest) -> None:
        guest.status = "stopped"
        guest.started_at = None
        guest.pid = None
        guest.cpu = 0.0
        guest.mem = 0
        guest.netin = guest.netout = guest.diskread = guest.diskwrite = 0

    def add_task(self, task: Task) -> None:
        self.adopt(task)
        self.tasks.setdefault(task.node, []).append(task)


# -- building -------------------------------------------------------------------


def build_state(scenario: Scenario, clock: SimClock) -> PVEState:
    """Build the live PVE model from ``scenario``; the same seed gives the same model."""
    rng = random.Random(scenario.seed)
    now = clock.now()
    names = scenario.resolved_node_names()
    state = PVEState(
        scenario=scenario,
        clock=clock,
        cluster_name=scenario.cluster_name,
        rng=random.Random(rng.getrandbits(64)),
        local_node=names[0],
        pve_major=scenario.pve_major,
    )
    state.last_step = now
    state.cluster_version = rng.randint(3, 40) if scenario.cluster_name else 1

    for index, name in enumerate(names, start=1):
        maxcpu = rng.choice((8, 16, 24, 32, 64))
        node = Node(
            name=name,
            nodeid=index if scenario.cluster_name else 0,
            maxcpu=maxcpu,
            maxmem=rng.choice((64, 128, 256, 512)) * GiB,
            maxdisk=rng.choice((64, 100, 200)) * GiB,
            booted_at=now - rng.randint(3 * 86400, 120 * 86400),
            level=rng.choice(("", "c", "b", "s", "p")),
            sockets=1 if maxcpu <= 32 else 2,
            netin=rng.randint(10**9, 10**12),
            netout=rng.randint(10**9, 10**12),
        )
        node.disk = int(node.maxdisk * rng.uniform(0.1, 0.7))
        node.swap_used = int(node.swap_total * rng.uniform(0.0, 0.1))
        state.adopt(node)
        state.nodes[name] = node
        state.tasks[name] = []

    for spec in scenario.resolved_storages():
        _add_storage(state, spec, rng)

    _build_guests(state, scenario, rng, names, now)
    _build_backups(state, scenario, rng, names, now)
    _build_replication(state, scenario, rng, names)
    _build_other_tasks(state, rng, names, now)
    _build_health(state, scenario, rng, int(now))
    # One step gives nodes their aggregate load before the first request.
    state._step(STEP_SECONDS)
    state.last_step = now
    return state


def _add_storage(state: PVEState, spec: StorageSpec, rng: random.Random) -> None:
    used_shared = int(spec.size * spec.used_share * rng.uniform(0.9, 1.1))
    for node in state.nodes:
        if spec.nodes is not None and node not in spec.nodes:
            continue
        used = used_shared if spec.shared else int(spec.size * spec.used_share * rng.uniform(0.6, 1.4))
        storage = Storage(spec=spec, node=node, total=spec.size, used=min(spec.size, used))
        state.adopt(storage)
        state.storages[(node, spec.name)] = storage


def _guest_name(rng: random.Random, kind: str, vmid: int, unicode_share: float) -> str:
    if rng.random() < unicode_share:
        return f"{rng.choice(_UNICODE_WORDS)}-{vmid}"
    prefix = "vm" if kind == "qemu" else "ct"
    return f"{rng.choice(_WORDS)}-{prefix}{vmid % 1000:03d}"


def _build_guests(state: PVEState, scenario: Scenario, rng: random.Random, names: list[str], now: float) -> None:
    for index in range(scenario.guests):
        vmid = 100 + index
        node = names[index % len(names)]
        kind = "qemu" if rng.random() < scenario.vm_share else "lxc"
        template = rng.random() < scenario.template_share
        stopped = template or rng.random() < scenario.stopped_share
        os_choice = _OS[rng.randrange(len(_OS))] if kind == "qemu" else _OS[rng.randrange(3)]
        guest = Guest(
            vmid=vmid,
            type=kind,
            node=node,
            name=_guest_name(rng, kind, vmid, scenario.unicode_share),
            template=template,
            cpus=rng.choice((1, 2, 2, 4, 4, 8)),
            maxmem=rng.choice((512 * 1024**2, 1 * GiB, 2 * GiB, 4 * GiB, 8 * GiB, 16 * GiB)),
            maxdisk=rng.choice((8, 16, 32, 64, 128, 256)) * GiB,
            cpu_mean=rng.uniform(0.01, 0.6),
            mem_mean=rng.uniform(0.2, 0.85),
            net_rate=rng.uniform(1_000, 2_000_000),
            disk_rate=rng.uniform(1_000, 5_000_000),
            ostype=os_choice[0],
            osinfo=os_choice,
            mac="BC:24:11:%02X:%02X:%02X" % (vmid >> 16 & 0xFF, vmid >> 8 & 0xFF, vmid & 0xFF),
            ip=f"10.{(vmid >> 16) & 0xFF}.{(vmid >> 8) & 0xFF}.{vmid & 0xFF or 1}",
        )
        if kind == "qemu":
            guest.agent = rng.random() < scenario.agent_share
            guest.balloon = rng.random() < scenario.balloon_share
        if rng.random() < scenario.tagged_share:
            guest.tags = sorted(set(rng.sample(_TAGS, rng.randint(1, 3))))
        if rng.random() < scenario.pool_share:
            guest.pool = rng.choice(_POOLS)
        if scenario.cluster_name and not template and rng.random() < scenario.ha_share:
            guest.hastate = rng.choice(_HA_STATES)
        if not template and rng.random() < scenario.locked_share:
            guest.lock = rng.choice(_LOCKS)
        if template:
            object.__setattr__(guest, "status", "stopped")
        elif stopped:
            object.__setattr__(guest, "status", "stopped")
            if guest.hastate == "started":
                guest.hastate = "stopped"
        else:
            uptime = rng.randint(600, 90 * 86400)
            guest.started_at = now - uptime
            guest.pid = rng.randint(1000, 4_000_000)
            guest.cpu = guest.cpu_mean
            guest.mem = int(guest.maxmem * guest.mem_mean)
            guest.netin = int(guest.net_rate * uptime * rng.uniform(0.5, 1.0))
            guest.netout = int(guest.net_rate * uptime * rng.uniform(0.2, 0.8))
            guest.diskread = int(guest.disk_rate * uptime * rng.uniform(0.5, 1.0))
            guest.diskwrite = int(guest.disk_rate * uptime * rng.uniform(0.3, 0.9))
            guest.agent_running = guest.agent and rng.random() < scenario.agent_running_share
            if kind == "lxc":
                guest.disk = int(guest.maxdisk * rng.uniform(0.1, 0.8))
                guest.swap = int(guest.maxswap * rng.uniform(0.0, 0.2))
        if scenario.max_snapshots and not template:
            count = rng.randint(0, scenario.max_snapshots)
            parent = None
            for number in range(count):
                snapshot = Snapshot(
                    name=f"snap{number + 1}" if rng.random() < 0.5 else f"before-upgrade-{number + 1}",
                    snaptime=int(now - rng.randint(3600, 180 * 86400)),
                    description=rng.choice(("", "before upgrade", "known good state")),
                    vmstate=kind == "qemu" and rng.random() < 0.3,
                    parent=parent,
                )
                parent = snapshot.name
                state.adopt(snapshot)
                guest.snapshots.append(snapshot)
            guest.snapshots.sort(key=lambda item: item.snaptime)
        state.adopt(guest)
        state.guests[vmid] = guest


def make_task(state: PVEState, rng: random.Random, node: str, starttime: int, kind: str, task_id: str, user: str = "root@pam") -> Task:
    node_state = state.nodes[node]
    pstart = int((starttime - node_state.booted_at) * 100) & 0xFFFFFFFF
    return Task(
        node=node,
        pid=rng.randint(1000, 4_000_000),
        pstart=max(1, pstart),
        starttime=starttime,
        type=kind,
        id=task_id,
        user=user,
    )


def _build_backups(state: PVEState, scenario: Scenario, rng: random.Random, names: list[str], now: float) -> None:
    """Nightly vzdump jobs: one multi-guest task per node and night, files on a backup storage."""
    from pulse_core.simulator.backups import backup_target, plan_vzdump

    target = backup_target(scenario.resolved_storages())
    if target is None or scenario.backup_days <= 0:
        return
    midnight = int(now // 86400 * 86400)
    for day in range(scenario.backup_days, 0, -1):
        for node in names:
            start = midnight - day * 86400 + 3600 + rng.randint(0, 1800)
            if start > now:
                continue
            guests = [guest for guest in state.guests_on(node) if not guest.template]
            run = plan_vzdump(state, rng, node, guests, start, target, failure_share=scenario.backup_failure_share)
            run.finish(state)


def _build_replication(state: PVEState, scenario: Scenario, rng: random.Random, names: list[str]) -> None:
    if len(names) < 2:
        return
    candidates = [guest for guest in state.guests.values() if guest.type == "qemu" and not guest.template]
    for guest in rng.sample(candidates, min(len(candidates), scenario.replication_jobs)):
        target = rng.choice([name for name in names if name != guest.node])
        job = ReplicationJob(id=f"{guest.vmid}-0", guest=guest.vmid, jobnum=0, target=target, source=guest.node)
        state.adopt(job)
        state.replication.append(job)


def _build_health(state: PVEState, scenario: Scenario, rng: random.Random, now: int) -> None:
    # Imported here because the health module builds on this module's Tracked base.
    from pulse_core.simulator.health import CephState, build_disks, fail_replication

    build_disks(state, random.Random(rng.getrandbits(64)), scenario.failing_disks, scenario.ceph)
    state.ceph = CephState(health=scenario.ceph_health)
    state.adopt(state.ceph)
    for job in state.replication:
        job.duration = round(rng.uniform(1.5, 12.0), 2)
    for job in state.replication[: scenario.failed_replication_jobs]:
        fail_replication(job, now, 3, None)


def _build_other_tasks(state: PVEState, rng: random.Random, names: list[str], now: float) -> None:
    for node in names:
        for _ in range(3):
            start = int(now - rng.randint(600, 5 * 86400))
            kind, task_id = rng.choice((("aptupdate", ""), ("srvreload", "networking"), ("qmstart", str(rng.randint(100, 199)))))
            task = make_task(state, rng, node, start, kind, task_id)
            task.endtime = start + rng.randint(1, 30)
            task.status = "OK" if rng.random() > 0.1 else "command 'apt-get update' failed: exit code 100"
            task.log = ["starting task", "TASK OK" if task.status == "OK" else f"TASK ERROR: {task.status}"]
            state.add_task(task)
        state.tasks[node].sort(key=lambda item: item.starttime)


