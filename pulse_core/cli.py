"""The ``pulse`` command: run, demo, simulate, check-config, plugins, hash-password."""

from __future__ import annotations

import argparse
import functools
import getpass
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio

from pulse_core import __version__
from pulse_core.config import find_config_file, load_config
from pulse_core.config.schema import AuthConfig, PulseConfig
from pulse_core.errors import ConfigError, PluginError, PulseError
from pulse_core.logs import buffer_startup_logs, configure_logging
from pulse_core.plugins import PluginHost, build_plugin_host

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH: int = AuthConfig.model_fields["min_password_length"].default


def builtin_plugins() -> dict[str, object]:
    """Return the core's own plugins, registered on the same hooks as third-party ones."""
    from pulse_core import builtin

    return {"core": builtin}


def make_host(blocked: Sequence[str] = ()) -> PluginHost:
    return build_plugin_host(blocked=blocked, builtins=builtin_plugins())


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "data_dir": getattr(args, "data_dir", None),
        "server.bind": getattr(args, "bind", None),
        "server.port": getattr(args, "port", None),
        "logging.level": getattr(args, "log_level", None),
    }


def load_from_args(args: argparse.Namespace, host: PluginHost | None = None) -> tuple[PulseConfig, PluginHost]:
    """Load the configuration; the plugin host is built first so plugin sections validate too."""
    path = find_config_file(getattr(args, "config", None), os.environ)
    raw = None
    if path is not None:
        from pulse_core.config.loader import read_yaml

        raw = read_yaml(path)
    if host is None:
        # Plugins may be blocked in the file itself, so read that key before loading them.
        blocked: list[str] = []
        plugins_section = (raw or {}).get("plugins")
        if isinstance(plugins_section, dict) and isinstance(plugins_section.get("blocked"), list):
            blocked = plugins_section["blocked"]
        host = make_host(blocked)
    from pulse_core.daemon import config_node_problems

    node_check = functools.partial(config_node_problems, host, host.source_types())
    config = load_config(path, os.environ, _overrides(args), host.config_sections(), raw=raw, node_check=node_check)
    return config, host


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML configuration file (default: $PULSE_CONFIG, then <data dir>/pulse.yaml)")
    parser.add_argument("--data-dir", help="directory for the database, settings and keys (default: $PULSE_DATA_DIR)")


def _add_server(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", help="address to listen on (default 0.0.0.0; demo: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default: $FRONTEND_PORT or 7655)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description="Monitoring for Proxmox VE and Proxmox Backup Server.")
    parser.add_argument("--version", action="version", version=f"pulse {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon")
    _add_common(run)
    _add_server(run)

    demo = commands.add_parser("demo", help="run the daemon against a built-in simulated Proxmox cluster")
    _add_common(demo)
    _add_server(demo)
    demo.add_argument("--nodes", type=int, default=3, help="simulated cluster nodes (default 3)")
    demo.add_argument("--guests", type=int, default=30, help="simulated guests in total (default 30)")

    simulate = commands.add_parser("simulate", help="run only the Proxmox VE/PBS simulator")
    from pulse_core.simulator import cli as simulator_cli

    simulator_cli.add_arguments(simulate)

    check = commands.add_parser("check-config", help="validate the configuration and exit")
    _add_common(check)

    commands.add_parser("plugins", help="list installed plugins with their hooks")

    hash_pw = commands.add_parser("hash-password", help="print a bcrypt hash for PULSE_AUTH_PASS")
    hash_pw.add_argument("--password", help="the password (default: prompt, or read stdin when not a terminal)")

    for extra in _extra_commands():
        extra(commands)
    return parser


def _extra_commands() -> list[Any]:
    """Subcommands contributed by core modules (export/import)."""
    registrars = []
    try:
        from pulse_core import transfer_cli
    except ImportError:
        return registrars
    registrars.append(transfer_cli.add_commands)
    return registrars


def cmd_run(args: argparse.Namespace) -> int:
    from pulse_core.daemon import Daemon

    startup_logs = buffer_startup_logs()
    config, host = load_from_args(args)
    configure_logging(config.logging.level, config.logging.format, replay=startup_logs)

    def reload_config() -> None:
        new_config, _ = load_from_args(args, host)
        configure_logging(new_config.logging.level, new_config.logging.format)
        daemon.config.polling = new_config.polling
        daemon.config.logging = new_config.logging

    daemon = Daemon(config, host)
    trio.run(lambda: daemon.run(reload_config=reload_config))
    return daemon.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    from pulse_core.demo import run_demo

    temporary_dir = None
    if not args.data_dir and not os.environ.get("PULSE_DATA_DIR"):
        temporary_dir = args.data_dir = tempfile.mkdtemp(prefix="pulse-demo-")
    if not args.bind and not os.environ.get("PULSE_BIND"):
        args.bind = "127.0.0.1"
    startup_logs = buffer_startup_logs()
    config, host = load_from_args(args)
    configure_logging(config.logging.level, config.logging.format, replay=startup_logs)
    port_chosen = args.port is not None or bool(os.environ.get("FRONTEND_PORT"))
    try:
        trio.run(run_demo, config, host, args.nodes, args.guests, port_chosen)
    finally:
        if temporary_dir is not None:
            shutil.rmtree(temporary_dir, ignore_errors=True)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from pulse_core.simulator import cli as simulator_cli

    configure_logging("INFO", "text")
    trio.run(simulator_cli.run_from_args, args)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from pulse_core.config.store import SETTINGS_FILE_NAME, SettingsStore
    from pulse_core.daemon import NODES_SECTION, validate_nodes

    # Loading reports the YAML nodes' problems together with the schema's.
    config, host = load_from_args(args)
    source_types = host.source_types()
    problems: list[str] = []
    data_dir = Path(config.data_dir).expanduser()
    settings_file = data_dir / SETTINGS_FILE_NAME
    if settings_file.is_file():
        # Nodes added in the UI (or seeded by an earlier start) live here and win over the YAML list.
        stored = SettingsStore(data_dir).get(NODES_SECTION, [])
        problems += validate_nodes(host, source_types, stored, f"{settings_file}: nodes")
    if problems:
        raise ConfigError(problems)
    note = "" if data_dir.is_dir() else "; it will be created at start"
    print(f"Configuration is valid (data directory {data_dir}{note}).")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    host = make_host()
    for info in host.describe():
        if info["blocked"]:
            state = "blocked"
        elif info["error"]:
            state = "FAILED: " + info["error"]
        else:
            state = "loaded"
        print(f"{info['name']:<18} {info['distribution']} {info['version']}  [{state}]")
        if info["hooks"]:
            print(f"{'':<18} hooks: {', '.join(info['hooks'])}")
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    import bcrypt

    password = args.password
    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not password:
        raise ConfigError("password: must not be empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        # The hash is still printed: auth.min_password_length may be set lower (at least 8).
        print(f"pulse: warning: the password has {len(password)} characters; the default minimum for "
              f"new passwords is {MIN_PASSWORD_LENGTH}", file=sys.stderr)
    print(bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode())
    return 0


COMMANDS = {
    "run": cmd_run,
    "demo": cmd_demo,
    "simulate": cmd_simulate,
    "check-config": cmd_check_config,
    "plugins": cmd_plugins,
    "hash-password": cmd_hash_password,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = COMMANDS.get(args.command) or getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"pulse: {problem}", file=sys.stderr)
        return 2
    except (PluginError, PulseError) as exc:
        print(f"pulse: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
