"""Assembly: builds storage, sources, alerts, notifications and the web server, and runs them.

Start order: plugin host → settings → storage → alerts → dispatcher → pollers →
web server. Shutdown runs in reverse with a grace deadline, and storage is
closed last so every pending write is flushed.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from pydantic import ValidationError

from pulse_core import __version__, allocator, systemd
from pulse_core.alerts import AlertEngine
from pulse_core.config import PulseConfig, SettingsStore
from pulse_core.config.schema import NodeConfig
from pulse_core.errors import ConfigError, PluginError, PulseError
from pulse_core.model import ConnectionHealth, PollResult, slugify
from pulse_core.notify import NotificationDispatcher
from pulse_core.plugins import PluginHost
from pulse_core.polling import PollScheduler
from pulse_core.protocols import NodeSettings, PollingDefaults, Source, StorageBackend
from pulse_core.state import State, derive_samples

log = logging.getLogger(__name__)

NODES_SECTION = "nodes"
# Exit status after an update asked for a restart; non-zero so systemd's Restart=on-failure restarts Pulse.
RESTART_EXIT_CODE = 75


def polling_defaults(config: PulseConfig) -> PollingDefaults:
    """Return the configuration's polling section in the form sources receive it."""
    section = config.polling
    return PollingDefaults(
        interval_seconds=section.interval_seconds,
        timeout_seconds=section.timeout_seconds,
        max_concurrency=section.max_concurrency,
        detail_interval_seconds=section.detail_interval_seconds,
        slow_interval_seconds=section.slow_interval_seconds,
    )


def node_settings_from_dict(data: dict[str, Any], polling: PollingDefaults | None = None) -> NodeSettings:
    """Build ``NodeSettings`` from its stored form (snake_case keys) and the configuration's polling section."""
    return NodeSettings(
        id=data["id"],
        type=data["type"],
        name=data.get("name") or data["id"],
        host=data["host"],
        user=data.get("user") or None,
        password=data.get("password") or None,
        token_name=data.get("token_name") or None,
        token_value=data.get("token_value") or None,
        verify_ssl=bool(data.get("verify_ssl", True)),
        fingerprint=data.get("fingerprint") or None,
        enabled=bool(data.get("enabled", True)),
        options=dict(data.get("options") or {}),
        polling=polling or PollingDefaults(),
    )


def seed_node(node: NodeConfig) -> dict[str, Any]:
    """Return a YAML node in its stored form, with an id slugged from its name."""
    data = node.model_dump()
    data["id"] = slugify(node.name)
    return data


def seed_nodes(config: PulseConfig) -> list[dict[str, Any]]:
    """Return the YAML file's nodes in their stored form."""
    return [seed_node(node) for node in config.nodes]


def node_type_problem(plugins: PluginHost, source_types: dict[str, Any], node_type: str, prefix: str) -> str:
    """Return the "prefix.type: reason" line for a node type that no loaded plugin provides."""
    failed = [info for info in plugins.infos if info.name == node_type and (info.error or info.blocked)]
    if failed:
        reason = "is blocked by plugins.blocked" if failed[0].blocked else f"failed to load: {failed[0].error}"
        return f"{prefix}.type: the plugin for {node_type!r} {reason}"
    known = ", ".join(sorted(source_types)) or "none installed"
    return f"{prefix}.type: unknown node type {node_type!r} (installed: {known})"


def node_problems(plugins: PluginHost, source_types: dict[str, Any], data: dict[str, Any], prefix: str) -> list[str]:
    """Return one "prefix.field: reason" line per problem in one stored-form node."""
    try:
        node = node_settings_from_dict(data)
    except KeyError as exc:
        return [f"{prefix}.{exc.args[0]}: required key is missing"]
    source_type = source_types.get(node.type)
    if source_type is None:
        return [node_type_problem(plugins, source_types, node.type, prefix)]
    return [f"{prefix}.{line}" for line in source_type.validate(node)]


def validate_nodes(
    plugins: PluginHost, source_types: dict[str, Any], nodes: list[dict[str, Any]], label: str
) -> list[str]:
    """Return one "label[i].field: reason" line per problem in stored-form node settings."""
    problems: list[str] = []
    for index, data in enumerate(nodes):
        problems.extend(node_problems(plugins, source_types, data, f"{label}[{index}]"))
    return problems


def config_node_problems(plugins: PluginHost, source_types: dict[str, Any], index: int, item: Any) -> list[str]:
    """Return the plugin problems of entry ``index`` of the YAML ``nodes`` list.

    ``item`` is the entry as read from the file. ``load_config`` calls this next to
    the schema check, so both kinds of problem are reported in one run. An entry the schema rejects gets only the type
    check, because the schema already lists its other problems.
    """
    prefix = f"nodes[{index}]"
    try:
        node = NodeConfig.model_validate(item)
    except ValidationError:
        node_type = item.get("type") if isinstance(item, dict) else None
        if not isinstance(node_type, str) or node_type in source_types:
            return []
        return [node_type_problem(plugins, source_types, node_type, prefix)]
    return node_problems(plugins, source_types, seed_node(node), prefix)


class Daemon:
    """The running Pulse process; plugins see it as ``DaemonContext``."""

    def __init__(self, config: PulseConfig, plugins: PluginHost, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.plugins = plugins
        self.clock = clock
        self.data_dir = str(Path(config.data_dir).expanduser())
        Path(self.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.settings = SettingsStore(Path(self.data_dir))
        self.state = State(clock=clock)
        self.source_types = plugins.source_types()
        self.storage: StorageBackend = self._create_storage()
        self.alerts = AlertEngine(self.settings, self.storage, clock=clock)
        self.dispatcher = NotificationDispatcher(self.storage, self.settings, self)
        self.alerts.attach_dispatcher(self.dispatcher)
        self.scheduler: PollScheduler | None = None
        self.poll_listeners: list[Callable[[], None]] = []
        self.bound_urls: list[str] = []
        self.started_at = clock()
        self._nursery: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nodes_dirty = trio.Event()
        self._shutdown = trio.Event()
        self._running_nodes: dict[str, NodeSettings] = {}
        self.app: Any = None
        self.exit_code = 0
        self.initial_import = self._import_initial_config()
        self._seed_settings()
        self._check_node_plugins()
        self.settings.subscribe(self._on_nodes_saved, NODES_SECTION)

    # --- construction -------------------------------------------------------------------------

    def _create_storage(self) -> StorageBackend:
        name = self.config.storage.backend
        self.plugins.require(f"storage_{name}", f"storage.backend is {name!r}")
        types = self.plugins.storage_types()
        if name not in types:
            known = ", ".join(sorted(types)) or "none installed"
            raise ConfigError(f"storage.backend: unknown backend {name!r} (installed: {known})")
        options = self.config.section(f"storage_{name}")
        return types[name].create(self.data_dir, options.model_dump() if options is not None else {})

    def _import_initial_config(self) -> Any:
        """Import PULSE_INIT_CONFIG_FILE into an empty settings store (headless first start)."""
        from pulse_core.transfer import bootstrap_from_env

        return bootstrap_from_env(self, os.environ)

    def _seed_settings(self) -> None:
        """Copy nodes from the YAML file into the settings store on first start.

        The nodes are validated first, so a mistake in the file is reported and never
        persisted: fixing the file and starting again works.
        """
        if self.settings.has(NODES_SECTION) or not self.config.nodes:
            return
        nodes = seed_nodes(self.config)
        problems = validate_nodes(self.plugins, self.source_types, nodes, "nodes")
        if problems:
            raise ConfigError(problems)
        self.settings.set_sync(NODES_SECTION, nodes)

    def _check_node_plugins(self) -> None:
        """Refuse to start when a configured node needs a plugin that failed to load or is blocked."""
        where = f"{self.settings.path} (edit the node in the UI, or remove it from that file)"
        for node in self.configured_nodes():
            if node.enabled and node.type not in self.source_types:
                self.plugins.require(node.type, f"node {node.name!r} in {where} has type {node.type!r}")
                known = ", ".join(sorted(self.source_types)) or "none installed"
                raise PluginError(
                    f"node {node.name!r} in {where} has type {node.type!r}, which no installed plugin "
                    f"provides (installed: {known})"
                )

    def configured_nodes(self) -> list[NodeSettings]:
        polling = self.polling_defaults()
        return [node_settings_from_dict(item, polling) for item in self.settings.get(NODES_SECTION, [])]

    def polling_defaults(self) -> PollingDefaults:
        """Return the polling section sources get; a running scheduler's interval and timeout win.

        The scheduler's values include the interval saved in the web UI, which
        overrides the configuration file's.
        """
        defaults = polling_defaults(self.config)
        if self.scheduler is not None:
            defaults = dataclasses.replace(defaults, interval_seconds=self.scheduler.interval,
                                           timeout_seconds=self.scheduler.timeout)
        return defaults

    def validate_node(self, node: NodeSettings) -> list[str]:
        """Return one "field: reason" line per problem with a node's settings."""
        source_type = self.source_types.get(node.type)
        if source_type is None:
            known = ", ".join(sorted(self.source_types)) or "none installed"
            return [f"type: unknown node type {node.type!r} (installed: {known})"]
        return source_type.validate(node)

    def create_source(self, node: NodeSettings) -> Source:
        source_type = self.source_types.get(node.type)
        if source_type is None:
            self.plugins.require(node.type, f"node {node.name!r} has type {node.type!r}")
            raise PluginError(f"node {node.name!r}: no installed plugin provides the type {node.type!r}")
        return source_type.create(dataclasses.replace(node, polling=self.polling_defaults()))

    # --- DaemonContext ----------------------------------------------------------------------------

    async def audit(self, action: str, **fields: Any) -> None:
        event = {"ts": self.clock(), "action": action, **fields}
        try:
            await self.storage.append_audit(event)
        except PulseError:
            log.exception("Cannot write audit event %s", action)

    def start_background(self, task: Callable[[], Any]) -> None:
        """Run ``task`` (an async function) in the daemon's nursery until shutdown.

        Route and plugin modules use this for schedules of their own. Before ``run()``
        has opened the nursery (an app built for tests), the task is not started.
        """
        if self._nursery is None:
            log.debug("Background task %r not started: the daemon is not running", task)
            return
        self._nursery.start_soon(task)

    def reload_channels(self) -> None:
        reload = getattr(self.dispatcher, "reload_channels", None)
        if reload is not None:
            reload()

    # --- polling ----------------------------------------------------------------------------------

    async def _on_poll(self, instance: str, result: PollResult | None, health: ConnectionHealth, duration: float) -> None:
        now = self.clock()
        if instance not in self._running_nodes:
            return  # removed while its poll was in flight
        # The poll's data and its connection health change together, before any await, so no
        # request served meanwhile returns the new guests with the previous health.
        if result is None:
            self.state.mark_instance_failed(instance)
        else:
            self.state.apply(result)
        self.state.set_health(health)
        if result is not None:
            samples = derive_samples(result, now)
            if samples:
                try:
                    await self.storage.write_samples(samples)
                except PulseError:
                    log.exception("Cannot store %d samples from %s", len(samples), instance)
        # The engine groups and filters notifications itself and hands them to the dispatcher.
        await self.alerts.evaluate(self.state)
        self.state.set_active_alerts(list(self.alerts.active.values()))
        for listener in list(self.poll_listeners):
            listener()

    def _on_nodes_saved(self, section: str, value: Any) -> None:
        # Called from whichever thread saved the settings; hop onto the Trio loop.
        if self._token is not None:
            self._token.run_sync_soon(self._nodes_dirty.set)

    async def sync_sources(self) -> None:
        """Start, restart or stop pollers so they match the configured nodes."""
        assert self.scheduler is not None
        wanted = {node.id: node for node in self.configured_nodes() if node.enabled}
        for instance in list(self._running_nodes):
            if instance not in wanted or wanted[instance] != self._running_nodes[instance]:
                del self._running_nodes[instance]
                await self.scheduler.remove(instance)
                if instance not in wanted:
                    self.state.remove_instance(instance)
                    log.info("Stopped polling %s", instance)
        for instance, node in wanted.items():
            if instance in self._running_nodes:
                continue
            try:
                source = self.create_source(node)
            except PulseError as exc:
                log.error("Cannot start polling %s: %s", node.name, exc)
                self.state.set_health(ConnectionHealth(instance=instance, healthy=False, status="config", message=str(exc)))
                continue
            self._running_nodes[instance] = node
            await self.scheduler.add(source)
            log.info("Polling %s (%s, %s)", node.name, node.type, node.host)

    async def _watch_nodes(self) -> None:
        while True:
            await self._nodes_dirty.wait()
            self._nodes_dirty = trio.Event()
            await self.sync_sources()

    # --- running ------------------------------------------------------------------------------------

    def request_shutdown(self) -> None:
        self._shutdown.set()

    def request_restart(self) -> None:
        """Stop with RESTART_EXIT_CODE, so the service manager starts the (updated) program again."""
        self.exit_code = RESTART_EXIT_CODE
        self._shutdown.set()

    async def _handle_signals(self, reload_config: Callable[[], None] | None) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP:
                    log.info("SIGHUP received: reloading configuration")
                    if reload_config is not None:
                        try:
                            reload_config()
                        except ConfigError as exc:
                            log.error("Configuration not reloaded: %s", exc)
                        else:
                            from pulse_core.web.routes.system import apply_polling

                            # An interval saved in the web UI still wins over the file's.
                            apply_polling(self)
                    self._nodes_dirty.set()
                else:
                    log.info("Received %s: shutting down", signal.Signals(signum).name)
                    self.request_shutdown()

    async def _watchdog(self, interval: float) -> None:
        while True:
            systemd.notify("WATCHDOG=1")
            await trio.sleep(interval)

    async def run(
        self,
        task_status: trio.TaskStatus[Daemon] = trio.TASK_STATUS_IGNORED,
        *,
        handle_signals: bool = True,
        reload_config: Callable[[], None] | None = None,
    ) -> None:
        """Run until ``request_shutdown()`` or SIGTERM/SIGINT; reports itself started when serving."""
        from hypercorn.config import Config as HypercornConfig
        from hypercorn.trio import serve

        from pulse_core.web.app import create_app

        self._token = trio.lowlevel.current_trio_token()
        log.info("Pulse %s starting; data directory %s", __version__, self.data_dir)
        tune_garbage_collector()
        allocator.fix_mmap_threshold()
        check_can_listen(self.config.server.bind, self.config.server.port)
        await self.storage.open()
        pid_file = _write_pid_file(self.data_dir)
        try:
            await self.alerts.start()
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if handle_signals:
                    nursery.start_soon(self._handle_signals, reload_config)
                self.plugins.startup(self)
                nursery.start_soon(collect_garbage_periodically, FULL_COLLECTION_SECONDS)
                # A backend may keep its own schedule (pruning while no samples arrive).
                storage_task = getattr(self.storage, "run", None)
                if storage_task is not None:
                    await nursery.start(storage_task)
                await nursery.start(self.dispatcher.run)
                await nursery.start(self.alerts.run)
                freeze_startup_objects()
                async with trio.open_nursery() as poll_nursery:
                    self.scheduler = PollScheduler(
                        poll_nursery,
                        self.config.polling.interval_seconds,
                        self.config.polling.timeout_seconds,
                        self._on_poll,
                    )
                    await self.sync_sources()
                    poll_nursery.start_soon(self._watch_nodes)

                    self.app = create_app(self)
                    hc = HypercornConfig()
                    hc.bind = [_bind_address(self.config.server.bind, self.config.server.port)]
                    hc.accesslog = None
                    hc.errorlog = logging.getLogger("hypercorn.error")
                    hc.graceful_timeout = self.config.server.shutdown_grace_seconds
                    hc.include_server_header = False
                    # WebSocket ping frames keep idle /ws connections alive through proxies; browsers reply with pongs.
                    hc.websocket_ping_interval = 30.0
                    self.bound_urls = await nursery.start(
                        lambda task_status: serve(self.app, hc, shutdown_trigger=self._shutdown.wait, task_status=task_status)
                    )
                    log.info("Pulse %s listening on %s; data directory %s", __version__,
                             ", ".join(self.bound_urls), self.data_dir)
                    systemd.notify(f"READY=1\nSTATUS=Serving on {', '.join(self.bound_urls)}")
                    interval = systemd.watchdog_interval()
                    if interval:
                        poll_nursery.start_soon(self._watchdog, interval)
                    task_status.started(self)

                    await self._shutdown.wait()
                    systemd.notify("STOPPING=1")
                    log.info("Shutting down")
                    with trio.move_on_after(self.config.server.shutdown_grace_seconds) as scope:
                        scope.shield = True
                        await self.scheduler.aclose()
                    poll_nursery.cancel_scope.cancel()
                self.plugins.shutdown(self)
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self.storage.aclose()
            _remove_pid_file(pid_file)
            log.info("Pulse stopped")


# The daemon keeps large, long-lived object graphs (every guest, the state document), so CPython's
# default thresholds (700, 10, 10) run full collections often and each one walks all of them. With
# these values, GET /api/state at 2,500 guests went from p99 60 ms to 8 ms (gzip) on an idle
# 2-vCPU machine (bench/bench_api.py, BENCHMARKS.md "API").
GC_THRESHOLDS = (10_000, 50, 1_000)


# With the thresholds above the collector itself rarely runs a full collection: none in a 4-minute run of
# bench/bench_soak.py. Reference cycles that reached the oldest generation keep their memory until one runs,
# among them closed TLS connections with their OpenSSL buffers. So the daemon runs a full collection on this
# schedule, in seconds.
FULL_COLLECTION_SECONDS = 60.0


def tune_garbage_collector() -> None:
    """Make full garbage collections rarer, for the daemon's large set of long-lived objects."""
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_startup_objects() -> None:
    """Move the objects alive at startup (modules, classes, plugins) to the collector's permanent generation.

    Full collections then walk only objects created later. A frozen object that later ends up in an
    unreachable cycle is never freed, so only the first call in a process freezes: a test run that starts
    many daemons does not keep every earlier daemon's garbage.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


async def collect_garbage_periodically(interval: float) -> None:
    """Run a full garbage collection every ``interval`` seconds, then return free heap pages to the system."""
    while True:
        await trio.sleep(interval)
        started = time.perf_counter()
        unreachable = gc.collect()
        released = allocator.trim_heap()
        log.debug("Full garbage collection: %d unreachable objects, heap trimmed: %s, %.1f ms",
                  unreachable, released, (time.perf_counter() - started) * 1000)


def check_can_listen(host: str, port: int) -> None:
    """Raise ConfigError with the fix when the HTTP address cannot be bound.

    Hypercorn would report this as a traceback from inside its nursery; checking
    first gives the user one line instead.
    """
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"server.port: cannot listen on {_bind_address(host, port)} ({exc.strerror}); "
                "stop the other program or choose another port with --port or FRONTEND_PORT"
            ) from None


def _bind_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def pid_file_path(data_dir: str) -> Path:
    return Path(data_dir) / "pulse.pid"


def running_pid(data_dir: str) -> int | None:
    try:
        pid = int(pid_file_path(data_dir).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _write_pid_file(data_dir: str) -> Path:
    """Record this process as the data directory's running daemon (``pulse export/import`` check it)."""
    path = pid_file_path(data_dir)
    path.write_text(f"{os.getpid()}\n")
    return path


def _remove_pid_file(path: Path) -> None:
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        log.warning("Cannot remove the pid file %s", path)
