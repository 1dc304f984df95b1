"""Pulse plugin pulse_pbs: hook implementations; the work lives in the modules beside this one."""

from __future__ import annotations

from pulse_core import ConfigError, NodeSettings, hookimpl

from pulse_pbs.client import DEFAULT_PORT
from pulse_pbs.settings import parse_settings
from pulse_pbs.source import PBSSource


class PBSSourceType:
    """Creates Proxmox Backup Server sources from configured connections."""

    name = "pbs"
    default_port = DEFAULT_PORT

    def validate(self, settings: NodeSettings) -> list[str]:
        return parse_settings(settings)[1]

    def create(self, settings: NodeSettings) -> PBSSource:
        config, problems = parse_settings(settings)
        if config is None:
            raise ConfigError([f"nodes.{settings.id}.{problem}" for problem in problems])
        return PBSSource(config)


@hookimpl
def pulse_source_types() -> list[PBSSourceType]:
    return [PBSSourceType()]
