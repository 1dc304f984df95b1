"""REST routes by area; ``core_blueprints`` lists them in registration order."""

from __future__ import annotations

from typing import Any


def core_blueprints() -> list[Any]:
    from pulse_core.web.routes import backups, core, history, nodes, system

    return [core.blueprint, nodes.blueprint, system.blueprint, history.blueprint, backups.blueprint]
