"""The core's built-in plugin: features that use the same hooks as third-party plugins."""

from __future__ import annotations

from typing import Any

from pulse_core import hookimpl


@hookimpl
def pulse_config_sections() -> dict[str, Any]:
    return {}


@hookimpl
def pulse_blueprints(context: Any) -> list[Any]:
    from pulse_core import metrics

    return [metrics.blueprint(context)]
