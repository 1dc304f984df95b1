"""The simulated Proxmox Backup Server: its live model and its API (port 8007 on a real server).

PBS differs from PVE in ways clients trip over: errors are bare text (not a
JSON envelope), booleans are JSON ``true``/``false``, task items use
``worker_type``/``worker_id``, API tokens use ``PBSAPIToken=user!name:secret``
and unknown paths return 404.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from pulse_core.simulator.api import ApiApp, ApiError, Context, Raw, param_error, task_state
from pulse_core.simulator.auth import Authenticator
from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.rrd import rrd_rows
from pulse_core.simulator.scenario import Scenario
from pulse_core.simulator.server import Response
from pulse_core.simulator.state import GiB, PVEState, Tracked

DAY = 86400
# Usage history served by /status/datastore-usage: one value per this many seconds over 30 days.
# NOTE: the resolution is an estimate of PBS 4's month RRD. Clients should read history-delta.
HISTORY_DELTA = 3 * 3600
HISTORY_POINTS = 30 * DAY // HISTORY_DELTA


@dataclass(eq=False)
class PBSSnapshot(Tracked):
    backup_time: int
    size: int
    files: list[dict[str, Any]]
    verification: dict[str, str] | None = None
    protected: bool = False
    fingerprint: str | None = None
    comment: str | None = None


@dataclass(eq=False)
class PBSGroup(Tracked):
    store: str
    ns: str
    backup_type: str
    backup_id: str
    owner: str
    comment: str | None = None
    snapshots: list[PBSSnapshot] = field(default_factory=list)


@dataclass(eq=False)
class PBSTask(Tracked):
    node: str
    pid: int
    pstart: int
    task_id: int
    starttime: int
    worker_type: str
    worker_id: str | None
    user: str
    endtime: int | None = None
    status: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def upid(self) -> str:
        worker_id = (self.worker_id or "").replace(":", "\\x3a")
        return (
            f"UPID:{self.node}:{self.pid:08X}:{self.pstart:08X}:{self.task_id:08X}:{self.starttime:08X}:"
            f"{self.worker_type}:{worker_id}:{self.user}:"
        )


@dataclass(eq=False)
class PBSJob(Tracked):
    """A sync, verify or prune job with its configuration and last run."""

    kind: str
    id: str
    store: str
    schedule: str
    config: dict[str, Any] = field(default_factory=dict)
    last_task: PBSTask | None = None


@dataclass(eq=False)
class Datastore(Tracked):
    name: str
    total: int
    used: int
    comment: str | None = None
    mount_status: str = "nonremovable"
    backend_type: str = "filesystem"
    maintenance: str | None = None
    gc_schedule: str = "daily"
    gc_task: PBSTask | None = None
    gc_stats: dict[str, int] = field(default_factory=dict)
    # Usage growth per day as a fraction of ``total``, which drives history and the full-date estimate.
    growth_per_day: float = 0.002
    # Error text that makes the store unavailable (``error`` in datastore-usage, 400 on its status).
    error: str | None = None


@dataclass
class PBSState:
    clock: SimClock
    hostname: str
    version: str
    release: str
    datastores: dict[str, Datastore] = field(default_factory=dict)
    namespaces: dict[str, list[str]] = field(default_factory=dict)
    groups: list[PBSGroup] = field(default_factory=list)
    tasks: list[PBSTask] = field(default_factory=list)
    jobs: list[PBSJob] = field(default_factory=list)
    booted_at: float = 0.0
    cpu: float = 0.04
    memory_total: int = 32 * GiB
    memory_used: int = 6 * GiB
    generation: int = 0
    last_step: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    task_counter: int = 1

    def adopt(self, item: Tracked) -> None:
        object.__setattr__(item, "_owner", self)
        self.generation += 1

    def touch(self) -> None:
        self.generation += 1

    def advance_to(self, now: float) -> None:
        elapsed = now - self.last_step
        if elapsed < 10:
            return
        self.cpu = round(min(1.0, max(0.0, 0.04 + self.rng.gauss(0, 0.02))), 4)
        self.memory_used = int(self.memory_total * min(0.9, max(0.1, 0.2 + self.rng.gauss(0, 0.02))))
        for store in self.datastores.values():
            growth = int(store.total * store.growth_per_day * elapsed / DAY)
            store.used = min(store.total, store.used + growth)
        self.last_step = now
        self.generation += 1

    def new_task(self, starttime: int, worker_type: str, worker_id: str | None, user: str = "root@pam") -> PBSTask:
        self.task_counter += 1
        task = PBSTask(
            node=self.hostname,
            pid=self.rng.randint(1000, 500_000),
            pstart=max(1, int((starttime - self.booted_at) * 100) & 0xFFFFFFFF),
            task_id=self.task_counter,
            starttime=starttime,
            worker_type=worker_type,
            worker_id=worker_id,
            user=user,
        )
        self.adopt(task)
        self.tasks.append(task)
        return task


def _finish(task: PBSTask, rng: random.Random, failed_share: float, duration: tuple[int, int], error: str) -> None:
    task.endtime = task.starttime + rng.randint(*duration)
    if rng.random() < failed_share:
        task.status = error
        task.log = [f"starting {task.worker_type}", f"TASK ERROR: {error}"]
    else:
        task.status = "OK"
        task.log = [f"starting {task.worker_type}", "TASK OK"]


def build_pbs_state(scenario: Scenario, clock: SimClock, pve: PVEState) -> PBSState:
    """Build the PBS model; backup groups follow the PVE guests so both sides agree."""
    assert scenario.pbs is not None
    spec = scenario.pbs
    rng = random.Random(scenario.seed * 7919 + 17)
    now = int(clock.now())
    state = PBSState(
        clock=clock, hostname=spec.hostname, version=spec.version, release=spec.release,
        booted_at=now - rng.randint(5 * DAY, 90 * DAY), rng=random.Random(rng.getrandbits(64)),
    )
    state.last_step = now
    for name in spec.datastores:
        total = spec.datastore_size
        store = Datastore(name=name, total=total, used=int(total * rng.uniform(0.2, 0.7)),
                          comment=None if rng.random() < 0.5 else f"{name} datastore",
                          growth_per_day=rng.uniform(0.0005, 0.01))
        state.adopt(store)
        state.datastores[name] = store
        state.namespaces[name] = [""] + list(spec.namespaces)

    owners = ["root@pam!pulse", "backup@pbs", "pve@pbs!pve-cluster"]
    groups: list[tuple[str, str]] = []
    for guest in pve.guests.values():
        if not guest.template:
            groups.append(("vm" if guest.type == "qemu" else "ct", str(guest.vmid)))
    groups.extend(("host", f"fileserver{index + 1}") for index in range(spec.host_groups))
    if spec.snapshots and not groups:
        groups.append(("host", "fileserver1"))
    total_snapshots = spec.snapshots
    per_group = max(1, total_snapshots // max(1, len(groups))) if total_snapshots else 0
    remaining = total_snapshots
    slots = [(store, ns) for store in spec.datastores for ns in state.namespaces[store]]
    for index, (backup_type, backup_id) in enumerate(groups):
        if remaining <= 0:
            break
        store, ns = slots[index % len(slots)]
        group = PBSGroup(store=store, ns=ns, backup_type=backup_type, backup_id=backup_id,
                         owner=rng.choice(owners), comment=None)
        count = remaining if index == len(groups) - 1 else min(remaining, max(1, per_group + rng.randint(-1, 1)))
        remaining -= count
        base_size = rng.randint(2, 200) * GiB
        encrypted = rng.random() < spec.encrypted_share
        key_fingerprint = ":".join(f"{byte:02x}" for byte in hashlib.sha256(f"key{backup_id}".encode()).digest()) if encrypted else None
        for number in range(count):
            backup_time = now - number * DAY - rng.randint(3600, 5 * 3600)
            size = int(base_size * rng.uniform(0.95, 1.05))
            files = _snapshot_files(backup_type, size, encrypted)
            snapshot = PBSSnapshot(
                backup_time=backup_time,
                size=sum(item.get("size", 0) for item in files),
                files=files,
                protected=rng.random() < 0.01,
                fingerprint=key_fingerprint,
                comment=f"{backup_type}-{backup_id}" if rng.random() < 0.3 else None,
            )
            roll = rng.random()
            if roll >= spec.unverified_share:
                failed = roll < spec.unverified_share + spec.verify_failed_share
                verify_time = backup_time + rng.randint(600, 6 * 3600)
                snapshot.verification = {
                    "state": "failed" if failed else "ok",
                    "upid": PBSTask(spec.hostname, 2000 + number, 100, 1, verify_time, "verificationjob", f"{store}:v-{store}", "root@pam").upid,
                }
            state.adopt(snapshot)
            group.snapshots.append(snapshot)
        group.snapshots.sort(key=lambda item: item.backup_time)
        state.adopt(group)
        state.groups.append(group)

    _build_pbs_tasks(state, spec, rng, now)
    return state


def _snapshot_files(backup_type: str, size: int, encrypted: bool) -> list[dict[str, Any]]:
    mode = "encrypt" if encrypted else "none"
    if backup_type == "vm":
        files = [
            {"filename": "qemu-server.conf.blob", "size": 612, "crypt-mode": mode},
            {"filename": "drive-scsi0.img.fidx", "size": size, "crypt-mode": mode},
        ]
    elif backup_type == "ct":
        files = [
            {"filename": "pct.conf.blob", "size": 380, "crypt-mode": mode},
            {"filename": "root.pxar.didx", "size": size, "crypt-mode": mode},
        ]
    else:
        files = [{"filename": "root.pxar.didx", "size": size, "crypt-mode": mode}]
    files.append({"filename": "index.json.blob", "size": 662, "crypt-mode": "sign-only" if encrypted else "none"})
    files.append({"filename": "client.log.blob", "size": 3216})
    return files


def _build_pbs_tasks(state: PBSState, spec: Any, rng: random.Random, now: int) -> None:
    share = spec.failed_task_share
    for store in state.datastores.values():
        for day in range(3, 0, -1):
            start = now - day * DAY + rng.randint(0, 3600)
            for _ in range(3):
                task = state.new_task(start + rng.randint(0, 3600), "backup", f"{store.name}:vm/{rng.randint(100, 199)}", "root@pam!pulse")
                _finish(task, rng, share, (30, 900), "backup failed: connection error: connection reset")
        if spec.gc:
            gc = state.new_task(now - rng.randint(3600, DAY), "garbage_collection", store.name)
            _finish(gc, rng, share, (60, 2000), "unable to start garbage collection - datastore is locked")
            store.gc_task = gc
            chunks = rng.randint(10_000, 500_000)
            store.gc_stats = {
                "index-file-count": rng.randint(10, 5000),
                "index-data-bytes": store.used * rng.randint(3, 8),
                "disk-bytes": store.used,
                "disk-chunks": chunks,
                "removed-bytes": rng.randint(0, 10 * GiB),
                "removed-chunks": rng.randint(0, 5000),
                "pending-bytes": rng.randint(0, 5 * GiB),
                "pending-chunks": rng.randint(0, 3000),
                "removed-bad": 0,
                "still-bad": 0,
            }
    stores = list(state.datastores)
    for index in range(spec.verify_jobs):
        store = stores[index % len(stores)]
        job = PBSJob("verify", f"v-{store}" if index < len(stores) else f"v-{store}-{index}", store, "daily",
                     {"ignore-verified": True, "outdated-after": 30})
        task = state.new_task(now - rng.randint(3600, DAY), "verificationjob", f"{store}:{job.id}")
        _finish(task, rng, share, (300, 7200), "verification failed - please check the log for details")
        job.last_task = task
        state.adopt(job)
        state.jobs.append(job)
    for index in range(spec.prune_jobs):
        store = stores[index % len(stores)]
        job = PBSJob("prune", f"p-{store}-{index}", store, "daily",
                     {"keep-last": 3, "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6})
        task = state.new_task(now - rng.randint(3600, DAY), "prunejob", f"{store}:{job.id}")
        _finish(task, rng, share, (5, 120), "prune failed: unable to acquire lock")
        job.last_task = task
        state.adopt(job)
        state.jobs.append(job)
    for index in range(spec.sync_jobs):
        store = stores[index % len(stores)]
        job = PBSJob("sync", f"s-{store}-{index}", store, "hourly",
                     {"remote": "offsite-pbs", "remote-store": "mirror", "remove-vanished": False, "sync-direction": "pull"})
        task = state.new_task(now - rng.randint(600, 3600), "syncjob", f"offsite-pbs:mirror:{store}::{job.id}")
        _finish(task, rng, share, (10, 1800), "sync failed - remote 'offsite-pbs' unreachable")
        job.last_task = task
        state.adopt(job)
        state.jobs.append(job)
    state.tasks.sort(key=lambda item: item.starttime)


def _namespace_depth(ns: str) -> int:
    """Return how many levels a namespace path has ("" is the root, depth 0)."""
    if not ns:
        return 0
    return ns.count("/") + 1


def _next_run(schedule: str, now: float) -> int:
    if schedule == "hourly":
        return int(now // 3600 + 1) * 3600
    return int(now // DAY + 1) * DAY + 2 * 3600


class PBSApp(ApiApp):
    product = "PBS"

    def __init__(self, state: PBSState, auth: Authenticator, clock: SimClock, auth_failure_delay: float = 0.0) -> None:
        super().__init__(auth, clock, auth_failure_delay)
        self.state = state
        # Fingerprint of the certificate this server presents, set by the simulator.
        self.fingerprint = ""
        self.repoid = hashlib.sha1(f"{state.version}.{state.release}".encode()).hexdigest()
        add = self.add
        add("POST", "/access/ticket", self.create_ticket, public=True)
        add("GET", "/ping", lambda context: {"pong": True}, public=True)
        add("GET", "/version", self.get_version)
        add("GET", "/access/permissions", self.permissions)
        add("GET", "/nodes/{node}/subscription", self.subscription)
        add("GET", "/nodes/{node}/rrd", self.node_rrd)
        add("GET", "/admin/datastore/{store}/rrd", self.datastore_rrd)
        add("GET", "/nodes/{node}/status", self.node_status)
        add("GET", "/nodes/{node}/tasks", self.tasks)
        add("GET", "/nodes/{node}/tasks/{upid}/status", self.task_status)
        add("GET", "/nodes/{node}/tasks/{upid}/log", self.task_log)
        add("GET", "/admin/datastore", self.datastore_list)
        add("GET", "/admin/datastore/{store}/status", self.datastore_status)
        add("GET", "/admin/datastore/{store}/namespace", self.namespaces)
        add("GET", "/admin/datastore/{store}/groups", self.groups)
        add("GET", "/admin/datastore/{store}/snapshots", self.snapshots)
        add("GET", "/admin/datastore/{store}/gc", self.datastore_gc)
        add("GET", "/admin/gc", self.gc_jobs)
        add("GET", "/status/datastore-usage", self.datastore_usage)
        add("GET", "/config/datastore", self.datastore_config)
        for kind in ("sync", "verify", "prune"):
            add("GET", f"/config/{kind}", self._job_list(kind, with_status=False))
            add("GET", f"/admin/{kind}", self._job_list(kind, with_status=True))

    def before_request(self) -> None:
        self.state.advance_to(self.clock.now())

    # -- product wording: PBS errors are bare text ----------------------------------

    def auth_failure_message(self, detail: str) -> str:
        return "authentication failed"

    def csrf_message(self) -> str:
        return "missing CSRF prevention token"

    def token_not_allowed_message(self, uri: str) -> str:
        return "permission check failed"

    def permission_error(self, path: str, *privileges: str) -> ApiError:
        return ApiError(403, "permission check failed")

    def not_found(self, method: str, path: str) -> Response:
        shown = path if path.startswith("/api2/") else f"/api2/json{path}"
        return self.error_response(ApiError(404, f"Path '{shown}' not found."))

    def error_response(self, error: ApiError) -> Response:
        body = error.message.rstrip("\n")
        if error.errors:
            body += "\n" + "\n".join(f"parameter '{name}': {text}" for name, text in error.errors.items())
        return Response(status=error.status, body=body.encode(), reason=error.message.split("\n", 1)[0])

    # -- helpers ----------------------------------------------------------------------

    def _store(self, context: Context, name: str, *privileges: str) -> Datastore:
        store = self.state.datastores.get(name)
        if store is None:
            raise ApiError(400, f"datastore '{name}' does not exist")
        if privileges:
            self.require(context, f"/datastore/{name}", *privileges)
        return store

    def _node(self, node: str) -> None:
        if node not in ("localhost", self.state.hostname):
            raise ApiError(400, f"no such node '{node}'")

    def _namespace(self, store: str, params: dict[str, Any]) -> str:
        ns = str(params.get("ns", "") or "")
        if ns not in self.state.namespaces.get(store, [""]):
            raise ApiError(400, f"namespace '{ns}' does not exist")
        return ns

    # -- access and node --------------------------------------------------------------

    def create_ticket(self, context: Context) -> Any:
        from pulse_core.simulator.auth import AuthError

        username = str(context.params.get("username", ""))
        password = str(context.params.get("password", ""))
        if not username or not password:
            raise param_error("username" if not username else "password", "parameter is missing")
        try:
            user = self.auth.check_password(username, password, context.now)
        except AuthError:
            raise ApiError(401, "authentication failed") from None
        ticket, csrf = self.auth.issue_ticket(user.userid, context.now)
        return {"username": user.userid, "ticket": ticket, "CSRFPreventionToken": csrf}

    def get_version(self, context: Context) -> Any:
        return {"version": self.state.version, "release": self.state.release, "repoid": self.repoid}

    def node_status(self, context: Context, node: str) -> Any:
        self._node(node)
        self.require(context, "/system/status", "Sys.Audit")
        state = self.state
        now = self.clock.now()
        load = state.cpu * 8
        return {
            "uptime": int(now - state.booted_at),
            "cpu": state.cpu,
            "wait": 0.002,
            "loadavg": [round(load, 2), round(load * 0.9, 2), round(load * 0.8, 2)],
            "kversion": "Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)",
            "current-kernel": {"sysname": "Linux", "release": "6.14.11-4-pve", "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)", "machine": "x86_64"},
            "boot-info": {"mode": "efi", "secureboot": False},
            "cpuinfo": {"model": "Intel(R) Xeon(R) E-2388G CPU @ 3.20GHz", "sockets": 1, "cpus": 16},
            "memory": {"total": state.memory_total, "used": state.memory_used, "free": state.memory_total - state.memory_used},
            "swap": {"total": 8 * GiB, "used": 0, "free": 8 * GiB},
            "root": {"total": 100 * GiB, "used": 12 * GiB, "avail": 88 * GiB},
            "info": {"fingerprint": self.fingerprint},
        }

    def permissions(self, context: Context) -> Any:
        """Return the caller's privileges per ACL path as ``{path: {privilege: true}}`` (the propagate bit)."""
        principal = context.principal
        paths = {"/": self.auth.all_privileges} if principal.superuser else dict(principal.acl)
        wanted = context.params.get("path")
        if wanted:
            paths = {wanted: principal.privileges(wanted)}
        return {path: {privilege: True for privilege in sorted(privileges)} for path, privileges in paths.items()}

    def subscription(self, context: Context, node: str) -> Any:
        self._node(node)
        return {"status": "notfound", "message": "There is no subscription key", "url": "https://www.proxmox.com/en/proxmox-backup-server/pricing"}

    def node_rrd(self, context: Context, node: str) -> Any:
        self._node(node)
        self.require(context, "/system/status", "Sys.Audit")
        state = self.state
        values = {
            "cpu": state.cpu, "iowait": 0.002, "loadavg": state.cpu * 16,
            "memtotal": state.memory_total, "memused": state.memory_used,
            "swaptotal": 8 * GiB, "swapused": 0, "netin": 5_000_000.0, "netout": 300_000.0,
            "total": 100 * GiB, "used": 12 * GiB,
        }
        return rrd_rows(context.params, values, self.clock.server_now(), f"pbs/{node}", 9)

    def datastore_rrd(self, context: Context, store: str) -> Any:
        item = self._store(context, store, "Datastore.Audit", "Datastore.Backup")
        values = {
            "total": item.total, "used": item.used, "available": item.total - item.used,
            "read_bytes": 20_000_000.0, "write_bytes": 35_000_000.0, "read_ios": 300.0, "write_ios": 500.0,
        }
        return rrd_rows(context.params, values, self.clock.server_now(), f"datastore/{store}", 9)

    # -- datastores -------------------------------------------------------------------

    def datastore_list(self, context: Context) -> Any:
        items = []
        for store in self.state.datastores.values():
            if not context.principal.has(f"/datastore/{store.name}", "Datastore.Audit", "Datastore.Backup", "Datastore.Read", "Datastore.Modify"):
                continue
            item: dict[str, Any] = {
                "store": store.name,
                "comment": store.comment,
                "mount-status": store.mount_status,
                "backend-type": store.backend_type,
            }
            if store.maintenance:
                item["maintenance"] = store.maintenance
            items.append(item)
        return items

    def datastore_config(self, context: Context) -> Any:
        items = []
        for store in self.state.datastores.values():
            if context.principal.has(f"/datastore/{store.name}", "Datastore.Audit"):
                item: dict[str, Any] = {"name": store.name, "path": f"/mnt/datastore/{store.name}", "gc-schedule": store.gc_schedule}
                if store.comment:
                    item["comment"] = store.comment
                items.append(item)
        return items

    def _counts(self, store: str) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for group in self.state.groups:
            if group.store != store:
                continue
            entry = counts.setdefault(group.backup_type, {"groups": 0, "snapshots": 0})
            entry["groups"] += 1
            entry["snapshots"] += len(group.snapshots)
        return counts

    def _gc_status(self, store: Datastore) -> dict[str, Any]:
        status: dict[str, Any] = dict(store.gc_stats) if store.gc_stats else {
            "index-file-count": 0, "index-data-bytes": 0, "disk-bytes": 0, "disk-chunks": 0,
            "removed-bytes": 0, "removed-chunks": 0, "pending-bytes": 0, "pending-chunks": 0,
            "removed-bad": 0, "still-bad": 0,
        }
        status["upid"] = store.gc_task.upid if store.gc_task is not None else None
        status["cache-stats"] = {"hits": status.get("disk-chunks", 0) * 2, "misses": status.get("disk-chunks", 0)}
        return status

    def datastore_status(self, context: Context, store: str) -> Any:
        item = self._store(context, store, "Datastore.Audit", "Datastore.Backup")
        if item.error:
            raise ApiError(400, item.error)
        result: dict[str, Any] = {
            "total": item.total, "used": item.used, "avail": item.total - item.used,
            "backend-type": item.backend_type,
        }
        if str(context.params.get("verbose", "")).lower() in ("1", "true"):
            result["counts"] = self._counts(store)
            gc = self._gc_status(item)
            if gc["upid"] is None:
                del gc["upid"]
            result["gc-status"] = gc
        return result

    def namespaces(self, context: Context, store: str) -> Any:
        self._store(context, store, "Datastore.Audit", "Datastore.Modify", "Datastore.Backup")
        parent = str(context.params.get("parent", "") or "")
        max_depth = context.params.get("max-depth")
        items = []
        for ns in self.state.namespaces[store]:
            if parent and not (ns == parent or ns.startswith(parent + "/")):
                continue
            depth = _namespace_depth(ns) - _namespace_depth(parent)
            if max_depth is not None and depth > int(max_depth):
                continue
            items.append({"ns": ns})
        return items

    def groups(self, context: Context, store: str) -> Any:
        self._store(context, store, "Datastore.Audit", "Datastore.Backup")
        ns = self._namespace(store, context.params)
        items = []
        for group in self.state.groups:
            if group.store != store or group.ns != ns or not group.snapshots:
                continue
            files = [item["filename"] for item in group.snapshots[-1].files]
            entry: dict[str, Any] = {
                "backup-type": group.backup_type,
                "backup-id": group.backup_id,
                "last-backup": group.snapshots[-1].backup_time,
                "backup-count": len(group.snapshots),
                "files": files,
                "owner": group.owner,
            }
            if group.comment:
                entry["comment"] = group.comment
            items.append(entry)
        return items

    def snapshots(self, context: Context, store: str) -> Any:
        self._store(context, store, "Datastore.Audit", "Datastore.Backup")
        ns = self._namespace(store, context.params)
        backup_type = context.params.get("backup-type")
        backup_id = context.params.get("backup-id")
        if backup_type is not None and backup_type not in ("vm", "ct", "host"):
            raise param_error("backup-type", f"value '{backup_type}' is not defined in the enumeration.")
        items = []
        for group in self.state.groups:
            if group.store != store or group.ns != ns:
                continue
            if backup_type and group.backup_type != backup_type or backup_id and group.backup_id != backup_id:
                continue
            for snapshot in group.snapshots:
                entry: dict[str, Any] = {
                    "backup-type": group.backup_type,
                    "backup-id": group.backup_id,
                    "backup-time": snapshot.backup_time,
                    "files": snapshot.files,
                    "size": snapshot.size,
                    "owner": group.owner,
                    "protected": snapshot.protected,
                }
                if snapshot.comment:
                    entry["comment"] = snapshot.comment
                if snapshot.verification:
                    entry["verification"] = snapshot.verification
                if snapshot.fingerprint:
                    entry["fingerprint"] = snapshot.fingerprint
                items.append(entry)
        return items

    def _gc_job(self, store: Datastore) -> dict[str, Any]:
        item = self._gc_status(store)
        item["store"] = store.name
        item["schedule"] = store.gc_schedule
        item["next-run"] = _next_run(store.gc_schedule, self.clock.now())
        task = store.gc_task
        if task is not None and task.status is not None:
            item["last-run-endtime"] = task.endtime
            item["last-run-state"] = task.status
            item["duration"] = (task.endtime or task.starttime) - task.starttime
        return item

    def datastore_gc(self, context: Context, store: str) -> Any:
        item = self._store(context, store, "Datastore.Audit")
        return self._gc_job(item)

    def gc_jobs(self, context: Context) -> Any:
        wanted = context.params.get("store")
        return [
            self._gc_job(store)
            for store in self.state.datastores.values()
            if (not wanted or store.name == wanted)
            and context.principal.has(f"/datastore/{store.name}", "Datastore.Audit", "Datastore.Modify")
        ]

    def datastore_usage(self, context: Context) -> Any:
        now = self.clock.now()
        items = []
        for store in self.state.datastores.values():
            principal = context.principal
            if not principal.has(f"/datastore/{store.name}", "Datastore.Audit", "Datastore.Backup"):
                continue
            if store.error:
                items.append({"store": store.name, "error": store.error, "mount-status": store.mount_status, "backend-type": store.backend_type})
                continue
            start = int(now // HISTORY_DELTA) * HISTORY_DELTA - HISTORY_POINTS * HISTORY_DELTA
            fraction = store.used / store.total
            step = store.growth_per_day * HISTORY_DELTA / DAY
            history = [round(max(0.0, fraction - step * (HISTORY_POINTS - index)), 6) for index in range(HISTORY_POINTS)]
            item: dict[str, Any] = {
                "store": store.name,
                "total": store.total,
                "used": store.used,
                "avail": store.total - store.used,
                "mount-status": store.mount_status,
                "backend-type": store.backend_type,
                "history": history,
                "history-start": start,
                "history-delta": HISTORY_DELTA,
                "gc-status": {key: value for key, value in self._gc_status(store).items() if value is not None},
            }
            if step > 0:
                item["estimated-full-date"] = int(now + (1.0 - fraction) / step * HISTORY_DELTA)
            else:
                item["estimated-full-date"] = 0
            items.append(item)
        return items

    def _job_list(self, kind: str, *, with_status: bool) -> Any:
        def handler(context: Context) -> Any:
            wanted = context.params.get("store")
            items = []
            for job in self.state.jobs:
                if job.kind != kind or (wanted and job.store != wanted):
                    continue
                if not context.principal.has(f"/datastore/{job.store}", "Datastore.Audit", "Datastore.Verify", "Datastore.Modify"):
                    continue
                item: dict[str, Any] = {"id": job.id, "store": job.store, "schedule": job.schedule, **job.config}
                if with_status:
                    item["next-run"] = _next_run(job.schedule, self.clock.now())
                    task = job.last_task
                    if task is not None:
                        item["last-run-upid"] = task.upid
                        if task.status is not None:
                            item["last-run-state"] = task.status
                            item["last-run-endtime"] = task.endtime
                items.append(item)
            return items

        return handler

    # -- tasks ------------------------------------------------------------------------

    def _task_item(self, task: PBSTask) -> dict[str, Any]:
        item: dict[str, Any] = {
            "upid": task.upid,
            "node": task.node,
            "pid": task.pid,
            "pstart": task.pstart,
            "starttime": task.starttime,
            "worker_type": task.worker_type,
            "worker_id": task.worker_id,
            "user": task.user,
        }
        if task.status is not None:
            item["endtime"] = task.endtime
            item["status"] = task.status
        return item

    def tasks(self, context: Context, node: str) -> Any:
        self._node(node)
        params = context.params
        try:
            start = int(params.get("start", 0))
            limit = int(params.get("limit", 50))
        except ValueError:
            raise param_error("limit", "value is not an integer") from None
        audit = context.principal.has("/system/tasks", "Sys.Audit")
        running = str(params.get("running", "")).lower() in ("1", "true")
        errors = str(params.get("errors", "")).lower() in ("1", "true")
        typefilter = params.get("typefilter")
        store = params.get("store")
        since = params.get("since")
        until = params.get("until")
        statusfilter = set(str(params["statusfilter"]).split(",")) if params.get("statusfilter") else None
        items = []
        for task in reversed(self.state.tasks):
            if not audit and task.user.split("!")[0] != context.principal.userid:
                continue
            if running and task.status is not None:
                continue
            if errors and (task.status is None or task.status == "OK"):
                continue
            if typefilter and typefilter not in task.worker_type:
                continue
            if store and not (task.worker_id or "").startswith(store):
                continue
            if since and task.starttime < int(since):
                continue
            if until and task.starttime > int(until):
                continue
            if statusfilter is not None:
                if task_state(task.status, running_name="unknown") not in statusfilter:
                    continue
            items.append(self._task_item(task))
        page = items[start:start + limit] if limit else items[start:]
        return Raw(orjson.dumps({"data": page, "total": len(items)}))

    def _find_task(self, context: Context, node: str, upid: str) -> PBSTask:
        self._node(node)
        for task in self.state.tasks:
            if task.upid == upid:
                if not context.principal.has("/system/tasks", "Sys.Audit") and task.user.split("!")[0] != context.principal.userid:
                    raise self.permission_error("/system/tasks", "Sys.Audit")
                return task
        raise ApiError(400, f"task '{upid}' not found")

    def task_status(self, context: Context, node: str, upid: str) -> Any:
        task = self._find_task(context, node, upid)
        user, _, token = task.user.partition("!")
        item: dict[str, Any] = {
            "upid": task.upid,
            "node": task.node,
            "pid": task.pid,
            "pstart": task.pstart,
            "starttime": task.starttime,
            "type": task.worker_type,
            "user": user,
            "status": "running" if task.status is None else "stopped",
        }
        if task.worker_id is not None:
            item["id"] = task.worker_id
        if token:
            item["tokenid"] = token
        if task.status is not None:
            item["exitstatus"] = task.status
            item["endtime"] = task.endtime
        return item

    def task_log(self, context: Context, node: str, upid: str) -> Any:
        task = self._find_task(context, node, upid)
        start = int(context.params.get("start", 0))
        limit = int(context.params.get("limit", 50))
        lines = [{"n": number, "t": text} for number, text in enumerate(task.log, start=1)]
        return Raw(orjson.dumps({"data": lines[start:start + limit] if limit else lines[start:], "total": len(lines)}))
