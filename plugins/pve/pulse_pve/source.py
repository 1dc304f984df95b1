"""The Proxmox VE source: what to fetch when, from which member, within which budget.

Every poll fetches the base: ``/cluster/resources`` (all nodes, guests and
storage in one call) and ``/nodes/{node}/status`` for online nodes. Detail
calls (``status/current``, guest agent) and slow data (storage, backups,
snapshots, disks, Ceph, replication) run on their own cadences, oldest first.
They get a share of the poll interval after the base, so in a large cluster
no guest waits forever and the base metrics are never delayed by them. A failing call backs off with jitter; it marks
only what it would have refreshed as stale.
"""

from __future__ import annotations

import gc
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import trio

from pulse_core import (
    BackupTask,
    ConnectionReport,
    Guest,
    GuestSnapshot,
    Node,
    PollResult,
    SourceConnectError,
    SourceError,
    SourcePermissionError,
    SourceTLSError,
    Storage,
    StorageBackup,
    Usage,
    node_id,
)

from pulse_pve import normalize as nz
from pulse_pve.client import (
    Address,
    NodeUnreachableError,
    PVEClient,
    PVEPermissionError,
    PVEResponseError,
    TicketAuth,
    TLSPolicy,
    TokenAuth,
)
from pulse_pve.health import HealthCollector
from pulse_pve.resources import GuestBuilder, ResourceRecord, decode_resources, record_as_dict
from pulse_pve.settings import PVEConfig

log = logging.getLogger(__name__)

# Repeated warnings of one kind are logged at most once per this many seconds.
LOG_REPEAT_INTERVAL = 300.0
MAX_BACKOFF = 900.0
RECENT_BACKUP_TASKS = 50


class Backoff:
    """Exponential backoff with full jitter per failing call (keyed by what it fetches)."""

    def __init__(self, base: float, cap: float = MAX_BACKOFF, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()
        self._state: dict[str, tuple[int, float]] = {}

    def ready(self, key: str, now: float) -> bool:
        state = self._state.get(key)
        return state is None or now >= state[1]

    def failed(self, key: str, now: float) -> float:
        failures = self._state.get(key, (0, 0.0))[0] + 1
        delay = min(self.cap, self.base * (2 ** min(failures - 1, 12)))
        delay = self._rng.uniform(delay / 2, delay)
        self._state[key] = (failures, now + delay)
        return delay

    def succeeded(self, key: str) -> None:
        self._state.pop(key, None)

    def failures(self, key: str) -> int:
        return self._state.get(key, (0, 0.0))[0]

    def retain(self, keep: Callable[[str], bool]) -> None:
        """Forget the keys that ``keep`` rejects, such as calls for guests or nodes that are gone."""
        if self._state:
            self._state = {key: item for key, item in self._state.items() if keep(key)}


def backoff_key_present(key: str, guests: Mapping[int, Any], nodes: Mapping[str, Any]) -> bool:
    """Return whether a ``detail:<vmid>`` or ``status:<node>`` backoff key names something still polled."""
    kind, _, name = key.partition(":")
    if kind == "detail":
        return name.isdigit() and int(name) in guests
    if kind == "status":
        return name in nodes
    return True


@dataclass(slots=True)
class GuestDetail:
    """Results of the detail calls for one VM, kept across polls."""

    memory: Usage | None = None
    balloon: int | None = None
    agent_enabled: bool | None = None
    agent_status: str | None = None
    disk: Usage | None = None
    filesystems: list[Any] = field(default_factory=list)
    ip_addresses: list[str] = field(default_factory=list)
    os_name: str | None = None
    status_at: float | None = None
    agent_at: float | None = None
    osinfo_at: float | None = None
    stale_fields: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Member:
    """A cluster member as discovered from ``/cluster/status`` and ``/nodes``."""

    name: str
    online: bool
    local: bool
    ip: str | None
    fingerprint: str | None = None
    address: Address | None = None
    reachable: bool | None = None
    verified: bool | None = None
    problem: str | None = None


@dataclass(slots=True)
class Topology:
    cluster_name: str | None = None
    is_cluster: bool = False
    quorate: bool | None = None
    members: dict[str, Member] = field(default_factory=dict)
    version: str | None = None
    status_denied: bool = False


class PVESource:
    """One configured Proxmox VE connection (a cluster or a standalone node)."""

    def __init__(
        self,
        config: PVEConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.instance = config.instance
        self.cadences = config.cadences
        self._transport = transport
        self._clock = clock
        self._rng = rng or random.Random()
        if config.token_name and config.token_value:
            self.auth: TokenAuth | TicketAuth = TokenAuth(config.user, config.token_name, config.token_value)
        else:
            self.auth = TicketAuth(config.user, config.password or "")
        self._primary = self._make_client(config.address, config.tls, label=str(config.address))
        self._active: PVEClient = self._primary
        self._member_clients: dict[str, PVEClient] = {}
        self._limiter = trio.CapacityLimiter(config.cadences.concurrency)
        self.topology = Topology()
        self._rates = nz.RateTracker()
        self._guest_builder = GuestBuilder(self.instance, self._rates)
        self._details: dict[int, GuestDetail] = {}
        self._last_guests: dict[int, Guest] = {}
        self._last_nodes: dict[str, Node] = {}
        self._snapshots: dict[int, tuple[float, list[GuestSnapshot]]] = {}
        self._storage_meta: dict[str, Storage] = {}
        # PBS server, datastore and namespace per storage name, from GET /storage.
        self._pbs_targets: dict[str, nz.PBSTarget] = {}
        self._task_logs: dict[str, list[str]] = {}
        self._slow_ran = False
        self._backups_by_storage: dict[str, list[StorageBackup]] = {}
        self._tasks_by_node: dict[str, list[BackupTask]] = {}
        self._backoff = Backoff(max(config.cadences.interval, 5.0), rng=self._rng)
        self._due: dict[str, float] = {}
        self._logged: dict[str, float] = {}
        self._had_data = False
        self.missing_privileges: dict[str, str] = {}
        self._health = HealthCollector(self.instance, self._fetch_active, self._log_once, self.missing_privileges)
        self.polls = 0

    # -- plumbing ---------------------------------------------------------------------------

    def _make_client(self, address: Address, tls: TLSPolicy, label: str) -> PVEClient:
        return PVEClient(
            address,
            self.auth,
            tls,
            timeout=self.cadences.call_timeout,
            transport=self._transport,
            max_connections=self.cadences.concurrency,
            label=label,
        )

    def _is_due(self, name: str) -> bool:
        due = self._due.get(name)
        return due is None or trio.current_time() >= due

    def _done(self, name: str, period: float) -> None:
        self._due[name] = trio.current_time() + period

    def _log_once(self, key: str, level: int, message: str, *args: Any) -> None:
        now = trio.current_time()
        last = self._logged.get(key)
        if last is None or now - last >= LOG_REPEAT_INTERVAL:
            self._logged[key] = now
            log.log(level, message, *args)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET through the active endpoint, failing over to another member when it is down."""
        return await self._with_failover(lambda client: client.get(path, params))

    async def _fetch_active(self, path: str) -> Any:
        """GET through the active endpoint within the concurrency limit, without failover."""
        async with self._limiter:
            return await self._active.get(path)

    async def _get_response(self, path: str) -> httpx.Response:
        """GET like ``_get``, returning the response undecoded."""
        return await self._with_failover(lambda client: client.get_response(path))

    async def _with_failover(self, call: Callable[[PVEClient], Awaitable[Any]]) -> Any:
        try:
            async with self._limiter:
                return await call(self._active)
        except (SourceConnectError, SourceTLSError) as exc:
            if isinstance(exc, NodeUnreachableError):
                raise
            first_error = exc
        for client in self._failover_candidates():
            try:
                async with self._limiter:
                    data = await call(client)
            except (SourceConnectError, SourceTLSError) as exc:
                if isinstance(exc, NodeUnreachableError):
                    raise
                continue
            log.warning("%s: switched to cluster member %s after: %s", self.instance, client.label, first_error)
            self._active = client
            return data
        raise first_error

    def _failover_candidates(self) -> list[PVEClient]:
        candidates = [self._primary] if self._active is not self._primary else []
        for member in self.topology.members.values():
            client = self._member_client(member)
            if client is not None and client is not self._active and member.online and member.reachable is not False:
                candidates.append(client)
        if not self.topology.members:
            # Before the first discovery, configured member addresses are the
            # only other way in (pinned TLS needs their fingerprints, learned
            # at discovery, so it cannot use them yet).
            for name, address in self.config.member_addresses.items():
                member = Member(name=name, online=True, local=False, ip=None, address=address)
                client = self._member_client(member)
                if client is not None and client is not self._active:
                    candidates.append(client)
        return candidates

    def _member_client(self, member: Member) -> PVEClient | None:
        if member.address is None:
            return None
        if member.address == self.config.address:
            return self._primary
        client = self._member_clients.get(member.name)
        if client is not None and client.address == member.address:
            return client
        tls = self.config.tls
        if tls.mode == "pinned":
            if not member.fingerprint:
                return None
            tls = TLSPolicy("pinned", member.fingerprint)
        client = self._make_client(member.address, tls, label=f"{member.name} ({member.address})")
        self._member_clients[member.name] = client
        return client

    async def aclose(self) -> None:
        clients = {id(client): client for client in [self._primary, *self._member_clients.values()]}
        for client in clients.values():
            await client.aclose()

    # -- topology -------------------------------------------------------------------------------

    async def refresh_topology(self, warnings: list[str]) -> None:
        """Read cluster membership, member fingerprints and the PVE version."""
        topology = Topology(members={})
        previous = self.topology
        try:
            status = await self._get("/cluster/status")
        except PVEPermissionError:
            status = None
            topology.status_denied = True
            self.missing_privileges["Sys.Audit"] = "cluster membership, member failover and offline-node detection"
        if isinstance(status, list):
            for item in status:
                if not isinstance(item, dict):
                    continue
                if item.get("type") == "cluster":
                    topology.is_cluster = True
                    topology.cluster_name = str(item.get("name") or "") or None
                    topology.quorate = nz.as_bool(item.get("quorate"))
                elif item.get("type") == "node" and item.get("name"):
                    name = str(item["name"])
                    old = previous.members.get(name)
                    topology.members[name] = Member(
                        name=name,
                        online=nz.as_bool(item.get("online")),
                        local=nz.as_bool(item.get("local")),
                        ip=str(item.get("ip") or "") or None,
                        fingerprint=old.fingerprint if old else None,
                        reachable=old.reachable if old else None,
                        verified=old.verified if old else None,
                    )
        try:
            nodes = await self._get("/nodes")
        except SourcePermissionError:
            nodes = []
        for item in nodes if isinstance(nodes, list) else ():
            if not isinstance(item, dict) or not item.get("node"):
                continue
            name = str(item["node"])
            member = topology.members.get(name)
            if member is None:
                member = topology.members[name] = Member(
                    name=name, online=item.get("status") == "online", local=len(nodes) == 1, ip=None
                )
            if item.get("ssl_fingerprint"):
                member.fingerprint = str(item["ssl_fingerprint"]).upper()
        try:
            version = await self._get("/version")
            topology.version = str(version.get("version")) if isinstance(version, dict) else None
        except SourceError:
            topology.version = previous.version
        for member in topology.members.values():
            override = self.config.member_addresses.get(member.name)
            if override is not None:
                member.address = override
            elif member.local:
                member.address = self.config.address
            elif member.ip:
                try:
                    member.address = Address(member.ip.lower(), self.config.member_port)
                except ValueError:
                    member.address = None
        self.topology = topology
        if topology.is_cluster:
            await self._probe_members(warnings)

    async def _probe_members(self, warnings: list[str]) -> None:
        """Probe each member's own address: reachable, and presenting the certificate pinned for it."""

        async def probe(member: Member) -> None:
            client = self._member_client(member)
            if client is None:
                member.reachable = None
                if self.config.tls.mode == "pinned" and not member.fingerprint:
                    member.problem = "no certificate fingerprint known for this member"
                return
            if client is self._primary:
                member.reachable = member.verified = True
                return
            try:
                async with self._limiter:
                    with trio.fail_after(self.cadences.call_timeout):
                        await client.get("/version")
            except SourceTLSError as exc:
                member.reachable, member.verified, member.problem = True, False, str(exc)
            except (SourceConnectError, trio.TooSlowError) as exc:
                member.reachable, member.verified, member.problem = False, None, str(exc)
            except SourceError as exc:
                member.reachable, member.verified, member.problem = True, None, str(exc)
            else:
                member.reachable, member.verified, member.problem = True, self.config.tls.mode != "insecure", None

        async with trio.open_nursery() as nursery:
            for member in self.topology.members.values():
                if member.online:
                    nursery.start_soon(probe, member)

    def _member_warnings(self) -> list[str]:
        warnings = []
        for member in self.topology.members.values():
            if not member.online or member.local:
                continue
            where = member.address or member.ip or "unknown address"
            if member.reachable is False:
                warnings.append(
                    f"cluster member {member.name} is not reachable at {where}; its data still comes through "
                    f"{self._active.label}, but it cannot take over if that endpoint fails"
                )
            elif member.verified is False:
                warnings.append(f"cluster member {member.name} at {where}: {member.problem}")
        return warnings

    # -- the poll -----------------------------------------------------------------------------------

    async def poll(self) -> PollResult:
        warnings: list[str] = []
        now = self._clock()
        started = trio.current_time()
        first = self.polls == 0
        self.polls += 1
        if self._is_due("membership"):
            try:
                await self.refresh_topology(warnings)
            except SourcePermissionError:
                pass
            self._done("membership", self.cadences.membership)

        resources = await self._cluster_resources()
        if not isinstance(resources, list):
            raise PVEResponseError(f"{self._active.label}: /cluster/resources did not return a list", path="/cluster/resources")
        if not resources:
            if self._had_data:
                warnings.append(
                    "the API returned no nodes, guests or storage at all, so the token's permissions may have been "
                    "revoked; keeping the last known state"
                )
                self._log_once("visibility", logging.WARNING, "%s: %s", self.instance, warnings[-1])
                return PollResult(instance=self.instance, warnings=warnings, visibility_lost=True)
            if first:
                warnings.append("the API token or user sees no nodes or guests; grant it the PVEAuditor role on /")
        nodes, guest_items, storage = self._split_resources(resources)
        offline = await self._node_statuses(nodes, warnings)
        _blank_offline(nodes, storage, offline)
        guests = self._build_guests(guest_items, offline, now)

        # Details and slow data share what is left of the budget. Whatever does
        # not finish stays due and goes first next time.
        result = PollResult(instance=self.instance, warnings=warnings)
        with trio.move_on_at(self._extra_deadline(started)):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._guest_details, guests, offline, warnings)
                nursery.start_soon(self._slow, result, nodes, storage, guests, offline, warnings)
        self._apply_details(guests)
        if self._slow_ran:
            self._slow_ran = False
            result.storage_backups = self._collected_backups()
            result.backup_tasks = self._collected_tasks()
            result.guest_snapshots = self._collected_snapshots(guests)
            guest_nodes = {guest.vmid: guest.node for guest in guests}
            result.physical_disks, result.ceph_clusters, result.replication_jobs = self._health.collected(
                offline, guest_nodes
            )
        warnings.extend(self._member_warnings())
        warnings.extend(self._health.warnings())
        self._finish_nodes(nodes, now)

        self._last_nodes = {node.name: node for node in nodes.values() if node.status == "online"}
        self._last_guests = {guest.vmid: guest for guest in guests}
        self._had_data = bool(resources)
        self._rates.forget({guest.id for guest in guests})
        self._details = {vmid: detail for vmid, detail in self._details.items() if vmid in self._last_guests}
        self._backoff.retain(lambda key: backoff_key_present(key, self._last_guests, nodes))
        result.nodes = sorted(nodes.values(), key=lambda node: node.name)
        result.guests = guests
        result.storage = self._merge_storage(storage)
        return result

    async def _cluster_resources(self) -> Any:
        """Fetch /cluster/resources: typed records when the fast decoder accepts the body, else plain data."""
        path = "/cluster/resources"
        response = await self._get_response(path)
        records = decode_resources(response.content)
        if records is not None:
            return records
        self._log_once(
            "resources-fallback", logging.DEBUG,
            "%s: %s has values the typed decoder rejects; decoding it field by field", self.instance, path,
        )
        return self._active.decode_data(response, "GET", path)

    def _split_resources(
        self, resources: list[Any]
    ) -> tuple[dict[str, Node], list[dict[str, Any] | ResourceRecord], list[Storage]]:
        """Sort /cluster/resources into nodes, raw guest items and storage, and add offline members.

        ``resources`` holds either typed records or dicts; guests stay in that
        form for ``_build_guests``, and nodes and storage (few) go through the
        dict builders either way.
        """
        cluster_name = self.topology.cluster_name if self.topology.is_cluster else None
        nodes: dict[str, Node] = {}
        guest_items: list[dict[str, Any] | ResourceRecord] = []
        storage: list[Storage] = []
        for item in resources:
            if type(item) is ResourceRecord:
                kind = item.type
                if kind == "qemu" or kind == "lxc":
                    guest_items.append(item)
                    continue
                if kind != "node" and kind != "storage":
                    continue
                item = record_as_dict(item)
            kind = item.get("type")
            if kind == "node":
                node = nz.node_from_resource(self.instance, item, cluster_name=cluster_name)
                nodes[node.name] = node
            elif kind == "qemu" or kind == "lxc":
                guest_items.append(item)
            elif kind == "storage":
                entry = nz.storage_from_resource(self.instance, item)
                if entry is not None:
                    storage.append(entry)
        for name, member in self.topology.members.items():
            node = nodes.get(name)
            if member.online:
                if node is not None and node.status == "unknown":
                    node.status = "online"
                continue
            if node is None:
                node = nodes[name] = Node(
                    id=node_id(self.instance, name), name=name, instance=self.instance,
                    cluster_name=cluster_name, is_cluster_member=cluster_name is not None,
                )
            node.status = "offline"
        return nodes, guest_items, storage

    def _extra_deadline(self, started: float) -> float:
        """Return when detail and slow work must stop in this poll (Trio time)."""
        deadline = started + self.cadences.interval * self.cadences.detail_share
        # The scheduler bounds each poll with trio.fail_after. Extra work stops
        # well before that outer deadline, so the base metrics are never lost.
        outer = trio.current_effective_deadline()
        if outer != math.inf:
            now = trio.current_time()
            deadline = min(deadline, now + (outer - now) * 0.7)
        return deadline

    def _finish_nodes(self, nodes: dict[str, Node], now: float) -> None:
        """Add each member's address, connection health and version to its node."""
        for node in nodes.values():
            member = self.topology.members.get(node.name)
            if member is not None:
                node.host = str(member.address) if member.address else (member.ip or "")
                if member.local and self._active is self._primary:
                    # This poll reached the node through the configured endpoint.
                    node.connection_health = "ok"
                elif member.verified is False:
                    node.connection_health = "tls"
                elif member.reachable is False:
                    node.connection_health = "unreachable"
                elif member.reachable:
                    node.connection_health = "ok"
                else:
                    node.connection_health = "unknown"
            if node.pve_version is None and self.topology.version:
                node.pve_version = self.topology.version
            if node.status == "online":
                node.last_seen = now

    def _merge_storage(self, resource_storage: list[Storage]) -> list[Storage]:
        """Current usage from /cluster/resources, flags from the last per-node storage lists."""
        merged: dict[str, Storage] = {}
        for entry in resource_storage:
            meta = self._storage_meta.get(entry.id)
            if meta is not None:
                entry.enabled = meta.enabled
                entry.type = entry.type or meta.type
                entry.shared = entry.shared or meta.shared
            merged[entry.id] = entry
        for entry_id, meta in self._storage_meta.items():
            if entry_id not in merged and not meta.enabled:
                merged[entry_id] = meta
        for entry in merged.values():
            target = self._pbs_targets.get(entry.name) if entry.type == "pbs" else None
            if target is not None:
                entry.pbs_server = target.server
                entry.pbs_datastore = target.datastore
                entry.pbs_namespace = target.namespace
        return sorted(merged.values(), key=lambda entry: (entry.node, entry.name))

    async def _node_statuses(self, nodes: dict[str, Node], warnings: list[str]) -> set[str]:
        """Fetch ``/nodes/{node}/status`` for online nodes; return the names of offline ones."""
        offline = {name for name, node in nodes.items() if node.status != "online"}

        async def fetch(node: Node) -> None:
            key = f"status:{node.name}"
            if not self._backoff.ready(key, trio.current_time()):
                previous = self._last_nodes.get(node.name)
                if previous is not None:
                    _copy_node_details(previous, node)
                return
            try:
                async with self._limiter:
                    status = await self._active.get(f"/nodes/{node.name}/status")
            except NodeUnreachableError as exc:
                node.status = "offline"
                offline.add(node.name)
                warnings.append(f"node {node.name} is offline: {exc}")
                self._backoff.failed(key, trio.current_time())
            except SourcePermissionError as exc:
                self.missing_privileges["Sys.Audit"] = "node details (load, swap, root disk, kernel, version)"
                self._log_once(f"perm:{key}", logging.WARNING, "%s: %s", self.instance, exc)
                self._backoff.failed(key, trio.current_time())
            except (SourceConnectError, PVEResponseError) as exc:
                warnings.append(f"node {node.name}: status unavailable: {exc}")
                self._backoff.failed(key, trio.current_time())
                previous = self._last_nodes.get(node.name)
                if previous is not None:
                    _copy_node_details(previous, node)
            else:
                self._backoff.succeeded(key)
                if isinstance(status, dict):
                    nz.apply_node_status(node, status)

        async with trio.open_nursery() as nursery:
            for node in nodes.values():
                if node.status == "online":
                    nursery.start_soon(fetch, node)
        return offline

    def _build_guests(self, items: list[dict[str, Any] | ResourceRecord], offline: set[str], now: float) -> list[Guest]:
        # Every guest built afresh brings about eight new container objects (the
        # guest, its Usage values and lists), and all of them live until the next
        # poll. GuestBuilder reuses unchanged guests, but running VMs are new.
        # With CPython's default thresholds (700, 10, 10), 2,500 guests set off
        # about 30 young collections per poll. Every tenth young collection
        # also collects the middle generation, and every tenth of those the
        # whole heap. Pausing the collector for this loop, which never awaits,
        # leaves one young collection afterwards. In bench/bench_pve_poll.py at
        # 2,500 guests that cut the collector's time per poll from about 21 ms
        # to about 10 ms.
        with _collector_paused():
            return self._build_guest_list(items, offline, now)

    def _build_guest_list(self, items: list[dict[str, Any] | ResourceRecord], offline: set[str], now: float) -> list[Guest]:
        guests: list[Guest] = []
        for item in items:
            if type(item) is ResourceRecord:
                if not offline or (item.node or "") not in offline:
                    guest = self._guest_builder.build(item, now)
                    if guest is not None:
                        guests.append(guest)
                    continue
                item = record_as_dict(item)
            node_name = str(item.get("node") or "")
            if node_name in offline:
                vmid = nz.as_int(item.get("vmid"))
                previous = self._last_guests.get(vmid) if vmid is not None else None
                if previous is not None:
                    # The node is down: keep what was last seen, marked stale, with
                    # the state "unknown" rather than "stopped".
                    guest = replace(previous, status="unknown", stale=True, node=node_name,
                                    net_in=None, net_out=None, disk_read=None, disk_write=None, cpu=None)
                    guests.append(guest)
                    continue
                guest = nz.guest_from_resource(self.instance, item, now, self._rates)
                if guest is not None:
                    guest.status = "unknown"
                    guest.stale = True
                    guest.cpu = guest.net_in = guest.net_out = guest.disk_read = guest.disk_write = None
                    guest.memory = Usage(total=guest.memory.total, unknown_reason=f"node {node_name} is offline")
                    guest.disk = Usage(total=guest.disk.total, unknown_reason=f"node {node_name} is offline")
                    guests.append(guest)
                continue
            guest = nz.guest_from_resource(self.instance, item, now, self._rates)
            if guest is not None:
                guests.append(guest)
        self._guest_builder.finish()
        guests.sort(key=lambda guest: guest.vmid)
        return guests

    # -- guest details ------------------------------------------------------------------------------------

    async def _guest_details(self, guests: list[Guest], offline: set[str], warnings: list[str]) -> None:
        now = trio.current_time()
        cadence = self.cadences
        running_vms = [
            guest for guest in guests
            if guest.type == "qemu" and guest.status == "running" and not guest.template and guest.node not in offline
        ]
        due: list[tuple[float, Guest]] = []
        for guest in running_vms:
            detail = self._details.get(guest.vmid)
            if detail is None:
                detail = self._details[guest.vmid] = GuestDetail()
            if not self._backoff.ready(f"detail:{guest.vmid}", now):
                continue
            status_due = detail.status_at is None or now - detail.status_at >= cadence.guest_status
            agent_due = detail.agent_enabled and (detail.agent_at is None or now - detail.agent_at >= cadence.guest_agent)
            if status_due:
                due.append((detail.status_at if detail.status_at is not None else -1e18, guest))
            elif agent_due:
                due.append((detail.agent_at if detail.agent_at is not None else -1e18, guest))
        # Oldest first: guests never fetched, then the longest waiting.
        due.sort(key=lambda pair: pair[0])
        denied: dict[str, str] = {}
        async with trio.open_nursery() as nursery:
            for _, guest in due:
                nursery.start_soon(self._guest_detail, guest, denied)
        for node, privilege in sorted(denied.items()):
            self._log_once(
                f"agent-perm:{node}", logging.WARNING,
                "%s: guest agent reads on node %s are denied (missing %s); VM disk usage, addresses and OS "
                "names are unavailable there", self.instance, node, privilege,
            )

    async def _guest_detail(self, guest: Guest, denied: dict[str, str]) -> None:
        """Refresh whatever is due for one running VM: status/current, then the guest agent."""
        detail = self._details[guest.vmid]
        key = f"detail:{guest.vmid}"
        now = trio.current_time()
        if detail.status_at is None or now - detail.status_at >= self.cadences.guest_status:
            if not await self._guest_status(guest, detail):
                self._backoff.failed(key, trio.current_time())
                return
        agent_due = detail.agent_at is None or trio.current_time() - detail.agent_at >= self.cadences.guest_agent
        if detail.agent_enabled and agent_due and not await self._guest_agent(guest, detail, denied):
            self._backoff.failed(key, trio.current_time())
            return
        self._backoff.succeeded(key)

    async def _guest_status(self, guest: Guest, detail: GuestDetail) -> bool:
        """Read status/current (memory, balloon, agent flag); return False when the call failed."""
        try:
            async with self._limiter:
                status = await self._active.get(f"/nodes/{guest.node}/qemu/{guest.vmid}/status/current")
        except SourceError as exc:
            if isinstance(exc, PVEPermissionError):
                self.missing_privileges.setdefault("VM.Audit", "VM memory details")
            detail.stale_fields.add("memory")
            return False
        detail.status_at = trio.current_time()
        detail.stale_fields.discard("memory")
        if not isinstance(status, dict):
            return True
        detail.memory, detail.balloon = nz.vm_memory_from_status(status)
        enabled = nz.as_bool(status.get("agent"))
        if enabled and not detail.agent_enabled:
            detail.agent_at = None
        detail.agent_enabled = enabled
        if not enabled:
            detail.agent_status = "disabled"
            maxdisk = nz.as_int(status.get("maxdisk")) or guest.disk.total
            detail.disk = nz.vm_disk_unknown(maxdisk, nz.REASON_NO_AGENT)
            detail.filesystems = []
            detail.ip_addresses = []
        return True

    async def _guest_agent(self, guest: Guest, detail: GuestDetail, denied: dict[str, str]) -> bool:
        """Read filesystems, addresses and OS through the guest agent; return False on a transport failure."""
        base = f"/nodes/{guest.node}/qemu/{guest.vmid}"
        major = nz.major_version(self.topology.version)
        try:
            async with self._limiter:
                fsinfo = await self._active.get(base + "/agent/get-fsinfo")
        except PVEPermissionError:
            privilege = nz.agent_privilege(major)
            denied[guest.node] = privilege
            self.missing_privileges[privilege] = "VM disk usage, IP addresses and OS names from the guest agent"
            detail.agent_at = trio.current_time()
            detail.agent_status = "permission denied"
            detail.disk = nz.vm_disk_unknown(guest.disk.total, nz.reason_permission(major))
            detail.stale_fields.discard("disk")
            return True
        except PVEResponseError as exc:
            detail.agent_at = trio.current_time()
            text = (exc.reason or str(exc)).lower()
            if "not running" in text and "agent" in text:
                detail.agent_status, reason = "not running", nz.REASON_AGENT_NOT_RUNNING
            elif "no qemu guest agent configured" in text:
                detail.agent_status, reason, detail.agent_enabled = "disabled", nz.REASON_NO_AGENT, False
            elif "is not running" in text:
                detail.agent_status, reason = "vm stopped", nz.REASON_STOPPED
            else:
                detail.agent_status, reason = "error", f"guest agent error: {exc.reason or exc}"
            detail.disk = nz.vm_disk_unknown(guest.disk.total, reason)
            detail.filesystems = []
            detail.stale_fields.discard("disk")
            return True
        except SourceError:
            detail.stale_fields.update(("disk", "ip_addresses"))
            return False
        result, error = nz.agent_result(fsinfo)
        if error:
            detail.agent_status = "error"
            detail.disk = nz.vm_disk_unknown(guest.disk.total, f"guest agent error: {error}")
        else:
            detail.agent_status = "running"
            detail.disk, detail.filesystems = nz.vm_disk_from_fsinfo(result, guest.disk.total)
        detail.stale_fields.discard("disk")
        detail.agent_at = trio.current_time()
        try:
            async with self._limiter:
                interfaces = await self._active.get(base + "/agent/network-get-interfaces")
            result, error = nz.agent_result(interfaces)
            if not error:
                detail.ip_addresses = nz.ip_addresses_from_interfaces(result)
            detail.stale_fields.discard("ip_addresses")
            if detail.os_name is None or detail.osinfo_at is None or (
                trio.current_time() - detail.osinfo_at >= self.cadences.guest_agent * 12
            ):
                async with self._limiter:
                    osinfo = await self._active.get(base + "/agent/get-osinfo")
                result, error = nz.agent_result(osinfo)
                if not error:
                    detail.os_name = nz.os_name_from_osinfo(result)
                detail.osinfo_at = trio.current_time()
        except PVEResponseError:
            pass
        except SourceError:
            detail.stale_fields.add("ip_addresses")
            return False
        return True

    def _apply_details(self, guests: list[Guest]) -> None:
        for guest in guests:
            if guest.type != "qemu" or guest.stale:
                continue
            detail = self._details.get(guest.vmid)
            if guest.status != "running" or guest.template:
                continue
            if detail is None or detail.status_at is None:
                # No status/current yet: /cluster/resources reports maxmem as
                # used when the guest gives no figures, which is not usage.
                if guest.memory.used is not None and guest.memory.total and guest.memory.used >= guest.memory.total:
                    guest.memory = Usage(total=guest.memory.total, unknown_reason=nz.REASON_WAITING)
                continue
            if detail.memory is not None:
                if detail.memory.used is None:
                    guest.memory = detail.memory
                elif "memory" in detail.stale_fields:
                    guest.memory = detail.memory
                else:
                    # Balloon figures are what /cluster/resources reports between
                    # detail calls, so the fresher base value stays.
                    pass
            guest.balloon = detail.balloon
            guest.agent_enabled = detail.agent_enabled
            guest.agent_status = detail.agent_status
            if detail.disk is not None:
                guest.disk = detail.disk
            # The guest was built this poll with its own empty lists, so an
            # empty detail list needs no copy (fewer objects for the collector).
            if detail.filesystems:
                guest.filesystems = list(detail.filesystems)
            if detail.ip_addresses:
                guest.ip_addresses = list(detail.ip_addresses)
            guest.os_name = detail.os_name
            if detail.stale_fields:
                guest.stale_fields = sorted(detail.stale_fields)

    # -- slow cadence -------------------------------------------------------------------------------------

    async def _slow(
        self,
        result: PollResult,
        nodes: dict[str, Node],
        resource_storage: list[Storage],
        guests: list[Guest],
        offline: set[str],
        warnings: list[str],
    ) -> None:
        online = [name for name, node in nodes.items() if node.status == "online" and name not in offline]
        self._forget_removed_nodes(nodes)
        if self._is_due("storage"):
            await self._storage(online)
            self._done("storage", self.cadences.storage)
        if self._is_due("slow"):
            # Marked done up front: each fetch below updates its own cache as it
            # completes, so a phase cut short by the budget still makes progress
            # and is not restarted on every poll.
            self._done("slow", self.cadences.slow)
            self._slow_ran = True
            await self._storage_config()
            storages = self._merge_storage(list(resource_storage))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._storage_backups, storages, online, warnings)
                nursery.start_soon(self._backup_tasks, online, warnings)
                nursery.start_soon(self._guest_snapshots, guests, offline)
                nursery.start_soon(self._health.refresh, online, storages)

    def _forget_removed_nodes(self, nodes: Mapping[str, Node]) -> None:
        """Drop the cached storage flags, backups, tasks and disks of nodes that left the cluster.

        Offline members stay in ``nodes``, so their last lists are kept. A shared
        storage's backups are keyed by storage name alone and are not touched.
        """
        if not nodes:
            return
        self._tasks_by_node = {node: tasks for node, tasks in self._tasks_by_node.items() if node in nodes}
        self._backups_by_storage = {
            key: backups for key, backups in self._backups_by_storage.items()
            if "/" not in key or key.partition("/")[0] in nodes
        }
        self._storage_meta = {key: meta for key, meta in self._storage_meta.items() if meta.node in nodes}
        self._health.forget_nodes(nodes)

    async def _each(self, items: Iterable[Any], work: Callable[[Any], Awaitable[None]]) -> None:
        async with trio.open_nursery() as nursery:
            for item in items:
                nursery.start_soon(work, item)

    async def _storage(self, online: list[str]) -> None:
        """Read enabled/active flags per node; usage itself comes from /cluster/resources."""

        async def fetch(node: str) -> None:
            try:
                async with self._limiter:
                    items = await self._active.get(f"/nodes/{node}/storage")
            except SourceError as exc:
                self._log_once(f"storage:{node}", logging.INFO, "%s: storage list of %s unavailable: %s", self.instance, node, exc)
                return
            for entry_id in [key for key, meta in self._storage_meta.items() if meta.node == node]:
                del self._storage_meta[entry_id]
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and item.get("storage"):
                    entry = nz.storage_from_node_list(self.instance, node, item)
                    self._storage_meta[entry.id] = entry

        await self._each(online, fetch)

    async def _storage_config(self) -> None:
        """Read which PBS server, datastore and namespace each PBS storage writes to (``GET /storage``)."""
        try:
            items = await self._get("/storage")
        except SourcePermissionError as exc:
            # Without Datastore.Audit on /storage the PBS fields stay as last read, so backups still match.
            self.missing_privileges["Datastore.Audit"] = "the PBS server, datastore and namespace of PBS storages"
            self._log_once("storage_config", logging.INFO, "%s: storage configuration unavailable: %s", self.instance, exc)
            return
        except SourceError as exc:
            self._log_once("storage_config", logging.INFO, "%s: storage configuration unavailable: %s", self.instance, exc)
            return
        self.missing_privileges.pop("Datastore.Audit", None)
        self._pbs_targets = nz.pbs_targets(items)

    async def _storage_backups(self, storages: list[Storage], online: list[str], warnings: list[str]) -> None:
        targets: dict[str, str] = {}
        for entry in storages:
            if "backup" not in entry.content or not entry.active or entry.node not in online:
                continue
            # A shared storage contains the same files on every node, so it is read once.
            key = entry.name if entry.shared else f"{entry.node}/{entry.name}"
            targets.setdefault(key, entry.node)

        async def fetch(key: str) -> None:
            node = targets[key]
            storage_name = key.rpartition("/")[2]
            try:
                async with self._limiter:
                    items = await self._active.get(f"/nodes/{node}/storage/{storage_name}/content", {"content": "backup"})
            except SourceError as exc:
                self._log_once(f"content:{key}", logging.INFO, "%s: backups on %s unavailable: %s", self.instance, key, exc)
                return
            found = []
            for item in items if isinstance(items, list) else ():
                backup = nz.storage_backup_from_content(self.instance, node, storage_name, item)
                if backup is not None:
                    found.append(backup)
            self._backups_by_storage[key] = found

        await self._each(list(targets), fetch)

    def _collected_backups(self) -> list[StorageBackup]:
        # A storage that failed (or was not reached) this time keeps its last list.
        backups: dict[str, StorageBackup] = {}
        for found in self._backups_by_storage.values():
            for backup in found:
                backups.setdefault(backup.id, backup)
        return sorted(backups.values(), key=lambda backup: (-backup.ctime, backup.volid))

    async def _backup_tasks(self, online: list[str], warnings: list[str]) -> None:

        async def fetch(node: str) -> None:
            try:
                async with self._limiter:
                    items = await self._active.get(
                        f"/nodes/{node}/tasks", {"typefilter": "vzdump", "limit": RECENT_BACKUP_TASKS, "source": "all"}
                    )
            except SourceError as exc:
                self._log_once(f"tasks:{node}", logging.INFO, "%s: tasks of %s unavailable: %s", self.instance, node, exc)
                return
            found: list[BackupTask] = []
            for item in items if isinstance(items, list) else ():
                if not isinstance(item, dict) or item.get("type") != "vzdump":
                    continue
                lines = None
                if not item.get("id") and item.get("upid") and item.get("status") is not None:
                    lines = await self._task_log(node, str(item["upid"]))
                found.extend(nz.backup_tasks_from_task(self.instance, item, lines))
            self._tasks_by_node[node] = found

        await self._each(online, fetch)

    def _collected_tasks(self) -> list[BackupTask]:
        tasks = [task for found in self._tasks_by_node.values() for task in found]
        return sorted(tasks, key=lambda task: (-task.start_time, task.vmid or 0))

    async def _task_log(self, node: str, upid: str) -> list[str] | None:
        # A finished task's log never changes: read it once.
        if upid in self._task_logs:
            return self._task_logs[upid]
        try:
            async with self._limiter:
                lines = await self._active.get(f"/nodes/{node}/tasks/{upid}/log", {"limit": 5000})
        except SourceError:
            return None
        if not isinstance(lines, list):
            return None
        text = [str(line.get("t", "")) for line in lines if isinstance(line, dict)]
        if len(self._task_logs) > 4 * RECENT_BACKUP_TASKS * max(1, len(self.topology.members)):
            self._task_logs.clear()
        self._task_logs[upid] = text
        return text

    async def _guest_snapshots(self, guests: list[Guest], offline: set[str]) -> None:
        wanted = [guest for guest in guests if guest.node not in offline and not guest.stale]
        wanted.sort(key=lambda guest: self._snapshots.get(guest.vmid, (-1e18, []))[0])

        async def fetch(guest: Guest) -> None:
            try:
                async with self._limiter:
                    items = await self._active.get(f"/nodes/{guest.node}/{guest.type}/{guest.vmid}/snapshot")
            except SourceError:
                return
            self._snapshots[guest.vmid] = (
                trio.current_time(), nz.snapshots_from_list(self.instance, guest.node, guest.vmid, guest.type, items)
            )

        await self._each(wanted, fetch)

    def _collected_snapshots(self, guests: list[Guest]) -> list[GuestSnapshot]:
        present = {guest.vmid for guest in guests}
        self._snapshots = {vmid: item for vmid, item in self._snapshots.items() if vmid in present}
        return [snapshot for _, items in self._snapshots.values() for snapshot in items]

    # -- test connection --------------------------------------------------------------------------------------

    async def test_connection(self) -> ConnectionReport:
        from pulse_pve.check import check_connection

        return await check_connection(self)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector for a synchronous block; restore its previous state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _blank_offline(nodes: dict[str, Node], storage: list[Storage], offline: set[str]) -> None:
    """Drop the live figures of offline nodes and mark their storage stale.

    For about five minutes after a node dies, ``/cluster/resources`` still
    carries its last CPU, memory, disk and uptime (pmxcfs keeps them until they
    age out), which would read as a live node. Sizes stay; usage becomes unknown
    with the reason. Its storage entries keep their last values, marked stale.
    """
    for name in offline:
        node = nodes.get(name)
        if node is None:
            continue
        reason = f"node {name} is offline"
        node.cpu = None
        node.uptime = None
        node.loadavg = None
        node.memory = Usage(total=node.memory.total, unknown_reason=reason)
        node.disk = Usage(total=node.disk.total, unknown_reason=reason)
    for entry in storage:
        if entry.node in offline:
            entry.status = "unknown"
            entry.stale = True


def _copy_node_details(previous: Node, node: Node) -> None:
    node.loadavg = previous.loadavg
    node.swap = previous.swap
    node.kernel = previous.kernel
    node.cpu_model = previous.cpu_model
    node.pve_version = previous.pve_version
