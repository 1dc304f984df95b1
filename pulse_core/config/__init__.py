"""Configuration: the typed model, loading from YAML/env/CLI, and persisted settings."""

from pulse_core.config.loader import ENV_OVERRIDES, find_config_file, load_config
from pulse_core.config.schema import PulseConfig
from pulse_core.config.store import SettingsStore

__all__ = ["ENV_OVERRIDES", "PulseConfig", "SettingsStore", "find_config_file", "load_config"]
