"""Runtime control of a running simulator: faults, time, topology changes, privileges.

Every public method is also reachable over HTTP on each simulated server as
``POST /_sim/<method_name>`` (``-`` may replace ``_``) with the keyword
arguments as a JSON object, e.g. ``POST /_sim/set_node_online {"node": "pve2",
"online": false}``. ``GET /_sim/status`` describes the current state. The
control routes need no credentials: the simulator only listens on 127.0.0.1.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

import orjson
import trio

from pulse_core.simulator.errors import SimulatorError
from pulse_core.simulator.faults import Fault
from pulse_core.simulator.health import CEPH_HEALTH_STATES, fail_replication
from pulse_core.simulator.server import Request, Response
from pulse_core.simulator.state import Guest, Node, Task
from pulse_core.simulator.tls import generate_certificate

if TYPE_CHECKING:
    from pulse_core.simulator.simulator import Simulator

logger = logging.getLogger(__name__)

DEFAULT_OVERSIZED_BYTES = 32 * 1024 * 1024


class Control:
    """Fault switches and state changes for one simulator (``sim.control``)."""

    def __init__(self, simulator: Simulator) -> None:
        self._sim = simulator

    # -- servers and TLS ----------------------------------------------------------

    def set_server_down(self, down: bool = True, server: str | None = None, seconds: float | None = None) -> None:
        """Close (``down=True``) or reopen the listening sockets of ``server`` ("pve", "pbs", None = both).

        While down, connections are refused and open ones are dropped. With
        ``seconds``, the server comes back by itself after that many seconds of
        real (Trio) time, so the call is also usable over HTTP.
        """
        endpoints = self._sim.endpoints_for(server)
        for endpoint in endpoints:
            if down:
                endpoint.stop()
            elif endpoint.name not in self._sim.state.nodes or self._sim.state.nodes[endpoint.name].online:
                endpoint.start(self._sim.nursery)
        logger.info("simulated server %s %s", server or "pve+pbs", "down" if down else "up")
        if down and seconds is not None:
            async def reopen() -> None:
                await trio.sleep(seconds)
                self.set_server_down(False, server)

            self._sim.nursery.start_soon(reopen)

    def rotate_certificate(self, target: str | None = None) -> str:
        """Give ``target`` ("pve" = the main PVE endpoint, "pbs" or a node name) a new certificate.

        Open connections are dropped so the next request gets the new
        certificate. Returns the new fingerprint.
        """
        sim = self._sim
        target = target or "pve"
        if target == "pbs":
            if sim.pbs_endpoint is None:
                raise SimulatorError("rotate_certificate: this simulator has no PBS")
            certificate = generate_certificate(sim.pbs_hostname)
            sim.pbs_endpoint.set_certificate(certificate)
            sim.pbs_app.fingerprint = certificate.fingerprint
            return certificate.fingerprint
        node = sim.state.local_node if target == "pve" else target
        if node not in sim.state.nodes:
            raise SimulatorError(f"rotate_certificate: unknown target {target!r}; use 'pve', 'pbs' or a node name")
        certificate = generate_certificate(node)
        if node == sim.state.local_node:
            sim.pve_endpoint.set_certificate(certificate)
        member = sim.member_endpoints.get(node)
        if member is not None:
            member.set_certificate(certificate)
        sim.state.fingerprints[node] = certificate.fingerprint
        sim.state.touch()
        return certificate.fingerprint

    # -- faults -----------------------------------------------------------------

    def set_latency(self, path_pattern: str, seconds: float, server: str | None = None, times: int | None = None) -> None:
        """Delay matching requests by ``seconds`` (use more than the client's timeout for timeouts)."""
        self._sim.faults.add(Fault("latency", path_pattern, server, seconds=float(seconds), remaining=times))

    def set_error(
        self, path_pattern: str, status: int = 500, body: str | None = None, server: str | None = None, times: int | None = None
    ) -> None:
        """Reply to matching requests with ``status`` and ``body`` (a PVE-style error body when None)."""
        if not 100 <= int(status) <= 999:
            raise SimulatorError(f"set_error: status must be a three-digit HTTP status, got {status}")
        self._sim.faults.add(Fault("error", path_pattern, server, status=int(status), body=body, remaining=times))

    def set_malformed(self, path_pattern: str, server: str | None = None, times: int | None = None) -> None:
        """Corrupt matching JSON bodies (cut in half and followed by garbage)."""
        self._sim.faults.add(Fault("malformed", path_pattern, server, remaining=times))

    def set_truncated(self, path_pattern: str, server: str | None = None, times: int | None = None) -> None:
        """Send the full Content-Length but only half of the body, then close the connection."""
        self._sim.faults.add(Fault("truncated", path_pattern, server, remaining=times))

    def set_oversized(
        self, path_pattern: str, size: int = DEFAULT_OVERSIZED_BYTES, server: str | None = None, times: int | None = None
    ) -> None:
        """Pad matching JSON bodies with whitespace up to ``size`` bytes (still valid JSON)."""
        self._sim.faults.add(Fault("oversized", path_pattern, server, size=int(size), remaining=times))

    def clear_faults(self, path_pattern: str | None = None, kind: str | None = None) -> int:
        """Remove injected faults (all of them by default); returns how many were removed."""
        return self._sim.faults.clear(path_pattern, kind)

    # -- time and auth ------------------------------------------------------------

    def advance(self, seconds: float) -> float:
        """Move simulated time forward; metrics, uptimes and ticket ages follow. Returns the new time."""
        sim = self._sim
        sim.clock.advance(float(seconds))
        now = sim.clock.now()
        sim.state.advance_to(now)
        if sim.pbs_state is not None:
            sim.pbs_state.advance_to(now)
        return now

    def set_clock_skew(self, seconds: float) -> None:
        """Make the servers' clocks run ``seconds`` ahead (negative: behind) of simulated time."""
        self._sim.clock.skew = float(seconds)
        self._sim.state.touch()

    def expire_tickets(self, server: str | None = None) -> None:
        """Invalidate every ticket issued so far (clients must log in again)."""
        for authenticator in self._sim.authenticators(server):
            authenticator.expire_tickets()

    def revoke_token_acl(self, server: str = "pve") -> None:
        """Remove every ACL of the default API token: lists come back empty, checked paths return 403."""
        authenticator = self._authenticator(server)
        authenticator.default_token.acl = {}
        self._sim.state.touch()

    def restrict_privileges(self, drop: list[str], path: str = "/", server: str = "pve") -> None:
        """Remove ``drop`` from the default token's privileges on ``path`` (e.g. "VM.GuestAgent.Audit")."""
        authenticator = self._authenticator(server)
        token = authenticator.default_token
        unknown = [privilege for privilege in drop if privilege not in authenticator.all_privileges]
        if unknown:
            raise SimulatorError(f"restrict_privileges: unknown privileges {unknown}")
        token.acl[path] = frozenset(token.privileges(path) - set(drop))
        self._sim.state.touch()

    def set_token_acl(self, acl: dict[str, list[str]], server: str = "pve") -> None:
        """Replace the default token's ACL: ``{"/vms/100": ["VM.Audit"], ...}``."""
        authenticator = self._authenticator(server)
        authenticator.default_token.acl = {path: frozenset(privileges) for path, privileges in acl.items()}
        self._sim.state.touch()

    def _authenticator(self, server: str) -> Any:
        found = self._sim.authenticators(server)
        if not found:
            raise SimulatorError(f"unknown or absent server {server!r}; use 'pve' or 'pbs'")
        return found[0]

    # -- topology -----------------------------------------------------------------

    def set_node_online(self, node: str, online: bool = True) -> None:
        """Take a node offline or bring it back.

        Offline: ``/cluster/status`` shows ``online: 0``, its proxied paths
        return 595, and its member endpoint (if any) refuses connections. After
        5 minutes of simulated time its entries in ``/cluster/resources`` lose
        their stats. Back online counts as a reboot: its running guests restart,
        so their counters start again from zero.
        """
        sim = self._sim
        target = self._node(node)
        if target.online == online:
            return
        now = sim.clock.now()
        target.online = online
        if online:
            target.offline_since = None
            target.booted_at = now
            for guest in sim.state.guests_on(node):
                if guest.running:
                    sim.state.start_guest(guest)
            member = sim.member_endpoints.get(node)
            if member is not None:
                member.start(sim.nursery)
        else:
            target.offline_since = now
            member = sim.member_endpoints.get(node)
            if member is not None:
                member.stop()
        logger.info("simulated node %s is now %s", node, "online" if online else "offline")

    def set_member_reachable(self, node: str, reachable: bool = True) -> None:
        """Close (or reopen) a node's own endpoint while the cluster still reports the node online.

        This is how the simulator models a member whose address in
        ``/cluster/status`` cannot be reached: the address stays 127.0.0.1 and
        the member's port (``sim.member_urls[node]``) refuses connections, so no
        test ever sends traffic to another address. Needs ``member_endpoints=True``.
        """
        self._node(node)
        member = self._sim.member_endpoints.get(node)
        if member is None:
            raise SimulatorError("set_member_reachable: the simulator runs without member endpoints (member_endpoints=True)")
        if reachable:
            member.start(self._sim.nursery)
        else:
            member.stop()

    def start_backup(self, node: str, vmids: list[int] | None = None, fail: list[int] | None = None) -> str:
        """Start a vzdump job on ``node`` now; it finishes as simulated time passes.

        ``vmids`` defaults to every non-template guest on the node; guests in
        ``fail`` fail their backup. While the job runs, its task has no status
        and its guests show ``lock: backup``. Returns the task's UPID.
        """
        from pulse_core.simulator.backups import backup_target, plan_vzdump

        sim = self._sim
        state = sim.state
        self._node(node)
        target = backup_target(state.scenario.resolved_storages())
        if target is None:
            raise SimulatorError("start_backup: no storage in the scenario has content 'backup'")
        if vmids is None:
            guests = [guest for guest in state.guests_on(node) if not guest.template]
        else:
            guests = [self._guest(vmid) for vmid in vmids]
            wrong = [guest.vmid for guest in guests if guest.node != node]
            if wrong:
                raise SimulatorError(f"start_backup: guests {wrong} are not on node {node}")
        run = plan_vzdump(state, state.rng, node, guests, int(sim.clock.now()), target, fail=set(fail or []))
        run.task.log = run.log[:1]
        state.add_task(run.task)
        for guest in guests:
            guest.lock = "backup"
        state.running_backups.append(run)
        return run.task.upid

    def migrate_guest(self, vmid: int, node: str) -> None:
        """Move a guest to another node (a finished migration, with a task on the source node)."""
        sim = self._sim
        guest = self._guest(vmid)
        self._node(node)
        if guest.node == node:
            raise SimulatorError(f"migrate_guest: guest {vmid} is already on node {node}")
        source = guest.node
        now = int(sim.clock.now())
        kind = "qmigrate" if guest.type == "qemu" else "vzmigrate"
        task = Task(node=source, pid=sim.state.rng.randint(1000, 4_000_000), pstart=now % 10**8, starttime=now,
                    type=kind, id=str(vmid), user="root@pam", endtime=now + 12, status="OK",
                    log=[f"starting migration of {guest.type.upper()} {vmid} to node '{node}'", "migration finished successfully", "TASK OK"])
        sim.state.add_task(task)
        guest.node = node
        for job in sim.state.replication:
            if job.guest == vmid:
                job.source = node

    def delete_guest(self, vmid: int) -> None:
        """Remove a guest; its backups stay, as on a real server."""
        guest = self._guest(vmid)
        state = self._sim.state
        del state.guests[guest.vmid]
        state.replication = [job for job in state.replication if job.guest != guest.vmid]
        state.touch()

    def add_guest(self, vmid: int, node: str, type: str = "qemu", name: str | None = None, running: bool = True) -> None:
        """Create a guest; it shows ``status: "unknown"`` in /cluster/resources until the next stats step."""
        state = self._sim.state
        self._node(node)
        if vmid in state.guests:
            raise SimulatorError(f"add_guest: vmid {vmid} already exists")
        if type not in ("qemu", "lxc"):
            raise SimulatorError(f"add_guest: type must be 'qemu' or 'lxc', got {type!r}")
        guest = Guest(vmid=int(vmid), type=type, node=node, name=name or (f"VM {vmid}" if type == "qemu" else f"CT{vmid}"), status="stopped")
        state.adopt(guest)
        state.guests[guest.vmid] = guest
        if running:
            state.start_guest(guest)
        guest.stats_unknown = True

    def start_guest(self, vmid: int) -> None:
        """Start a stopped guest (counters restart from zero)."""
        self._sim.state.start_guest(self._guest(vmid))

    def stop_guest(self, vmid: int) -> None:
        self._sim.state.stop_guest(self._guest(vmid))

    def restart_guest(self, vmid: int) -> None:
        """Reboot a guest: uptime and the cumulative counters start again from zero."""
        guest = self._guest(vmid)
        self._sim.state.stop_guest(guest)
        self._sim.state.start_guest(guest)

    def add_node(self, name: str) -> None:
        """Join a new, empty node to the cluster (with every storage not limited to other nodes)."""
        sim = self._sim
        state = sim.state
        if name in state.nodes:
            raise SimulatorError(f"add_node: node {name!r} already exists")
        node = Node(name=name, nodeid=max((item.nodeid for item in state.nodes.values()), default=0) + 1,
                    booted_at=sim.clock.now())
        state.adopt(node)
        state.nodes[name] = node
        state.tasks[name] = []
        specs = {storage.spec.name: storage.spec for storage in state.storages.values()}
        from pulse_core.simulator.state import Storage

        for spec in specs.values():
            if spec.nodes is not None:
                continue
            shared = next((item for (owner, key), item in state.storages.items() if key == spec.name), None)
            used = shared.used if (spec.shared and shared is not None) else int(spec.size * 0.05)
            storage = Storage(spec=spec, node=name, total=spec.size, used=used)
            state.adopt(storage)
            state.storages[(name, spec.name)] = storage
        state.cluster_version += 1
        sim.add_member_endpoint(name)

    def set_storage_active(self, node: str, storage: str, active: bool) -> None:
        """Make a storage unreachable on a node (``active: 0``, no sizes) or reachable again."""
        item = self._sim.state.storages.get((node, storage))
        if item is None:
            raise SimulatorError(f"set_storage_active: no storage {storage!r} on node {node!r}")
        item.active = active

    # -- disks, Ceph and replication ----------------------------------------------

    def set_disk_health(self, node: str, devpath: str, health: str = "FAILED") -> None:
        """Set the SMART health a node's disk reports, e.g. "FAILED", or "PASSED" again."""
        self._node(node)
        disks = self._sim.state.disks.get(node, [])
        disk = next((item for item in disks if item.devpath == devpath), None)
        if disk is None:
            known = ", ".join(item.devpath for item in disks) or "none"
            raise SimulatorError(f"set_disk_health: node {node!r} has no disk {devpath!r} (known: {known})")
        disk.health = health

    def set_ceph_health(self, health: str) -> None:
        """Set the health the Ceph cluster reports: HEALTH_OK, HEALTH_WARN or HEALTH_ERR."""
        if health not in CEPH_HEALTH_STATES:
            raise SimulatorError(f"set_ceph_health: expected one of {', '.join(CEPH_HEALTH_STATES)}, got {health!r}")
        if not self._sim.state.scenario.ceph:
            raise SimulatorError("set_ceph_health: this scenario has no Ceph (set ceph: true)")
        self._sim.state.ceph.health = health

    def set_replication_failure(self, job: str, fail_count: int = 1, error: str | None = None) -> None:
        """Make a replication job fail ``fail_count`` times in a row with ``error``; 0 makes it succeed again."""
        found = next((item for item in self._sim.state.replication if item.id == job), None)
        if found is None:
            known = ", ".join(item.id for item in self._sim.state.replication) or "none"
            raise SimulatorError(f"set_replication_failure: unknown job {job!r} (known: {known})")
        if fail_count < 0:
            raise SimulatorError(f"set_replication_failure: fail_count must be 0 or more, got {fail_count}")
        fail_replication(found, int(self._sim.clock.now()), fail_count, error)

    def _node(self, name: str) -> Node:
        node = self._sim.state.nodes.get(name)
        if node is None:
            raise SimulatorError(f"unknown node {name!r}; known: {', '.join(self._sim.state.nodes)}")
        return node

    def _guest(self, vmid: int) -> Guest:
        guest = self._sim.state.guests.get(int(vmid))
        if guest is None:
            raise SimulatorError(f"unknown guest {vmid}")
        return guest

    # -- HTTP ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        sim = self._sim
        return {
            "time": sim.clock.now(),
            "skew": sim.clock.skew,
            "faults": [vars(fault) for fault in sim.faults.active()],
            "nodes": {name: node.online for name, node in sim.state.nodes.items()},
            "guests": len(sim.state.guests),
            "pve_url": sim.pve_url,
            "pbs_url": sim.pbs_url,
        }

    async def handle_http(self, request: Request) -> Response:
        """Run ``POST /_sim/<method>`` with JSON keyword arguments; ``GET /_sim/status``."""
        name = request.path[len("/_sim/"):].strip("/").replace("-", "_")
        if request.method == "GET" and name == "status":
            return _reply(200, {"data": self.status()})
        if request.method != "POST":
            return _reply(405, {"error": f"use POST /_sim/{name} with a JSON object of arguments"})
        method = getattr(self, name, None)
        if name.startswith("_") or name in ("handle_http", "status") or not callable(method):
            return _reply(404, {"error": f"unknown control call {name!r}"})
        try:
            arguments = orjson.loads(request.body) if request.body else {}
        except orjson.JSONDecodeError as exc:
            return _reply(400, {"error": f"request body is not valid JSON: {exc}"})
        if not isinstance(arguments, dict):
            return _reply(400, {"error": "request body must be a JSON object of keyword arguments"})
        try:
            inspect.signature(method).bind(**arguments)
        except TypeError as exc:
            return _reply(400, {"error": f"invalid arguments for {name}: {exc}"})
        try:
            result = method(**arguments)
        except (SimulatorError, ValueError) as exc:
            return _reply(400, {"error": str(exc)})
        return _reply(200, {"data": result})


def _reply(status: int, payload: Any) -> Response:
    return Response(status=status, body=orjson.dumps(payload), reason="OK" if status == 200 else "Error", content_type="application/json")
