"""The simulated Proxmox VE API (``/api2/json/...`` on port 8006 of a real node).

Field names, types and units follow the PVE 9.1 API schema and responses
recorded from real servers: booleans as 0/1 integers, CPU as a 0..1 fraction,
sizes in bytes, times in epoch seconds, tags joined by ";".

NOTE: numbers are always sent as JSON numbers. Real PVE (Perl) sometimes sends
numeric strings, which clients must also accept; the simulator does not vary this.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson

from pulse_core.simulator.api import ApiApp, ApiError, Context, Raw, param_error, task_state
from pulse_core.simulator.auth import Authenticator
from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.health import ceph_status, replication_state, smart_data
from pulse_core.simulator.rrd import rrd_rows
from pulse_core.simulator.state import GiB, Guest, Node, PVEState

RESOURCE_TYPES = ("vm", "storage", "node", "sdn")
PVE_REPOIDS = {"9": "9d436f37a0ac4172", "8": "ec5affc9e41f1d79"}
KERNELS = {"9": ("6.14.11-4-pve", "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)"),
           "8": ("6.8.12-16-pve", "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-16 (2025-09-30T13:21Z)")}


def _flag(value: bool) -> int:
    return 1 if value else 0


class PVEApp(ApiApp):
    product = "PVE"

    def __init__(self, state: PVEState, auth: Authenticator, clock: SimClock, auth_failure_delay: float = 0.0) -> None:
        super().__init__(auth, clock, auth_failure_delay)
        self.state = state
        self._resources_cache: dict[str | None, tuple[int, list[dict[str, Any]], bytes]] = {}
        major = str(state.pve_major)
        self.version = state.scenario.pve_version
        self.repoid = PVE_REPOIDS.get(major, PVE_REPOIDS["9"])
        self._register()

    def _register(self) -> None:
        add = self.add
        add("POST", "/access/ticket", self.create_ticket, public=True, token_allowed=False)
        add("GET", "/access/ticket", lambda ctx: None, public=True)
        add("GET", "/version", self.get_version)
        add("GET", "/access/permissions", self.permissions)
        add("GET", "/cluster/backup", self.backup_jobs)
        add("GET", "/cluster/ha/status/current", self.ha_status)
        add("GET", "/cluster/status", self.cluster_status)
        add("GET", "/cluster/resources", self.cluster_resources)
        add("GET", "/cluster/tasks", self.cluster_tasks)
        add("GET", "/cluster/replication", self.cluster_replication)
        add("GET", "/cluster/ceph/status", self.ceph_status)
        add("GET", "/pools", self.pools)
        add("GET", "/storage", self.storage_config)
        add("GET", "/nodes", self.nodes)
        node = "/nodes/{node}"
        add("GET", node + "/status", self.node_status)
        add("GET", node + "/version", self.node_version)
        add("GET", node + "/time", self.node_time)
        add("GET", node + "/rrddata", self.node_rrddata)
        add("GET", node + "/disks/list", self.disks_list)
        add("GET", node + "/disks/smart", self.disks_smart)
        add("GET", node + "/ceph/status", self.node_ceph_status)
        add("GET", node + "/replication/{job}/status", self.replication_job_status)
        add("GET", node + "/subscription", self.subscription)
        add("GET", node + "/apt/update", self.apt_updates)
        add("GET", node + "/netstat", self.netstat)
        add("GET", node + "/lxc/{vmid}/interfaces", self._guest_route("lxc", self.lxc_interfaces))
        add("GET", node + "/replication", self.node_replication)
        add("GET", node + "/qemu", self.qemu_list)
        add("GET", node + "/lxc", self.lxc_list)
        for kind in ("qemu", "lxc"):
            guest = f"{node}/{kind}/{{vmid}}"
            add("GET", guest + "/status/current", self._guest_route(kind, self.guest_status))
            add("GET", guest + "/config", self._guest_route(kind, self.guest_config))
            add("GET", guest + "/snapshot", self._guest_route(kind, self.guest_snapshots))
            add("GET", guest + "/rrddata", self._guest_route(kind, self.guest_rrddata))
        for command in ("get-fsinfo", "network-get-interfaces", "get-osinfo", "info", "get-host-name"):
            add("GET", f"{node}/qemu/{{vmid}}/agent/{command}", self._guest_route("qemu", self._agent(command)))
        add("POST", node + "/qemu/{vmid}/agent/ping", self._guest_route("qemu", self._agent("ping")))
        add("GET", node + "/storage", self.node_storage)
        add("GET", node + "/storage/{storage}/status", self.storage_status)
        add("GET", node + "/storage/{storage}/content", self.storage_content)
        add("GET", node + "/storage/{storage}/rrddata", self.storage_rrddata)
        add("GET", node + "/tasks", self.node_tasks)
        add("GET", node + "/tasks/{upid}/status", self.task_status)
        add("GET", node + "/tasks/{upid}/log", self.task_log)

    def before_request(self) -> None:
        self.state.advance_to(self.clock.now())

    # -- helpers ------------------------------------------------------------------

    def local_node(self, context: Context) -> str:
        """Return the node that serves this request (a member's own, or the entry node)."""
        state = self.state
        if context.request.endpoint in state.nodes:
            return context.request.endpoint
        local = state.nodes.get(state.local_node)
        if local is not None and local.online:
            return local.name
        for node in state.nodes.values():
            if node.online:
                return node.name
        return state.local_node

    def reach_node(self, context: Context, name: str) -> Node:
        """Resolve the node a proxied call goes to, failing like pveproxy does."""
        node = self.state.nodes.get(name)
        if node is None:
            raise ApiError(
                500,
                f"hostname lookup '{name}' failed - failed to get address info for: {name}: Name or service not known",
            )
        if not node.online:
            raise ApiError(
                595, "Errors during connection establishment, proxy handshake: No route to host", empty_body=True
            )
        return node

    def _guest_route(self, kind: str, handler: Any) -> Any:
        def route(context: Context, node: str, vmid: str) -> Any:
            self.reach_node(context, node)
            try:
                number = int(vmid)
            except ValueError:
                raise param_error("vmid", "type check ('integer') failed - got '" + vmid + "'") from None
            guest = self.state.guests.get(number)
            folder = "qemu-server" if kind == "qemu" else "lxc"
            if guest is None or guest.type != kind or guest.node != node:
                raise ApiError(500, f"Configuration file 'nodes/{node}/{folder}/{number}.conf' does not exist")
            return handler(context, guest)

        return route

    def _guest_stats(self, guest: Guest, now: float) -> dict[str, Any]:
        running = guest.running
        stats: dict[str, Any] = {
            "cpu": guest.cpu if running else 0,
            "maxcpu": guest.cpus,
            "mem": guest.mem if running else 0,
            "maxmem": guest.maxmem,
            "disk": guest.disk if (running and guest.type == "lxc") else 0,
            "maxdisk": guest.maxdisk,
            "netin": guest.netin,
            "netout": guest.netout,
            "diskread": guest.diskread,
            "diskwrite": guest.diskwrite,
            "uptime": guest.uptime(now),
        }
        return stats

    # -- access -------------------------------------------------------------------

    def create_ticket(self, context: Context) -> Any:
        params = context.params
        username = str(params.get("username", ""))
        password = str(params.get("password", ""))
        if not username:
            raise param_error("username", "property is missing and it is not optional")
        if not password:
            raise param_error("password", "property is missing and it is not optional")
        if "@" not in username and params.get("realm"):
            username = f"{username}@{params['realm']}"
        from pulse_core.simulator.auth import AuthError

        try:
            user = self.auth.check_password(username, password, context.now)
        except AuthError:
            raise ApiError(401, "authentication failure") from None
        ticket, csrf = self.auth.issue_ticket(user.userid, context.now)
        result: dict[str, Any] = {
            "username": user.userid,
            "ticket": ticket,
            "CSRFPreventionToken": csrf,
            "cap": {
                "vms": {privilege: 1 for privilege in sorted(self.auth.all_privileges) if privilege.startswith("VM.")},
                "nodes": {privilege: 1 for privilege in ("Sys.Audit", "Sys.Modify", "Sys.PowerMgmt", "Sys.Console", "Sys.Syslog")},
                "storage": {"Datastore.Audit": 1, "Datastore.Allocate": 1, "Datastore.AllocateSpace": 1},
            },
        }
        if self.state.cluster_name:
            result["clustername"] = self.state.cluster_name
        return result

    def get_version(self, context: Context) -> Any:
        return {"version": self.version, "release": self.version.rsplit(".", 1)[0], "repoid": self.repoid}

    def node_version(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        return self.get_version(context)

    def node_time(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/nodes/{node}", "Sys.Audit")
        now = int(context.now)
        return {"time": now, "localtime": now, "timezone": "UTC"}

    def permissions(self, context: Context) -> Any:
        """Return the caller's privileges per ACL path as ``{path: {privilege: 1}}``."""
        principal = context.principal
        wanted = context.params.get("path")
        if principal.superuser:
            paths = {"/": self.auth.all_privileges}
        else:
            paths = dict(principal.acl)
        if wanted:
            paths = {wanted: principal.privileges(wanted)}
        return {path: {privilege: 1 for privilege in sorted(privileges)} for path, privileges in paths.items()}

    # -- cluster ------------------------------------------------------------------

    def cluster_status(self, context: Context) -> Any:
        self.require(context, "/", "Sys.Audit")
        state = self.state
        local = self.local_node(context)
        entries: list[dict[str, Any]] = []
        for node in state.nodes.values():
            entries.append({
                "type": "node",
                "id": f"node/{node.name}",
                "name": node.name,
                "nodeid": node.nodeid,
                "ip": node.reported_ip,
                "local": _flag(node.name == local),
                "online": _flag(node.online),
                "level": node.level,
            })
        if state.cluster_name:
            entries.append({
                "type": "cluster",
                "id": "cluster",
                "name": state.cluster_name,
                "nodes": len(state.nodes),
                "quorate": _flag(state.quorate),
                "version": state.cluster_version,
            })
        return entries

    def _node_resource(self, node: Node, now: float) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": f"node/{node.name}", "node": node.name, "type": "node"}
        standalone = self.state.cluster_name is None
        if self.state.node_is_stale(node):
            entry["status"] = "offline"
            entry["cgroup-mode"] = 2
            return entry
        entry.update({
            "status": "online" if (node.online or standalone) else "offline",
            "level": node.level,
            "cpu": node.cpu,
            "maxcpu": node.maxcpu,
            "mem": node.mem,
            "maxmem": node.maxmem,
            "disk": node.disk,
            "maxdisk": node.maxdisk,
            "uptime": node.uptime(now),
            "cgroup-mode": 2,
        })
        if node.hastate:
            entry["hastate"] = node.hastate
        return entry

    def _guest_resource(self, guest: Guest, now: float, stale: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": f"{guest.type}/{guest.vmid}",
            "vmid": guest.vmid,
            "node": guest.node,
            "type": guest.type,
        }
        if stale or guest.stats_unknown:
            entry["status"] = "unknown"
        else:
            entry["status"] = guest.status
            entry["name"] = guest.name
            entry["template"] = _flag(guest.template)
            entry.update(self._guest_stats(guest, now))
            if self.state.pve_major >= 9 and guest.type == "qemu":
                entry["memhost"] = guest.mem if guest.running else 0
        if guest.pool:
            entry["pool"] = guest.pool
        if guest.lock:
            entry["lock"] = guest.lock
        if guest.tags:
            entry["tags"] = guest.tag_string()
        if guest.hastate:
            entry["hastate"] = guest.hastate
        return entry

    def _storage_resource(self, storage: Any, stale: bool) -> dict[str, Any]:
        spec = storage.spec
        entry: dict[str, Any] = {
            "id": f"storage/{storage.node}/{spec.name}",
            "storage": spec.name,
            "node": storage.node,
            "type": "storage",
            "plugintype": spec.type,
            "shared": _flag(spec.shared),
            "content": spec.content,
        }
        if stale or not storage.active:
            entry["status"] = "unknown"
        else:
            entry["status"] = "available"
            entry["disk"] = storage.used
            entry["maxdisk"] = storage.total
        return entry

    def _build_resources(self, type_filter: str | None) -> list[dict[str, Any]]:
        state = self.state
        now = self.clock.now()
        stale = {name: state.node_is_stale(node) for name, node in state.nodes.items()}
        entries: list[dict[str, Any]] = []
        if type_filter in (None, "node"):
            entries.extend(self._node_resource(node, now) for node in state.nodes.values())
        if type_filter in (None, "vm"):
            guest_resource = self._guest_resource
            entries.extend(guest_resource(guest, now, stale.get(guest.node, False)) for guest in state.guests.values())
        if type_filter in (None, "storage"):
            entries.extend(
                self._storage_resource(storage, stale.get(storage.node, False)) for storage in state.storages.values()
            )
        if type_filter in (None, "sdn"):
            # Every node has the built-in "localnetwork" SDN zone.
            entries.extend(
                {"id": f"sdn/{name}/localnetwork", "sdn": "localnetwork", "node": name, "type": "sdn", "status": "ok"}
                for name, node in state.nodes.items() if not stale[name]
            )
        if type_filter is None:
            pools = sorted({guest.pool for guest in state.guests.values() if guest.pool})
            entries.extend({"id": f"/pool/{pool}", "pool": pool, "type": "pool"} for pool in pools)
        return entries

    def resources(self, type_filter: str | None) -> tuple[list[dict[str, Any]], bytes]:
        """Return the unfiltered resource list and its encoded envelope, cached per state generation."""
        cached = self._resources_cache.get(type_filter)
        generation = self.state.generation
        if cached is not None and cached[0] == generation:
            return cached[1], cached[2]
        entries = self._build_resources(type_filter)
        body = orjson.dumps({"data": entries})
        self._resources_cache[type_filter] = (generation, entries, body)
        return entries, body

    def cluster_resources(self, context: Context) -> Any:
        type_filter = context.params.get("type") or None
        if type_filter is not None and type_filter not in RESOURCE_TYPES:
            raise param_error("type", f"value '{type_filter}' does not have a value in the enumeration '{', '.join(RESOURCE_TYPES)}'")
        entries, body = self.resources(type_filter)
        principal = context.principal
        if principal.superuser or principal.acl.get("/") == self.auth.all_privileges:
            return Raw(body)
        visible = []
        for entry in entries:
            kind = entry["type"]
            if kind == "node":
                allowed = principal.has(f"/nodes/{entry['node']}", "Sys.Audit")
            elif kind in ("qemu", "lxc"):
                allowed = principal.has(f"/vms/{entry['vmid']}", "VM.Audit")
            elif kind == "storage":
                allowed = principal.has(f"/storage/{entry['storage']}", "Datastore.Audit", "Datastore.AllocateSpace")
            elif kind == "sdn":
                allowed = principal.has(f"/sdn/zones/{entry['sdn']}", "SDN.Audit")
            else:
                allowed = principal.has(f"/pool/{entry.get('pool', '')}", "Pool.Audit")
            if allowed:
                visible.append(entry)
        return visible

    def cluster_tasks(self, context: Context) -> Any:
        tasks = []
        for node, items in self.state.tasks.items():
            if not context.principal.has(f"/nodes/{node}", "Sys.Audit"):
                continue
            tasks.extend(self._task_item(task) for task in items[-50:])
        tasks.sort(key=lambda item: item["starttime"], reverse=True)
        return tasks

    def _replication_items(self, context: Context, node: str | None) -> list[dict[str, Any]]:
        items = []
        for job in self.state.replication:
            if node is not None and job.source != node:
                continue
            if not context.principal.has(f"/vms/{job.guest}", "VM.Audit"):
                continue
            items.append({
                "id": job.id, "guest": job.guest, "jobnum": job.jobnum, "target": job.target,
                "type": "local", "schedule": job.schedule, "source": job.source,
            })
        return items

    def cluster_replication(self, context: Context) -> Any:
        return self._replication_items(context, None)

    def node_replication(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        now = int(context.now)
        jobs = {job.id: job for job in self.state.replication}
        items = []
        for item in self._replication_items(context, node):
            item.update(self._replication_state(jobs[item["id"]], now))
            items.append(item)
        return items

    def _replication_state(self, job: Any, now: int) -> dict[str, Any]:
        guest = self.state.guests.get(job.guest)
        return replication_state(job, now, guest.type if guest is not None else "qemu")

    def replication_job_status(self, context: Context, node: str, job: str) -> Any:
        self.reach_node(context, node)
        found = next((item for item in self.state.replication if item.id == job and item.source == node), None)
        if found is None:
            raise ApiError(500, f"no such replication job '{job}'")
        self.require(context, f"/vms/{found.guest}", "VM.Audit")
        item = {
            "id": found.id, "guest": found.guest, "jobnum": found.jobnum, "target": found.target,
            "type": "local", "schedule": found.schedule, "source": found.source,
        }
        item.update(self._replication_state(found, int(context.now)))
        return item

    def ceph_status(self, context: Context) -> Any:
        self.require(context, "/", "Sys.Audit", "Datastore.Audit")
        if not self.state.scenario.ceph:
            raise ApiError(500, "binary not installed: /usr/bin/ceph-mon")
        return ceph_status(self.state)

    def node_ceph_status(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        return self.ceph_status(context)

    def backup_jobs(self, context: Context) -> Any:
        self.require(context, "/", "Sys.Audit")
        from pulse_core.simulator.backups import backup_target

        target = backup_target(self.state.scenario.resolved_storages())
        if target is None or self.state.scenario.backup_days <= 0:
            return []
        excluded = sorted(guest.vmid for guest in self.state.guests.values() if guest.template)
        job: dict[str, Any] = {
            "id": "backup-" + _digest("nightly")[:12],
            "type": "vzdump",
            "schedule": "01:00",
            "all": 1,
            "enabled": 1,
            "mode": "snapshot",
            "storage": target.name,
            "compress": "zstd",
            "notes-template": "{{guestname}}",
            "next-run": int(self.clock.now() // 86400 + 1) * 86400 + 3600,
        }
        if excluded:
            job["exclude"] = ",".join(str(vmid) for vmid in excluded)
        return [job]

    def ha_status(self, context: Context) -> Any:
        self.require(context, "/", "Sys.Audit")
        state = self.state
        if not state.cluster_name:
            return [{"id": "quorum", "type": "quorum", "node": state.local_node, "status": "OK", "quorate": 1}]
        now = int(self.clock.now())
        online = [node for node in state.nodes.values() if node.online]
        master = online[0].name if online else state.local_node
        entries: list[dict[str, Any]] = [
            {"id": "quorum", "type": "quorum", "node": master, "status": "OK" if state.quorate else "No quorum on node", "quorate": _flag(state.quorate)},
            {"id": "master", "type": "master", "node": master, "status": f"{master} (active, {time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(now))})", "timestamp": now},
        ]
        managed = [guest for guest in state.guests.values() if guest.hastate]
        for node in state.nodes.values():
            active = any(guest.node == node.name for guest in managed)
            lrm_state = "active" if active else "idle"
            if not node.online:
                lrm_state = "old timestamp - dead?"
            entries.append({
                "id": f"lrm:{node.name}", "type": "lrm", "node": node.name,
                "status": f"{node.name} ({lrm_state}, {time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(now))})",
                "timestamp": now,
            })
        for guest in managed:
            kind = "vm" if guest.type == "qemu" else "ct"
            entries.append({
                "id": f"service:{kind}:{guest.vmid}", "type": "service", "sid": f"{kind}:{guest.vmid}",
                "node": guest.node, "state": guest.hastate, "request_state": "started" if guest.hastate == "started" else "stopped",
                "status": guest.hastate, "max_restart": 1, "max_relocate": 1, "crm_state": guest.hastate,
            })
        return entries

    def pools(self, context: Context) -> Any:
        names = sorted({guest.pool for guest in self.state.guests.values() if guest.pool})
        return [{"poolid": name} for name in names if context.principal.has(f"/pool/{name}", "Pool.Audit", "VM.Audit")]

    def storage_config(self, context: Context) -> Any:
        seen: dict[str, dict[str, Any]] = {}
        for storage in self.state.storages.values():
            spec = storage.spec
            if spec.name in seen or not context.principal.has(f"/storage/{spec.name}", "Datastore.Audit", "Datastore.AllocateSpace"):
                continue
            entry: dict[str, Any] = {"storage": spec.name, "type": spec.type, "content": spec.content, "digest": _digest(spec.name)}
            if spec.shared:
                entry["shared"] = 1
            if not spec.enabled:
                entry["disable"] = 1
            if spec.nodes:
                entry["nodes"] = ",".join(spec.nodes)
            if spec.type == "pbs":
                entry.update({"datastore": spec.datastore or "backup", "server": "127.0.0.1", "username": "root@pam"})
            elif spec.type in ("dir", "nfs", "cifs"):
                entry["path"] = f"/mnt/pve/{spec.name}" if spec.type != "dir" else "/var/lib/vz"
            seen[spec.name] = entry
        return list(seen.values())

    # -- nodes --------------------------------------------------------------------

    def nodes(self, context: Context) -> Any:
        state = self.state
        now = self.clock.now()
        items = []
        for node in state.nodes.values():
            entry: dict[str, Any] = {
                "node": node.name,
                "id": f"node/{node.name}",
                "type": "node",
                "status": "online" if node.online else "offline",
            }
            fingerprint = state.fingerprints.get(node.name)
            if fingerprint:
                entry["ssl_fingerprint"] = fingerprint
            if context.principal.has(f"/nodes/{node.name}", "Sys.Audit") and not state.node_is_stale(node):
                entry.update({
                    "level": node.level,
                    "cpu": node.cpu,
                    "maxcpu": node.maxcpu,
                    "mem": node.mem,
                    "maxmem": node.maxmem,
                    "disk": node.disk,
                    "maxdisk": node.maxdisk,
                    "uptime": node.uptime(now),
                })
            items.append(entry)
        return items

    def node_status(self, context: Context, node: str) -> Any:
        target = self.reach_node(context, node)
        self.require(context, f"/nodes/{node}", "Sys.Audit")
        now = self.clock.now()
        major = str(self.state.pve_major)
        release, build = KERNELS.get(major, KERNELS["9"])
        load = target.cpu * target.maxcpu
        seed = int(now // 10)
        memory: dict[str, Any] = {"total": target.maxmem, "used": target.mem, "free": target.maxmem - target.mem}
        if self.state.pve_major >= 9:
            memory["available"] = target.maxmem - target.mem + GiB
        rootfs_free = target.maxdisk - target.disk
        return {
            "uptime": target.uptime(now),
            "idle": 0,
            "loadavg": [f"{load:.2f}", f"{load * 0.9:.2f}", f"{load * 0.8:.2f}"],
            "kversion": f"Linux {release} {build}",
            "current-kernel": {"sysname": "Linux", "release": release, "version": build, "machine": "x86_64"},
            "boot-info": {"mode": "efi", "secureboot": 0},
            "cpuinfo": {
                "model": target.cpu_model,
                "cpus": target.maxcpu,
                "cores": target.maxcpu // target.sockets // 2 or 1,
                "sockets": target.sockets,
                "mhz": "3000.000",
                "hvm": "1",
                "user_hz": 100,
                "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov svm",
            },
            "cpu": target.cpu,
            "wait": round(0.001 + (seed % 7) / 1000, 4),
            "memory": memory,
            "ksm": {"shared": 0},
            "swap": {"total": target.swap_total, "used": target.swap_used, "free": target.swap_total - target.swap_used},
            "pveversion": f"pve-manager/{self.version}/{self.repoid}",
            "rootfs": {"total": target.maxdisk, "used": target.disk, "avail": rootfs_free, "free": rootfs_free},
        }

    def node_rrddata(self, context: Context, node: str) -> Any:
        target = self.reach_node(context, node)
        self.require(context, f"/nodes/{node}", "Sys.Audit")
        values = {
            "cpu": target.cpu, "maxcpu": target.maxcpu, "loadavg": target.cpu * target.maxcpu,
            "iowait": 0.002, "memtotal": target.maxmem, "memused": target.mem,
            "swaptotal": target.swap_total, "swapused": target.swap_used,
            "roottotal": target.maxdisk, "rootused": target.disk,
            "netin": 200_000.0, "netout": 150_000.0,
        }
        if self.state.pve_major >= 9:
            values["memavailable"] = target.maxmem - target.mem
        return rrd_rows(context.params, values, self.clock.server_now(), f"node/{node}", self.state.pve_major)

    def disks_list(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        if not (context.principal.has("/", "Sys.Audit") or context.principal.has(f"/nodes/{node}", "Sys.Audit")):
            raise self.permission_error(f"/nodes/{node}", "Sys.Audit")
        skip_smart = context.params.get("skipsmart") in ("1", "true")
        items = []
        for disk in self.state.disks.get(node, []):
            item = disk.list_item()
            if skip_smart:
                item.pop("health")
                item["wearout"] = "N/A"
            items.append(item)
        return items

    def disks_smart(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        self.require(context, "/", "Sys.Audit")
        devpath = context.params.get("disk")
        if not devpath:
            raise param_error("disk", "property is missing and it is not optional")
        disk = next((item for item in self.state.disks.get(node, []) if item.devpath == devpath), None)
        if disk is None:
            raise ApiError(500, f"no such disk '{devpath}'")
        return smart_data(disk, context.params.get("healthonly") in ("1", "true"))

    def subscription(self, context: Context, node: str) -> Any:
        target = self.reach_node(context, node)
        if not target.level:
            return {"status": "notfound", "message": "There is no subscription key", "url": "https://www.proxmox.com/en/proxmox-virtual-environment/pricing"}
        names = {"c": "Community", "b": "Basic", "s": "Standard", "p": "Premium"}
        return {
            "status": "active",
            "level": target.level,
            "productname": f"Proxmox VE {names.get(target.level, 'Community')} Subscription 1 CPU/year",
            "key": f"pve1{target.level}-{_digest(node)[:10]}",
            "serverid": _digest("server" + node)[:32].upper(),
            "sockets": target.sockets,
            "checktime": int(self.clock.now()) - 86400,
            "regdate": "2025-01-15 00:00:00",
            "nextduedate": "2026-01-15",
        }

    def apt_updates(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/nodes/{node}", "Sys.Modify")
        major = self.state.pve_major
        packages = [
            ("pve-manager", f"{self.version}", f"{self.version.rsplit('.', 1)[0]}.{int(self.version.rsplit('.', 1)[1]) + 1}", "admin"),
            ("proxmox-kernel-helper", f"{major}.0.3", f"{major}.0.4", "admin"),
            ("libc6", "2.41-12", "2.41-12+deb13u1", "libs"),
        ]
        return [
            {
                "Package": name, "OldVersion": old, "Version": new, "Arch": "amd64" if section == "libs" else "all",
                "Description": f"{name} update", "Title": f"{name} update", "Origin": "Proxmox" if name.startswith(("pve", "proxmox")) else "Debian",
                "Priority": "optional", "Section": section,
            }
            for name, old, new, section in packages
        ]

    def netstat(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/nodes/{node}", "Sys.Audit")
        rows = []
        for guest in self.state.guests_on(node):
            if guest.running:
                device = f"tap{guest.vmid}i0" if guest.type == "qemu" else f"veth{guest.vmid}i0"
                rows.append({"dev": device, "vmid": str(guest.vmid), "in": str(guest.netin), "out": str(guest.netout)})
        return rows

    def lxc_interfaces(self, context: Context, guest: Guest) -> Any:
        self.require(context, f"/vms/{guest.vmid}", "VM.Audit")
        if not guest.running:
            raise ApiError(500, f"CT {guest.vmid} not running")
        return [
            {"name": "lo", "hwaddr": "00:00:00:00:00:00", "hardware-address": "00:00:00:00:00:00",
             "inet": "127.0.0.1/8", "inet6": "::1/128",
             "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "inet", "prefix": 8},
                              {"ip-address": "::1", "ip-address-type": "inet6", "prefix": 128}]},
            {"name": "eth0", "hwaddr": guest.mac.lower(), "hardware-address": guest.mac.lower(),
             "inet": f"{guest.ip}/24",
             "ip-addresses": [{"ip-address": guest.ip, "ip-address-type": "inet", "prefix": 24}]},
        ]

    # -- guests -------------------------------------------------------------------

    def _list_item(self, guest: Guest, now: float) -> dict[str, Any]:
        item: dict[str, Any] = {
            "vmid": guest.vmid,
            "name": guest.name,
            "status": guest.status,
            "cpus": guest.cpus,
        }
        item.update(self._guest_stats(guest, now))
        del item["maxcpu"]
        if guest.running and guest.pid is not None:
            item["pid"] = guest.pid
        if guest.template:
            item["template"] = 1
        if guest.lock:
            item["lock"] = guest.lock
        if guest.tags:
            item["tags"] = guest.tag_string()
        if guest.type == "lxc":
            item["type"] = "lxc"
            item["swap"] = guest.swap if guest.running else 0
            item["maxswap"] = guest.maxswap
        elif self.state.pve_major >= 9:
            item["memhost"] = guest.mem if guest.running else 0
        if self.state.pve_major >= 9 and guest.running:
            item.update(_pressure(guest, now))
        return item

    def _guest_list(self, context: Context, node: str, kind: str) -> Any:
        self.reach_node(context, node)
        now = self.clock.now()
        principal = context.principal
        return [
            self._list_item(guest, now)
            for guest in self.state.guests.values()
            if guest.node == node and guest.type == kind and principal.has(f"/vms/{guest.vmid}", "VM.Audit")
        ]

    def qemu_list(self, context: Context, node: str) -> Any:
        return self._guest_list(context, node, "qemu")

    def lxc_list(self, context: Context, node: str) -> Any:
        return self._guest_list(context, node, "lxc")

    def guest_status(self, context: Context, guest: Guest) -> Any:
        self.require(context, f"/vms/{guest.vmid}", "VM.Audit")
        now = self.clock.now()
        status = self._list_item(guest, now)
        status["ha"] = {"managed": 1, "state": guest.hastate, "group": "null"} if guest.hastate else {"managed": 0}
        if guest.type == "lxc":
            return status
        if guest.agent:
            status["agent"] = 1
        status["qmpstatus"] = "running" if guest.running else "stopped"
        if not guest.running:
            return status
        major = self.state.pve_major
        status["running-machine"] = "pc-q35-10.0+pve1" if major >= 9 else "pc-q35-9.2+pve1"
        status["running-qemu"] = "10.0.2" if major >= 9 else "9.2.0"
        status["balloon"] = guest.maxmem
        status["freemem"] = guest.maxmem - guest.mem
        uptime = guest.uptime(now)
        if guest.balloon and guest.agent_running:
            status["ballooninfo"] = {
                "actual": guest.maxmem,
                "max_mem": guest.maxmem,
                "last_update": int(now) - 3,
                "total_mem": guest.maxmem - 64 * 1024**2,
                "free_mem": guest.maxmem - guest.mem,
                "mem_swapped_in": 0,
                "mem_swapped_out": 0,
                "major_page_faults": 1500 + uptime // 100,
                "minor_page_faults": 200_000 + uptime * 10,
            }
        else:
            # Without the balloon driver reporting, PVE has only the configured size and shows mem == maxmem.
            status["ballooninfo"] = {"actual": guest.maxmem, "max_mem": guest.maxmem, "last_update": int(now) - 3}
            status["mem"] = guest.maxmem
            del status["freemem"]
        status["blockstat"] = {
            "scsi0": {
                "rd_bytes": guest.diskread, "wr_bytes": guest.diskwrite,
                "rd_operations": guest.diskread // 4096, "wr_operations": guest.diskwrite // 4096,
                "flush_operations": guest.diskwrite // 65536, "idle_time_ns": 1_000_000,
            },
        }
        status["nics"] = {f"tap{guest.vmid}i0": {"netin": guest.netin, "netout": guest.netout}}
        status["proxmox-support"] = {"backup-max-workers": True, "pbs-dirty-bitmap": True, "pbs-library-version": "1.5.2", "query-bitmap-info": True}
        return status

    def guest_config(self, context: Context, guest: Guest) -> Any:
        self.require(context, f"/vms/{guest.vmid}", "VM.Audit")
        config: dict[str, Any] = {"digest": _digest(f"{guest.vmid}:{guest.name}:{guest.node}")}
        if guest.type == "qemu":
            config.update({
                "name": guest.name,
                "cores": guest.cpus,
                "sockets": 1,
                "memory": str(guest.maxmem // 1024**2),
                "ostype": guest.ostype,
                "scsihw": "virtio-scsi-single",
                "scsi0": f"{self.disk_storage()}:vm-{guest.vmid}-disk-0,iothread=1,size={guest.maxdisk // GiB}G",
                "net0": f"virtio={guest.mac},bridge=vmbr0,firewall=1",
                "boot": "order=scsi0;net0",
                "onboot": 1,
                "smbios1": f"uuid={_uuid(guest.vmid)}",
                "vmgenid": _uuid(guest.vmid + 1_000_000),
            })
            if guest.agent:
                config["agent"] = "1"
            if not guest.balloon:
                config["balloon"] = 0
        else:
            config.update({
                "hostname": guest.name,
                "cores": guest.cpus,
                "memory": guest.maxmem // 1024**2,
                "swap": guest.maxswap // 1024**2,
                # pct's ostype enum has no "rocky", so Rocky Linux containers run as "centos".
                "ostype": {"rocky": "centos"}.get(guest.osinfo[1], guest.osinfo[1]),
                "arch": "amd64",
                "rootfs": f"{self.disk_storage()}:vm-{guest.vmid}-disk-0,size={guest.maxdisk // GiB}G",
                "net0": f"name=eth0,bridge=vmbr0,hwaddr={guest.mac},ip=dhcp,type=veth",
                "unprivileged": 1,
            })
        if guest.template:
            config["template"] = 1
        if guest.lock:
            config["lock"] = guest.lock
        if guest.tags:
            config["tags"] = guest.tag_string()
        if guest.snapshots:
            config["parent"] = guest.snapshots[-1].name
        return config

    def guest_snapshots(self, context: Context, guest: Guest) -> Any:
        self.require(context, f"/vms/{guest.vmid}", "VM.Audit")
        items: list[dict[str, Any]] = []
        for snapshot in guest.snapshots:
            item: dict[str, Any] = {
                "name": snapshot.name,
                "snaptime": snapshot.snaptime,
                "description": snapshot.description,
            }
            if guest.type == "qemu":
                item["vmstate"] = _flag(snapshot.vmstate)
            if snapshot.parent:
                item["parent"] = snapshot.parent
            items.append(item)
        current: dict[str, Any] = {
            "name": "current",
            "description": "You are here!",
            "digest": _digest(f"{guest.vmid}:snapshots:{len(guest.snapshots)}"),
            "running": _flag(guest.running),
        }
        if guest.snapshots:
            current["parent"] = guest.snapshots[-1].name
        items.append(current)
        return items

    def guest_rrddata(self, context: Context, guest: Guest) -> Any:
        self.require(context, f"/vms/{guest.vmid}", "VM.Audit")
        values: dict[str, float] = {"maxcpu": guest.cpus, "maxmem": guest.maxmem, "maxdisk": guest.maxdisk, "disk": guest.disk}
        if guest.running:
            values.update({
                "cpu": guest.cpu, "mem": guest.mem,
                "netin": guest.net_rate, "netout": guest.net_rate * 0.6,
                "diskread": guest.disk_rate, "diskwrite": guest.disk_rate * 0.7,
            })
            if self.state.pve_major >= 9 and guest.type == "qemu":
                values["memhost"] = guest.mem
        return rrd_rows(context.params, values, self.clock.server_now(), f"{guest.type}/{guest.vmid}", self.state.pve_major)

    def _agent(self, command: str) -> Any:
        def handler(context: Context, guest: Guest) -> Any:
            if self.state.pve_major >= 9:
                self.require(context, f"/vms/{guest.vmid}", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")
            else:
                self.require(context, f"/vms/{guest.vmid}", "VM.Monitor")
            if not guest.agent:
                raise ApiError(500, "No QEMU guest agent configured")
            if not guest.running:
                raise ApiError(500, f"VM {guest.vmid} is not running")
            if not guest.agent_running:
                raise ApiError(500, "QEMU guest agent is not running")
            return {"result": agent_result(command, guest, self.clock.now())}

        return handler

    # -- storage ------------------------------------------------------------------

    def _storage_item(self, storage: Any) -> dict[str, Any]:
        spec = storage.spec
        item: dict[str, Any] = {
            "storage": spec.name,
            "type": spec.type,
            "content": spec.content,
            "active": _flag(storage.active),
            "enabled": _flag(spec.enabled),
            "shared": _flag(spec.shared),
        }
        if storage.active:
            item.update({
                "total": storage.total,
                "used": storage.used,
                "avail": storage.total - storage.used,
                "used_fraction": storage.used / storage.total if storage.total else 0,
            })
        return item

    def node_storage(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        content = context.params.get("content")
        wanted = context.params.get("storage")
        items = []
        for (owner, name), storage in self.state.storages.items():
            if owner != node or (wanted and name != wanted):
                continue
            if content and content not in storage.spec.content.split(","):
                continue
            if str(context.params.get("enabled", "")) == "1" and not storage.spec.enabled:
                continue
            if not context.principal.has(f"/storage/{name}", "Datastore.Audit", "Datastore.AllocateSpace"):
                continue
            items.append(self._storage_item(storage))
        return items

    def _find_storage(self, node: str, name: str) -> Any:
        storage = self.state.storages.get((node, name))
        if storage is None:
            raise ApiError(500, f"storage '{name}' does not exist")
        return storage

    def storage_status(self, context: Context, node: str, storage: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace")
        return self._storage_item(self._find_storage(node, storage))

    def storage_rrddata(self, context: Context, node: str, storage: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace")
        item = self._find_storage(node, storage)
        return rrd_rows(context.params, {"total": item.total, "used": item.used}, self.clock.server_now(), f"storage/{node}/{storage}", self.state.pve_major)

    def storage_content(self, context: Context, node: str, storage: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace")
        spec = self._find_storage(node, storage).spec
        content_filter = context.params.get("content") or None
        vmid_filter = str(context.params.get("vmid") or "")
        contents = spec.content.split(",")
        results: list[dict[str, Any]] = []

        if "backup" in contents and content_filter in (None, "backup"):
            results.extend(self._backup_volumes(spec, node, vmid_filter))
        if spec.name == self.disk_storage() and content_filter in (None, "images", "rootdir"):
            for guest in self.state.guests.values():
                if (not spec.shared and guest.node != node) or (vmid_filter and str(guest.vmid) != vmid_filter):
                    continue
                content = "images" if guest.type == "qemu" else "rootdir"
                if content_filter not in (None, content) or content not in contents:
                    continue
                results.append({
                    "volid": f"{spec.name}:vm-{guest.vmid}-disk-0",
                    "content": content,
                    "format": "raw",
                    "size": guest.maxdisk,
                    "used": guest.disk if guest.type == "lxc" else int(guest.maxdisk * 0.4),
                    "vmid": guest.vmid,
                    "ctime": int(self.clock.now()) - 86400 * 30,
                })
        if "iso" in contents and content_filter in (None, "iso"):
            for iso in ("debian-13.1.0-amd64-netinst.iso", "ubuntu-24.04.3-live-server-amd64.iso"):
                results.append({
                    "volid": f"{spec.name}:iso/{iso}", "content": "iso", "format": "iso",
                    "size": 700 * 1024**2, "ctime": 1_750_000_000,
                })
        return results

    def disk_storage(self) -> str | None:
        """Return the storage guest disks live on: local-lvm, else the first storage for images."""
        names = {storage.spec.name: storage.spec for storage in self.state.storages.values()}
        if "local-lvm" in names:
            return "local-lvm"
        for name, spec in names.items():
            if {"images", "rootdir"} & set(spec.content.split(",")):
                return name
        return None

    def _backup_volumes(self, spec: Any, node: str, vmid_filter: str) -> list[dict[str, Any]]:
        volumes = []
        for backup in self.state.backups:
            if backup.storage != spec.name or (vmid_filter and str(backup.vmid) != vmid_filter):
                continue
            guest = self.state.guests.get(backup.vmid)
            # A local backup storage only holds the backups made on its own node.
            if not spec.shared and guest is not None and guest.node != node:
                continue
            entry: dict[str, Any] = {
                "volid": backup.volid,
                "content": "backup",
                "format": backup.format,
                "size": backup.size,
                "ctime": backup.ctime,
                "vmid": backup.vmid,
            }
            if spec.type == "pbs":
                entry["subtype"] = "qemu" if backup.guest_type == "qemu" else "lxc"
                if backup.verification:
                    entry["verification"] = backup.verification
            if backup.notes:
                entry["notes"] = backup.notes
            if backup.protected:
                entry["protected"] = 1
            volumes.append(entry)
        return volumes

    # -- tasks ----------------------------------------------------------------------

    def _task_item(self, task: Any) -> dict[str, Any]:
        item: dict[str, Any] = {
            "upid": task.upid,
            "node": task.node,
            "pid": task.pid,
            "pstart": task.pstart,
            "starttime": task.starttime,
            "type": task.type,
            "id": task.id,
            "user": task.user.split("!")[0],
        }
        if "!" in task.user:
            item["tokenid"] = task.user.split("!", 1)[1]
        if task.status is not None:
            item["endtime"] = task.endtime
            item["status"] = task.status
        return item

    def node_tasks(self, context: Context, node: str) -> Any:
        self.reach_node(context, node)
        params = context.params
        if not context.principal.has(f"/nodes/{node}", "Sys.Audit"):
            return Raw(orjson.dumps({"data": [], "total": 0}))
        try:
            start = int(params.get("start", 0))
            limit = int(params.get("limit", 50))
        except ValueError:
            raise param_error("limit", "type check ('integer') failed") from None
        source = params.get("source", "archive")
        typefilter = params.get("typefilter")
        vmid = params.get("vmid")
        errors_only = str(params.get("errors", "0")) in ("1", "true")
        since = params.get("since")
        until = params.get("until")
        statusfilter = params.get("statusfilter")
        items = []
        for task in reversed(self.state.tasks.get(node, [])):
            running = task.status is None
            if source == "archive" and running or source == "active" and not running:
                continue
            if typefilter and task.type != typefilter:
                continue
            if vmid and task.id != str(vmid):
                continue
            if errors_only and (running or task.status == "OK"):
                continue
            if since and task.starttime < int(since):
                continue
            if until and task.starttime > int(until):
                continue
            if statusfilter:
                wanted = set(statusfilter.split(","))
                if task_state(task.status) not in wanted:
                    continue
            items.append(self._task_item(task))
        total = len(items)
        page = items[start:start + limit] if limit else items[start:]
        return Raw(orjson.dumps({"data": page, "total": total}))

    def _find_task(self, node: str, upid: str) -> Any:
        for task in self.state.tasks.get(node, []):
            if task.upid == upid:
                return task
        raise ApiError(500, "no such task" if upid.startswith("UPID:") else f"unable to parse worker upid '{upid}'")

    def task_status(self, context: Context, node: str, upid: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/nodes/{node}", "Sys.Audit")
        task = self._find_task(node, upid)
        item = self._task_item(task)
        item.pop("endtime", None)
        status = item.pop("status", None)
        item["status"] = "running" if task.status is None else "stopped"
        if status is not None:
            item["exitstatus"] = status
        return item

    def task_log(self, context: Context, node: str, upid: str) -> Any:
        self.reach_node(context, node)
        self.require(context, f"/nodes/{node}", "Sys.Audit")
        task = self._find_task(node, upid)
        try:
            start = int(context.params.get("start", 0))
            limit = int(context.params.get("limit", 50))
        except ValueError:
            raise param_error("limit", "type check ('integer') failed") from None
        lines = [{"n": number, "t": text} for number, text in enumerate(task.log, start=1)]
        return Raw(orjson.dumps({"data": lines[start:start + limit], "total": len(lines)}))


def _pressure(guest: Guest, now: float) -> dict[str, float]:
    load = guest.cpu
    return {
        "pressurecpusome": round(load * 0.1, 4),
        "pressurecpufull": round(load * 0.02, 4),
        "pressureiosome": round(load * 0.05, 4),
        "pressureiofull": round(load * 0.01, 4),
        "pressurememorysome": 0.0,
        "pressurememoryfull": 0.0,
    } if guest.type == "qemu" else {
        "pressurecpusome": round(load * 0.1, 4),
        "pressureiosome": round(load * 0.05, 4),
        "pressureiofull": round(load * 0.01, 4),
        "pressurememorysome": 0.0,
        "pressurememoryfull": 0.0,
    }


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _uuid(number: int) -> str:
    digest = hashlib.md5(str(number).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def agent_result(command: str, guest: Guest, now: float) -> Any:
    """Return the QEMU guest agent reply of ``guest`` to ``command``."""
    windows = guest.ostype.startswith("w")
    if command == "ping":
        return {}
    if command == "get-host-name":
        return {"host-name": guest.name}
    if command == "info":
        return {"version": "9.2.0", "supported_commands": [
            {"name": name, "enabled": True, "success-response": True}
            for name in ("guest-ping", "guest-get-fsinfo", "guest-network-get-interfaces", "guest-get-osinfo", "guest-info")
        ]}
    if command == "get-osinfo":
        _, os_id, name, version_id, version, kernel = guest.osinfo
        info = {
            "id": os_id,
            "name": name,
            "pretty-name": f"{name} {version}" if not windows else name,
            "version": version,
            "version-id": version_id,
            "kernel-release": kernel,
            "kernel-version": "#1 SMP PREEMPT_DYNAMIC" if not windows else "2022",
            "machine": "x86_64",
        }
        if windows:
            info["variant"] = "server"
            info["variant-id"] = "server"
        return info
    if command == "network-get-interfaces":
        uptime = guest.uptime(now)
        interfaces = [] if windows else [{
            "name": "lo",
            "hardware-address": "00:00:00:00:00:00",
            "ip-addresses": [
                {"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8},
                {"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128},
            ],
            "statistics": {"rx-bytes": 1000 + uptime, "rx-packets": 10 + uptime // 100, "rx-errs": 0, "rx-dropped": 0,
                           "tx-bytes": 1000 + uptime, "tx-packets": 10 + uptime // 100, "tx-errs": 0, "tx-dropped": 0},
        }]
        interfaces.append({
            "name": "Ethernet" if windows else "eth0",
            "hardware-address": guest.mac.lower(),
            "ip-addresses": [
                {"ip-address-type": "ipv4", "ip-address": guest.ip, "prefix": 24},
                {"ip-address-type": "ipv6", "ip-address": f"fe80::be24:11ff:fe{guest.vmid & 0xFF:02x}:{guest.vmid >> 8 & 0xFFFF:04x}", "prefix": 64},
            ],
            "statistics": {"rx-bytes": guest.netin, "rx-packets": guest.netin // 1200, "rx-errs": 0, "rx-dropped": guest.netin // 10**9,
                           "tx-bytes": guest.netout, "tx-packets": guest.netout // 1200, "tx-errs": 0, "tx-dropped": 0},
        })
        return interfaces
    if command == "get-fsinfo":
        used_root = int(guest.maxdisk * 0.9 * (0.3 + guest.mem_mean / 2))
        if windows:
            return [{
                "name": "\\\\?\\Volume{5c2a4b3e-0000-0000-0000-100000000000}\\",
                "mountpoint": "C:\\", "type": "NTFS",
                "total-bytes": int(guest.maxdisk * 0.99), "used-bytes": used_root,
                "disk": [{"serial": "drive-scsi0", "bus-type": "scsi", "bus": 0, "target": 0, "unit": 0,
                          "pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}}],
            }]
        return [
            {
                "name": "sda1", "mountpoint": "/", "type": "ext4",
                "total-bytes": int(guest.maxdisk * 0.95), "used-bytes": used_root,
                "disk": [{"serial": "drive-scsi0", "bus-type": "scsi", "bus": 0, "target": 0, "unit": 0, "dev": "/dev/sda1",
                          "pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}}],
            },
            {
                "name": "sda15", "mountpoint": "/boot/efi", "type": "vfat",
                "total-bytes": 129_718_272, "used-bytes": 12_456_960,
                "disk": [{"serial": "drive-scsi0", "bus-type": "scsi", "bus": 0, "target": 0, "unit": 0, "dev": "/dev/sda15",
                          "pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}}],
            },
        ]
    raise ApiError(500, f"guest agent command '{command}' is not simulated")

