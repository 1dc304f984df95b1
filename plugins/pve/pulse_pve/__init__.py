"""Pulse plugin pulse_pve: hook implementations; the work lives in the modules beside this one."""

from __future__ import annotations

from pulse_core import ConfigError, NodeSettings, hookimpl

from pulse_pve.client import DEFAULT_PORT
from pulse_pve.settings import parse_settings
from pulse_pve.source import PVESource


class PVESourceType:
    """Creates Proxmox VE sources from configured connections."""

    name = "pve"
    default_port = DEFAULT_PORT

    def validate(self, settings: NodeSettings) -> list[str]:
        return parse_settings(settings)[1]

    def create(self, settings: NodeSettings) -> PVESource:
        config, problems = parse_settings(settings)
        if config is None:
            raise ConfigError([f"nodes.{settings.id}.{problem}" for problem in problems])
        return PVESource(config)


@hookimpl
def pulse_source_types() -> list[PVESourceType]:
    return [PVESourceType()]
