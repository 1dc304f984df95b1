"""Load the configuration: command line > environment > YAML file > defaults."""

from __future__ import annotations

import difflib
import logging
import os
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pulse_core.config.schema import PulseConfig
from pulse_core.errors import ConfigError

log = logging.getLogger(__name__)

CONFIG_FILE_NAME = "pulse.yaml"

# Environment variable -> dotted key in the YAML model.
ENV_OVERRIDES: dict[str, str] = {
    "PULSE_DATA_DIR": "data_dir",
    "PULSE_BIND": "server.bind",
    "FRONTEND_PORT": "server.port",
    "PULSE_PUBLIC_URL": "server.public_url",
    "PULSE_TRUSTED_PROXIES": "server.trusted_proxies",
    "LOG_LEVEL": "logging.level",
    "LOG_FORMAT": "logging.format",
    "PULSE_AUTH_USER": "auth.user",
    "PULSE_AUTH_PASS": "auth.password",
    "API_TOKEN": "auth.api_token",
    "ALLOW_UNPROTECTED_EXPORT": "auth.allow_unprotected_export",
    "PULSE_POLL_INTERVAL": "polling.interval_seconds",
    "PULSE_UPDATES_ENABLED": "updates.enabled",
    "PULSE_UPDATE_FEED_URL": "updates.feed_url",
}

# Keys whose environment value is a comma-separated list.
_LIST_KEYS = {"server.trusted_proxies"}


def default_data_dir() -> Path:
    """Return the data directory used when neither the config nor PULSE_DATA_DIR sets one."""
    state_dir = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    if state_dir:
        return Path(state_dir.split(":")[0])
    if os.geteuid() == 0:
        return Path("/var/lib/pulse")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "pulse"


def find_config_file(cli_path: str | None, env: Mapping[str, str]) -> Path | None:
    """Return the YAML file to read: --config, then PULSE_CONFIG, then <data dir>/pulse.yaml."""
    if cli_path:
        return Path(cli_path)
    if env.get("PULSE_CONFIG"):
        return Path(env["PULSE_CONFIG"])
    data_dir = env.get("PULSE_DATA_DIR")
    candidate = (Path(data_dir) if data_dir else default_data_dir()) / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; pass an existing file with --config or PULSE_CONFIG") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(data).__name__}")
    return data


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[parts[-1]] = value


def apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for var, dotted in ENV_OVERRIDES.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        value: Any = [item.strip() for item in raw.split(",") if item.strip()] if dotted in _LIST_KEYS else raw
        _set_dotted(data, dotted, value)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """Find the pydantic model inside an annotation such as ``Foo``, ``Foo | None`` or ``list[Foo]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict and len(args) == 2:
        return _model_in(args[1])
    for arg in args:
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _keys_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Return the keys that the model at ``loc`` (a pydantic error location) accepts."""
    current = model
    for part in loc[:-1]:
        if current is None:
            return []
        if isinstance(part, int) or part not in current.model_fields:
            continue  # a list index or a dict key: the item's model is already current
        current = _model_in(current.model_fields[part].annotation)
    if current is None:
        return []
    return [field.alias or name for name, field in current.model_fields.items()]


def unknown_key_reason(key: str, known: list[str]) -> str:
    """Say that ``key`` is unknown, suggesting the closest known key when one is close."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]!r}? (see config.example.yaml)"
    return "unknown key (check the spelling against config.example.yaml)"


def format_validation_error(exc: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> list[str]:
    """Turn pydantic's errors into one ``path: reason`` line each; ``model`` lets unknown keys get a suggestion."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        if error["type"] == "extra_forbidden":
            reason = unknown_key_reason(str(error["loc"][-1]), _keys_at(model, tuple(error["loc"])))
        elif error["type"] == "missing":
            reason = "required key is missing"
        else:
            reason = error["msg"]
            if "input" in error and not isinstance(error["input"], (dict, list)) and "password" not in path \
                    and "token" not in path and "secret" not in path:
                reason += f" (got {error['input']!r})"
        lines.append(f"{path or '<root>'}: {reason}")
    return lines


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    section_models: Mapping[str, type[BaseModel]] | None = None,
    raw: dict[str, Any] | None = None,
    node_check: Callable[[int, Any], list[str]] | None = None,
) -> PulseConfig:
    """Build the validated configuration, reporting every problem at once.

    ``overrides`` maps dotted keys (``server.port``) to values from the command
    line. ``section_models`` are the plugin- and service-owned sections. ``raw`` is the
    file's content when the caller has read it already (a pipe can be read only once).
    ``node_check(index, entry)`` returns the plugin problems of one ``nodes`` entry
    (unknown type, the plugin's own validation), listed with the schema's problems.
    """
    env = os.environ if env is None else env
    section_models = dict(section_models or {})
    if raw is not None:
        data = dict(raw)
    else:
        data = read_yaml(path) if path else {}
    apply_env(data, env)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, dotted, value)

    problems: list[str] = []
    core_keys = set(PulseConfig.model_fields) - {"plugin_sections"}
    core_data = {key: value for key, value in data.items() if key in core_keys}
    section_data = {key: value for key, value in data.items() if key in section_models}
    for key in data:
        if key not in core_keys and key not in section_models:
            problems.append(f"{key}: {unknown_key_reason(str(key), sorted(core_keys | set(section_models)))}")

    config: PulseConfig | None = None
    try:
        config = PulseConfig.model_validate(core_data)
    except ValidationError as exc:
        problems.extend(format_validation_error(exc, model=PulseConfig))

    sections: dict[str, Any] = {}
    for name, model in section_models.items():
        raw = section_data.get(name)
        if raw is None:
            raw = {}
        try:
            sections[name] = model.model_validate(raw)
        except ValidationError as exc:
            problems.extend(format_validation_error(exc, prefix=name, model=model))

    nodes = data.get("nodes")
    if node_check is not None and isinstance(nodes, list):
        for index, item in enumerate(nodes):
            problems.extend(node_check(index, item))

    if problems:
        raise ConfigError(problems)
    assert config is not None
    config.plugin_sections = sections
    if not config.data_dir:
        config.data_dir = str(default_data_dir())
    return config
