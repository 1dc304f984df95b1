"""Errors raised by the Proxmox simulator."""

from __future__ import annotations

from pulse_core.errors import ConfigError, PulseError


class SimulatorError(PulseError):
    """The simulator could not start or a control call was invalid."""


class ScenarioError(ConfigError):
    """An invalid scenario description; one ``"field: reason"`` line per problem."""
