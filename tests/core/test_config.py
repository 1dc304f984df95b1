"""Configuration loading: precedence, error reporting and the documented example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from pulse_core.config import load_config
from pulse_core.config.schema import PulseConfig
from pulse_core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pulse.yaml"
    path.write_text(text)
    return path


def test_defaults_without_file(tmp_path):
    config = load_config(None, env={"PULSE_DATA_DIR": str(tmp_path)})
    assert config.server.port == 7655
    assert config.polling.interval_seconds == 10.0
    assert config.data_dir == str(tmp_path)


def test_precedence_cli_over_env_over_yaml(tmp_path):
    path = write(tmp_path, "server:\n  port: 8001\nlogging:\n  level: WARNING\n")
    env = {"FRONTEND_PORT": "8002", "LOG_LEVEL": "debug"}
    config = load_config(path, env=env, overrides={"server.port": 8003})
    assert config.server.port == 8003
    assert config.logging.level == "DEBUG"
    config = load_config(path, env=env)
    assert config.server.port == 8002
    config = load_config(path, env={})
    assert config.server.port == 8001
    assert config.logging.level == "WARNING"


@pytest.mark.parametrize(
    ("var", "attr", "raw", "expected"),
    [
        ("PULSE_AUTH_USER", ("auth", "user"), "admin", "admin"),
        ("PULSE_AUTH_PASS", ("auth", "password"), "s3cret-pass", "s3cret-pass"),
        ("API_TOKEN", ("auth", "api_token"), "tok", "tok"),
        ("ALLOW_UNPROTECTED_EXPORT", ("auth", "allow_unprotected_export"), "true", True),
        ("FRONTEND_PORT", ("server", "port"), "9000", 9000),
        ("LOG_LEVEL", ("logging", "level"), "error", "ERROR"),
        ("LOG_FORMAT", ("logging", "format"), "json", "json"),
        ("PULSE_TRUSTED_PROXIES", ("server", "trusted_proxies"), "10.0.0.1, 10.0.0.0/8", ["10.0.0.1", "10.0.0.0/8"]),
    ],
)
def test_environment_overrides(var, attr, raw, expected, tmp_path):
    config = load_config(None, env={var: raw, "PULSE_DATA_DIR": str(tmp_path)})
    section, key = attr
    assert getattr(getattr(config, section), key) == expected


def test_data_dir_from_environment(tmp_path):
    config = load_config(None, env={"PULSE_DATA_DIR": str(tmp_path / "d")})
    assert config.data_dir == str(tmp_path / "d")


def test_every_problem_reported_at_once(tmp_path):
    path = write(tmp_path, "server:\n  port: 70000\n  bnd: 0.0.0.0\nlogging:\n  format: xml\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    problems = info.value.problems
    assert len(problems) == 3
    assert any(p.startswith("server.port:") for p in problems)
    assert any(p.startswith("server.bnd: unknown key") for p in problems)
    assert any(p.startswith("logging.format:") for p in problems)


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "polling:\n  interval_seconds: 5\nnotificatons: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.problems == [
        "notificatons: unknown key (check the spelling against config.example.yaml)"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("polling:\n  interval: 5\n",
         "polling.interval: unknown key; did you mean 'interval_seconds'? (see config.example.yaml)"),
        ("sever:\n  port: 7655\n", "sever: unknown key; did you mean 'server'? (see config.example.yaml)"),
        ("nodes:\n  - type: pve\n    name: a\n    host: h\n    verifyssl: false\n",
         "nodes.0.verifyssl: unknown key; did you mean 'verify_ssl'? (see config.example.yaml)"),
    ],
)
def test_unknown_key_suggests_the_close_one(tmp_path, text, problem):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert info.value.problems == [problem]


def test_yaml_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "server:\n  port: [1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "invalid YAML at line" in info.value.problems[0]


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.yaml", env={})
    assert "file not found" in str(info.value)


def test_secret_values_not_echoed_in_errors(tmp_path):
    path = write(tmp_path, "auth:\n  password: [not, a, string]\n  api_token: 12\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    text = str(info.value)
    assert "auth.password" in text
    assert "not" not in text.replace("not a valid", "").replace("note", "")


class _Section(BaseModel):
    model_config = {"extra": "forbid"}
    retention_days: int = 7


def test_plugin_section_validated_by_its_model(tmp_path):
    path = write(tmp_path, "myplugin:\n  retention_days: soon\n  colour: red\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}, section_models={"myplugin": _Section})
    problems = info.value.problems
    assert any(p.startswith("myplugin.retention_days:") for p in problems)
    assert any(p.startswith("myplugin.colour: unknown key") for p in problems)
    config = load_config(write(tmp_path, "myplugin:\n  retention_days: 3\n"), env={}, section_models={"myplugin": _Section})
    assert config.section("myplugin").retention_days == 3


def _model_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        if name == "plugin_sections":
            continue
        path = f"{prefix}{name}"
        paths.append(path)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(_model_paths(annotation, path + "."))
    return paths


def _yaml_has(document: dict, dotted: str) -> bool:
    node = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_every_key_documented_in_example():
    """config.example.yaml documents every key of the core and of every installed plugin section."""
    from pulse_core.cli import make_host

    text = (REPO / "config.example.yaml").read_text()
    document = yaml.safe_load(text)
    missing = [path for path in _model_paths(PulseConfig) if not _yaml_has(document, path)]
    for section, model in make_host().config_sections().items():
        missing += [path for path in _model_paths(model, section + ".") if not _yaml_has(document, path)]
    # Keys of list items (nodes) are documented in the commented example entry.
    from pulse_core.config.schema import NodeConfig

    for key in NodeConfig.model_fields:
        if not re.search(rf"^\s*#?\s*-?\s*{key}:", text, re.MULTILINE):
            missing.append(f"nodes[].{key}")
    assert missing == []


def test_example_file_is_valid_config(tmp_path):
    from pulse_core.cli import make_host

    host = make_host()
    config = load_config(REPO / "config.example.yaml", env={"PULSE_DATA_DIR": str(tmp_path)},
                         section_models=host.config_sections())
    assert config.server.port == 7655


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pulse_core", *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_check_config_three_mistakes_three_lines(tmp_path):
    path = write(tmp_path, "server:\n  port: -1\npolling:\n  interval_seconds: fast\nloging:\n  level: INFO\n")
    result = run_cli("check-config", "--config", str(path), env={"PULSE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("pulse: ")


def test_check_config_valid(tmp_path):
    path = write(tmp_path, "server:\n  port: 8080\n")
    result = run_cli("check-config", "--config", str(path), env={"PULSE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


NODE_MISTAKES = """\
nodes:
  - type: pbx
    name: bk
    host: backup.example
  - type: pve
    name: home
    host: pve.example
    user: root@pam
"""


def test_check_config_validates_nodes(tmp_path):
    path = write(tmp_path, NODE_MISTAKES)
    result = run_cli("check-config", "--config", str(path), env={"PULSE_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("pulse: nodes[0].type: unknown node type 'pbx'"), result.stderr
    assert any(line.startswith("pulse: nodes[1].") for line in lines), result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_seed_nodes_are_not_persisted(tmp_path):
    """A bad node in the YAML stops the start without writing it, so fixing the file is enough."""
    from pulse_core.cli import make_host
    from pulse_core.config.store import SETTINGS_FILE_NAME
    from pulse_core.daemon import Daemon

    host = make_host()
    data_dir = tmp_path / "data"
    config = load_config(write(tmp_path, NODE_MISTAKES), env={"PULSE_DATA_DIR": str(data_dir)},
                         section_models=host.config_sections())
    with pytest.raises(ConfigError) as info:
        Daemon(config, host)
    assert info.value.problems[0].startswith("nodes[0].type: unknown node type 'pbx'")
    assert not (data_dir / SETTINGS_FILE_NAME).exists()


SCHEMA_AND_NODE_MISTAKES = """\
server:
  port: 70000
nodes:
  - type: pvee
    name: home
    host: pve.example
    token_name: pulse
    token_value: not-a-real-secret
  - type: pve
    name: lab
    host: lab.example
    user: root@pam
  - type: pbx
    name: backup
"""


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_node_problems_listed_with_schema_problems(tmp_path, command):
    path = write(tmp_path, SCHEMA_AND_NODE_MISTAKES)
    data_dir = tmp_path / "data"

    result = run_cli(command, "--config", str(path), "--data-dir", str(data_dir))

    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "pulse: server.port: Input should be less than or equal to 65535 (got 70000)" in lines
    assert any(line.startswith("pulse: nodes[0].type: unknown node type 'pvee' (installed: ") for line in lines)
    assert any(line.startswith("pulse: nodes[1].password: ") for line in lines), result.stderr
    assert "pulse: nodes.2.host: required key is missing" in lines
    assert any(line.startswith("pulse: nodes[2].type: unknown node type 'pbx' (installed: ") for line in lines)
    assert len(lines) == 5, result.stderr
    assert not (data_dir / "settings.json").exists()


def test_load_config_runs_node_check_per_entry(tmp_path):
    seen = []

    def node_check(index, item):
        seen.append((index, item["name"]))
        return [f"nodes[{index}].type: checked"]

    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, SCHEMA_AND_NODE_MISTAKES), env={"PULSE_DATA_DIR": str(tmp_path)},
                    node_check=node_check)

    assert seen == [(0, "home"), (1, "lab"), (2, "backup")]
    assert info.value.problems[0].startswith("server.port: ")
    assert info.value.problems[-3:] == [f"nodes[{index}].type: checked" for index in range(3)]


def test_poll_timeout_not_below_interval(tmp_path):
    path = write(tmp_path, "polling:\n  interval_seconds: 10\n  timeout_seconds: 30\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"PULSE_DATA_DIR": str(tmp_path)})
    assert info.value.problems == [
        "polling: timeout_seconds (30 s) must be below interval_seconds (10 s); "
        "lower timeout_seconds or raise interval_seconds"
    ]


def test_short_interval_lowers_default_timeout(tmp_path):
    path = write(tmp_path, "polling:\n  interval_seconds: 5\n")
    config = load_config(path, env={"PULSE_DATA_DIR": str(tmp_path)})
    assert config.polling.timeout_seconds == 4.75
    assert load_config(None, env={"PULSE_DATA_DIR": str(tmp_path)}).polling.timeout_seconds == 8.0
