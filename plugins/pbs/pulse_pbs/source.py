"""Polling one Proxmox Backup Server: server status, datastores, snapshots, jobs and failed tasks.

Every poll reads the server status, the datastore list, datastore usage and
GC status, and the backup groups of every namespace. Snapshots are re-read
only for changed groups (see ``catalog``). Jobs, failed tasks and the
namespace tree run on slower cadences. One datastore or one endpoint failing
adds a warning and keeps the rest; only a failure to reach or authenticate
against the server fails the poll.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import trio

from pulse_core import (
    ConnectionReport,
    Datastore,
    PBSInstance,
    PBSJob,
    PBSTask,
    PollResult,
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourceTLSError,
    probe_certificate,
)

from pulse_pbs import normalize as nz
from pulse_pbs.catalog import Group, SnapshotCatalog
from pulse_pbs.client import DEFAULT_PORT, PBSClient, PBSNotFoundError, PBSPermissionError, TicketAuth, TokenAuth
from pulse_pbs.settings import PBSConfig

log = logging.getLogger(__name__)

NODE = "localhost"
MAX_NAMESPACE_DEPTH = 7
JOB_KINDS = ("sync", "verify", "prune")
# Above this many snapshots a namespace is read group by group, so one response stays small.
NAMESPACE_READ_LIMIT = 5000
# Repeated warnings of one kind are logged at most once per this many seconds.
LOG_REPEAT_INTERVAL = 300.0
# Fatal errors: the server itself is unreachable or refuses the credentials.
FATAL = (SourceAuthError, SourceConnectError, SourceTLSError)
STATUS_PRIVILEGE = "Sys.Audit on /system/status (server CPU, memory, disk, load and uptime)"


class PBSSource:
    """One configured Proxmox Backup Server."""

    def __init__(
        self,
        config: PBSConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.instance = config.instance
        self.limits = config.limits
        self._transport = transport
        self._clock = clock
        if config.token_name and config.token_value:
            self.auth: TokenAuth | TicketAuth = TokenAuth(config.user, config.token_name, config.token_value)
        else:
            self.auth = TicketAuth(config.user, config.password or "")
        self.client = PBSClient(
            config.address, self.auth, config.tls, timeout=self.limits.call_timeout, transport=transport,
            max_connections=self.limits.concurrency, label=f"{config.name} ({config.address})",
        )
        self._limiter = trio.CapacityLimiter(self.limits.concurrency)
        self.catalog = SnapshotCatalog(self.instance, self.limits)
        self._emitted_version = -1
        self._due: dict[str, float] = {}
        self._logged: dict[str, float] = {}
        self._version: str | None = None
        self._namespaces: dict[str, list[str]] = {}
        self._jobs: dict[str, list[PBSJob]] = {}
        self._failed_tasks: list[PBSTask] = []
        self._counts: dict[str, tuple[int, int]] = {}
        self.missing_privileges: dict[str, str] = {}
        self.polls = 0

    # -- plumbing ---------------------------------------------------------------------------------

    def _is_due(self, name: str) -> bool:
        due = self._due.get(name)
        return due is None or trio.current_time() >= due

    def _done(self, name: str, period: float) -> None:
        self._due[name] = trio.current_time() + period

    def _warn(self, warnings: list[str], key: str, message: str) -> None:
        warnings.append(message)
        now = trio.current_time()
        last = self._logged.get(key)
        if last is None or now - last >= LOG_REPEAT_INTERVAL:
            self._logged[key] = now
            log.warning("%s: %s", self.instance, message)

    async def _optional(self, warnings: list[str], key: str, description: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one call whose failure should not fail the poll; return None and warn on failure."""
        try:
            return await call()
        except FATAL:
            raise
        except PBSPermissionError:
            self.missing_privileges[key] = description
            self._warn(warnings, key, f"permission denied reading {description}; grant Datastore.Audit or Sys.Audit to see it")
        except SourceError as exc:
            self._warn(warnings, key, f"{description} unavailable: {exc}")
        return None

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- the poll -----------------------------------------------------------------------------------

    async def poll(self) -> PollResult:
        self.polls += 1
        warnings: list[str] = []
        server = PBSInstance(id=self.instance, name=self.config.name, host=str(self.config.address),
                             status="online", connection_health="healthy")

        # The datastore list is the one call that must work: it proves reachability and credentials.
        listed = await self.client.get("/admin/datastore")
        if not isinstance(listed, list):
            listed = []
        usage: Any = None
        gc_jobs: Any = None
        status: Any = None

        async def read_usage() -> None:
            nonlocal usage
            usage = await self._optional(warnings, "usage", "datastore usage (/status/datastore-usage)",
                                         lambda: self.client.get("/status/datastore-usage"))

        async def read_gc() -> None:
            nonlocal gc_jobs
            gc_jobs = await self._optional(warnings, "gc", "garbage collection status (/admin/gc)",
                                           lambda: self.client.get("/admin/gc"))

        async def read_status() -> None:
            nonlocal status
            try:
                status = await self.client.get(f"/nodes/{NODE}/status")
                self.missing_privileges.pop("status", None)
            except PBSPermissionError:
                # Common for datastore-only tokens: the server is still monitored, without host metrics.
                self.missing_privileges["status"] = STATUS_PRIVILEGE
            except FATAL:
                raise
            except SourceError as exc:
                self._warn(warnings, "status", f"server status unavailable: {exc}")

        async def read_version() -> None:
            if self._version is None or self._is_due("version"):
                data = await self._optional(warnings, "version", "the server version (/version)",
                                            lambda: self.client.get("/version"))
                if data is not None:
                    self._version = nz.version_string(data)
                    self._done("version", self.limits.jobs)

        async with trio.open_nursery() as nursery:
            for reader in (read_usage, read_gc, read_status, read_version):
                nursery.start_soon(reader)

        server.version = self._version
        nz.apply_node_status(server, status)
        if "status" in self.missing_privileges:
            warnings.append(f"missing privilege {STATUS_PRIVILEGE}")
        server.datastores = self._datastores(listed, usage, gc_jobs)

        readable = [store for store in server.datastores if store.status in ("available", "unknown", "maintenance")
                    and not _offline(store)]
        await self._refresh_namespaces(readable, warnings)
        self.catalog.retain({store.name: self._namespaces.get(store.name, [""]) for store in readable}
                            | {store.name: self._namespaces.get(store.name, []) for store in server.datastores
                               if store not in readable})
        await self._refresh_groups(readable, warnings)
        await self._refresh_snapshots(warnings)

        for store in server.datastores:
            store.namespaces = list(self._namespaces.get(store.name, []))
            counts = self._counts.get(store.name)
            if counts is not None and store in readable:
                store.group_count, store.snapshot_count = counts

        if self._is_due("jobs"):
            await self._refresh_jobs(warnings)
            self._done("jobs", self.limits.jobs)
        server.jobs = [job for kind in JOB_KINDS for job in self._jobs.get(kind, [])]
        server.jobs.extend(job for job in (nz.job("gc", item) for item in gc_jobs or [] if isinstance(item, dict)) if job)
        if self._is_due("tasks"):
            await self._refresh_tasks(warnings)
            self._done("tasks", self.limits.tasks)
        server.failed_tasks = list(self._failed_tasks)

        backups = self.catalog.backups()
        if self.catalog.dropped:
            warnings.append(
                f"{self.catalog.dropped} older snapshots are not listed: the limit is {self.limits.max_snapshots} "
                f"snapshots per server (option max_snapshots)"
            )
        server.warnings = warnings
        result = PollResult(instance=self.instance, pbs=[server], warnings=list(warnings))
        if self.catalog.version != self._emitted_version:
            result.pbs_backups = list(backups)
            self._emitted_version = self.catalog.version
        return result

    # -- datastores -----------------------------------------------------------------------------------

    def _datastores(self, listed: list[Any], usage: Any, gc_jobs: Any) -> list[Datastore]:
        by_usage = {str(item.get("store")): item for item in usage or [] if isinstance(item, dict)}
        by_gc = {str(item.get("store")): item for item in gc_jobs or [] if isinstance(item, dict)}
        names = [str(item["store"]) for item in listed if isinstance(item, dict) and item.get("store")]
        listed_by_name = {str(item["store"]): item for item in listed if isinstance(item, dict) and item.get("store")}
        stores = []
        for name in names + [name for name in by_usage if name not in listed_by_name]:
            stores.append(nz.datastore(self.instance, listed_by_name.get(name), by_usage.get(name), by_gc.get(name)))
        return stores

    async def _refresh_namespaces(self, stores: list[Datastore], warnings: list[str]) -> None:
        due = self._is_due("namespaces")
        todo = [store for store in stores if due or store.name not in self._namespaces]
        if not todo:
            return

        async def read(store: Datastore) -> None:
            async with self._limiter:
                items = await self._optional(
                    warnings, f"ns:{store.name}", f"the namespaces of datastore {store.name}",
                    lambda: self.client.get(f"/admin/datastore/{store.name}/namespace",
                                            {"max-depth": MAX_NAMESPACE_DEPTH}),
                )
            if items is None:
                # Without the list (e.g. PBS before 2.2 has no namespaces), the root still contains backups.
                self._namespaces.setdefault(store.name, [""])
                return
            names = {str(item.get("ns") or "") for item in items if isinstance(item, dict)}
            names.add("")
            self._namespaces[store.name] = sorted(names, key=lambda ns: (ns.count("/"), ns))

        async with trio.open_nursery() as nursery:
            for store in todo:
                nursery.start_soon(read, store)
        if due:
            self._done("namespaces", self.limits.namespaces)

    async def _refresh_groups(self, stores: list[Datastore], warnings: list[str]) -> None:
        counts: dict[str, list[int]] = {store.name: [0, 0] for store in stores}

        async def read(store: str, ns: str) -> None:
            params = {"ns": ns} if ns else None
            async with self._limiter:
                items = await self._optional(
                    warnings, f"groups:{store}:{ns}", f"the backup groups of {store} namespace {ns or '(root)'}",
                    lambda: self.client.get(f"/admin/datastore/{store}/groups", params),
                )
            if items is None:
                return
            self.catalog.update_groups(store, ns, items)
            counts[store][0] += len(items)
            counts[store][1] += sum(nz.as_int(item.get("backup-count")) or 0 for item in items if isinstance(item, dict))

        async with trio.open_nursery() as nursery:
            for store in stores:
                for ns in self._namespaces.get(store.name, [""]):
                    nursery.start_soon(read, store.name, ns)
        self._counts = {store: (groups, snapshots) for store, (groups, snapshots) in counts.items()}

    async def _refresh_snapshots(self, warnings: list[str]) -> None:
        now = trio.current_time()
        due = self.catalog.due(now)
        if not due:
            return
        by_namespace: dict[tuple[str, str], list[Group]] = {}
        for group in due:
            by_namespace.setdefault((group.store, group.ns), []).append(group)

        async def read(store: str, ns: str, group: Group | None) -> None:
            params: dict[str, Any] = {"ns": ns} if ns else {}
            if group is not None:
                params.update({"backup-type": group.backup_type, "backup-id": group.backup_id})
            description = f"the snapshots of {store} namespace {ns or '(root)'}" + (
                f" group {group.backup_type}/{group.backup_id}" if group else "")
            async with self._limiter:
                items = await self._optional(warnings, f"snapshots:{store}:{ns}", description,
                                             lambda: self.client.get(f"/admin/datastore/{store}/snapshots", params or None))
            if items is not None:
                self.catalog.store_snapshots(store, ns, items, now, only=group)

        async with trio.open_nursery() as nursery:
            for (store, ns), groups in by_namespace.items():
                everything = self.catalog.namespace_groups(store, ns)
                snapshots = sum(group.count or 0 for group in everything)
                # One call for the namespace beats many when most of it is due and the response stays small.
                if len(groups) > 1 and len(groups) * 2 >= len(everything) and snapshots <= NAMESPACE_READ_LIMIT:
                    nursery.start_soon(read, store, ns, None)
                else:
                    for group in groups:
                        nursery.start_soon(read, store, ns, group)

    # -- jobs and tasks -------------------------------------------------------------------------------

    async def _refresh_jobs(self, warnings: list[str]) -> None:
        async def read(kind: str) -> None:
            try:
                items = await self.client.get(f"/admin/{kind}")
            except PBSNotFoundError:
                # Older servers list jobs only under /config, without their last run.
                items = await self._optional(warnings, f"jobs:{kind}", f"{kind} jobs", lambda: self.client.get(f"/config/{kind}"))
            except PBSPermissionError:
                self.missing_privileges[f"jobs:{kind}"] = f"{kind} jobs"
                self._jobs[kind] = []
                return
            except FATAL:
                raise
            except SourceError as exc:
                self._warn(warnings, f"jobs:{kind}", f"{kind} jobs unavailable: {exc}")
                return
            self._jobs[kind] = [job for job in (nz.job(kind, item) for item in items or [] if isinstance(item, dict)) if job]

        async with trio.open_nursery() as nursery:
            for kind in JOB_KINDS:
                nursery.start_soon(read, kind)

    async def _refresh_tasks(self, warnings: list[str]) -> None:
        since = int(self._clock() - self.limits.task_window)
        items = await self._optional(
            warnings, "tasks", "failed tasks (/nodes/localhost/tasks)",
            lambda: self.client.get(f"/nodes/{NODE}/tasks", {"errors": 1, "since": since, "limit": self.limits.task_limit}),
        )
        if items is None:
            return
        tasks = [task for task in (nz.task(item) for item in items if isinstance(item, dict)) if task]
        failed = [task for task in tasks if nz.task_failed(task)]
        failed.sort(key=lambda task: task.start_time, reverse=True)
        self._failed_tasks = failed

    # -- connection test ------------------------------------------------------------------------------

    async def test_connection(self) -> ConnectionReport:
        config = self.config
        # Reachability and the certificate, before any credential is sent.
        report = await probe_certificate(
            config.address, config.tls, self.limits.call_timeout,
            default_port=DEFAULT_PORT, handshake=self._transport is None,
        )
        if report.message:
            return report

        try:
            report.version = nz.version_string(await self.client.get("/version"))
            report.reachable = True
            report.authenticated = True
            stores = await self.client.get("/admin/datastore")
        except SourceError as exc:
            report.message = str(exc)
            return report

        try:
            await self.client.get(f"/nodes/{NODE}/status")
        except PBSPermissionError:
            report.missing_privileges.append({"privilege": "Sys.Audit on /system/status",
                                              "disables": "server CPU, memory, disk, load and uptime"})
        except SourceError as exc:
            report.details["status"] = str(exc)

        names = [str(item.get("store")) for item in stores or [] if isinstance(item, dict)]
        report.details["datastores"] = names
        if not names:
            report.missing_privileges.append({"privilege": "Datastore.Audit on /datastore",
                                              "disables": "datastores, snapshots and jobs"})
        report.ok = True
        report.message = f"Connected to Proxmox Backup Server {report.version or ''}".rstrip() + (
            f" with {len(names)} datastore(s)" if names else ", but no datastore is visible to these credentials")
        return report


def _offline(store: Datastore) -> bool:
    return bool(store.maintenance and store.maintenance.split(",", 1)[0].removeprefix("type=") in ("offline", "unmount", "delete"))
