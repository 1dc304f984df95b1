"""The plugin host: loads entry points and gives the core a typed view of the hooks."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from pulse_core import hookspecs
from pulse_core.errors import PluginError
from pulse_core.protocols import (
    Authenticator,
    DaemonContext,
    NotifierType,
    SourceType,
    StorageType,
)

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "pulse"


@dataclass(slots=True)
class PluginInfo:
    """One loaded (or failed) plugin, as ``pulse plugins`` and the API list it."""

    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    blocked: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "error": self.error,
            "blocked": self.blocked,
        }


class PluginHost:
    """Owns the pluggy manager; built at startup, never at import time."""

    def __init__(self, blocked: Iterable[str] = ()) -> None:
        self.blocked = set(blocked)
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []

    # --- loading ----------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Import every plugin in the ``pulse`` entry point group.

        A plugin that fails to import is logged and recorded, so the daemon can
        still start. ``require()`` turns that into a fatal error only when the
        configuration needs what the plugin provides.
        """
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist_name = ep.dist.name if ep.dist else "unknown"
            version = ep.dist.version if ep.dist else "unknown"
            info = PluginInfo(name=ep.name, distribution=dist_name, version=version)
            self.infos.append(info)
            if ep.name in self.blocked:
                info.blocked = True
                log.info("Plugin %s (%s) is blocked by configuration", ep.name, dist_name)
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken third-party plugin must not stop the daemon
                info.error = f"{type(exc).__name__}: {exc}"
                log.error("Plugin %s from %s %s failed to import: %s", ep.name, dist_name, version, info.error)
                continue
            self._register(module, info)

    def register_module(self, module: ModuleType | object, name: str, distribution: str = "pulse-core") -> None:
        """Register an in-process plugin (the core's built-ins and tests use this)."""
        info = PluginInfo(name=name, distribution=distribution, version=_version_of(distribution))
        self.infos.append(info)
        self._register(module, info)

    def _register(self, module: object, info: PluginInfo) -> None:
        try:
            self.manager.register(module, name=info.name)
            self.manager.check_pending()
        except pluggy.PluginValidationError as exc:
            self.manager.unregister(name=info.name)
            info.error = f"invalid hook implementation: {exc}"
            log.error("Plugin %s from %s rejected: %s", info.name, info.distribution, info.error)
            return
        except ValueError as exc:  # registered twice under the same name
            info.error = str(exc)
            log.error("Plugin %s from %s rejected: %s", info.name, info.distribution, exc)
            return
        info.hooks = sorted(
            impl.name for impl in self.manager.get_hookcallers(module) or []
        )
        log.info("Loaded plugin %s (%s %s)", info.name, info.distribution, info.version)

    def require(self, plugin_name: str, why: str) -> None:
        """Raise PluginError when a plugin the configuration needs failed to load."""
        for info in self.infos:
            if info.name == plugin_name and (info.error or info.blocked):
                reason = "is blocked by plugins.blocked" if info.blocked else f"failed to load: {info.error}"
                raise PluginError(f"plugin {plugin_name} ({info.distribution}) {reason}, but {why}")

    # --- typed facade over the hooks -------------------------------------------------

    def _collect_named(self, results: list[list[Any]] | None, what: str) -> dict[str, Any]:
        registry: dict[str, Any] = {}
        for item in _flatten(results):
            if item.name in registry:
                raise PluginError(f"two plugins register the {what} type {item.name!r}")
            registry[item.name] = item
        return registry

    def source_types(self) -> dict[str, SourceType]:
        return self._collect_named(self.manager.hook.pulse_source_types(), "source")

    def storage_types(self) -> dict[str, StorageType]:
        return self._collect_named(self.manager.hook.pulse_storage_types(), "storage")

    def notifier_types(self) -> dict[str, NotifierType]:
        return self._collect_named(self.manager.hook.pulse_notifier_types(), "notifier")

    def config_sections(self) -> dict[str, Any]:
        sections: dict[str, Any] = {}
        for mapping in self.manager.hook.pulse_config_sections():
            for name, model in (mapping or {}).items():
                if name in sections:
                    raise PluginError(f"two plugins declare the configuration section {name!r}")
                sections[name] = model
        return sections

    def authenticators(self, context: DaemonContext) -> list[Authenticator]:
        return list(_flatten(self.manager.hook.pulse_authenticators(context=context)))

    def blueprints(self, context: DaemonContext) -> list[Any]:
        return list(_flatten(self.manager.hook.pulse_blueprints(context=context)))

    def startup(self, context: DaemonContext) -> None:
        self.manager.hook.pulse_startup(context=context)

    def shutdown(self, context: DaemonContext) -> None:
        self.manager.hook.pulse_shutdown(context=context)

    def describe(self) -> list[dict[str, Any]]:
        return [info.as_dict() for info in self.infos]


def _flatten(results: Iterable[Iterable[Any] | None] | None) -> Iterable[Any]:
    for result in results or []:
        if result:
            yield from result


def _version_of(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_plugin_host(blocked: Iterable[str] = (), builtins: Mapping[str, object] | None = None) -> PluginHost:
    """Create the host, register the core's built-in plugins, then load entry points."""
    host = PluginHost(blocked)
    for name, module in (builtins or {}).items():
        host.register_module(module, name)
    host.load_entry_points()
    return host
