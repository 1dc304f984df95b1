"""The core's built-in plugin: features that use the same hooks as third-party plugins."""

from __future__ import annotations

from typing import Any

from pulse_core import hookimpl


@hookimpl
def pulse_config_sections() -> dict[str, Any]:
    return {}


@hookimpl
def pulse_blueprints(context: Any) -> list[Any]:
    from pulse_core import guest_metadata, metrics, setup_script, transfer_routes, updates
    from pulse_core.alerts import routes as alert_routes
    from pulse_core.notify import routes as notify_routes
    from pulse_core.security import routes as security_routes

    return [
        metrics.blueprint(context),
        alert_routes.create_blueprint(context),
        notify_routes.create_blueprint(context),
        security_routes.blueprint(context),
        transfer_routes.create_blueprint(context),
        guest_metadata.create_blueprint(context),
        setup_script.create_blueprint(context),
        updates.create_blueprint(context),
    ]


@hookimpl
def pulse_authenticators(context: Any) -> list[Any]:
    from pulse_core.security import security_for
    from pulse_core.security.authenticators import builtin_authenticators

    return builtin_authenticators(security_for(context))
