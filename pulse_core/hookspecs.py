"""Every hook a Pulse plugin can implement, grouped by the phase it runs in.

A plugin is a module (usually a package ``__init__``) with functions decorated by
``pulse_core.hookimpl`` and named as below, registered through an entry point in
the ``pulse`` group. All hooks are synchronous and cheap: they return objects
(see ``pulse_core.protocols``) whose async methods do the work. Unless a hook
says "first result wins", the core calls every implementation and combines the
results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pulse_core.protocols import (
        Authenticator,
        DaemonContext,
        NotifierType,
        SourceType,
        StorageType,
    )

PROJECT = "pulse"

hookspec = pluggy.HookspecMarker(PROJECT)


# --- configuration (runs once at load, before anything starts) ----------------


@hookspec
def pulse_config_sections() -> Mapping[str, Any]:
    """Declare configuration sections this plugin owns.

    Called when the configuration is loaded. Returns ``{section_name: model}``
    where ``model`` is a pydantic model class; the core validates the YAML
    section with it and reports problems as ``section.field: reason``. The
    validated model is available as ``settings.section(name)``.
    """


# --- data sources (runs at start and whenever nodes change) ----------------------


@hookspec
def pulse_source_types() -> list[SourceType]:
    """Return the source types (``pve``, ``pbs`` ...) this plugin provides.

    Called once when the plugin host starts. A type name registered twice is a
    plugin error naming both distributions.
    """


# --- storage (runs once at start) --------------------------------------------------


@hookspec
def pulse_storage_types() -> list[StorageType]:
    """Return the storage backends this plugin provides.

    Called once at start. The ``storage.backend`` setting picks one by name.
    """


# --- notifiers (runs at start and whenever notification settings change) ----------


@hookspec
def pulse_notifier_types() -> list[NotifierType]:
    """Return the notifier types (``email``, ``webhook`` ...) this plugin provides.

    Called once at start. Each type's ``channels()`` is called again whenever
    the notification settings change.
    """


# --- authentication (runs once when the web app is built) ----------------------------


@hookspec
def pulse_authenticators(context: DaemonContext) -> list[Authenticator]:
    """Return authenticators, tried in order on every request until one returns a principal.

    Called once when the web app is built. The built-in password/session,
    API-token and trusted-proxy authenticators use this hook too.
    """


# --- lifecycle ---------------------------------------------------------------------


@hookspec
def pulse_blueprints(context: DaemonContext) -> list[Any]:
    """Return Quart blueprints with extra HTTP routes.

    Called once when the web app is built. Routes pass through the same auth,
    CSRF, rate-limit and error-envelope handling as the core's own routes.
    """


@hookspec
def pulse_startup(context: DaemonContext) -> None:
    """Called after storage is open and before the first poll."""


@hookspec
def pulse_shutdown(context: DaemonContext) -> None:
    """Called once on shutdown, after polling stopped and before storage closes."""
