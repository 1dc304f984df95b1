"""``pulse export`` and ``pulse import``: encrypted configuration bundles from the command line.

Both work either on the data directory of a stopped daemon (``--data-dir`` or
the configuration's ``data_dir``) or on a running instance over HTTP (``--url``
with ``--token`` or ``PULSE_API_TOKEN``). Working on the files of a running
daemon is refused, because the daemon would not see the change and could
overwrite it. The passphrase comes from ``--passphrase-file``, then
``PULSE_PASSPHRASE``, then a prompt on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from pulse_core import transfer
from pulse_core.errors import ConfigError, TransferError

PASSPHRASE_ENV = "PULSE_PASSPHRASE"
TOKEN_ENV = "PULSE_API_TOKEN"
HTTP_TIMEOUT_SECONDS = 120.0


def add_commands(subparsers: Any) -> None:
    """Add the export and import subcommands to the ``pulse`` parser."""
    export = subparsers.add_parser("export", help="write an encrypted configuration bundle")
    _add_target(export)
    export.add_argument("-o", "--output", help="file to write the bundle to, created with mode 0600 (default: stdout)")
    export.set_defaults(handler=cmd_export)

    imported = subparsers.add_parser("import", help="import an encrypted configuration bundle")
    _add_target(imported)
    imported.add_argument("file", help="the file from `pulse export` or the web UI's Settings → Export, "
                                       "or - to read it from stdin")
    imported.set_defaults(handler=cmd_import)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML configuration file, to find the data directory")
    parser.add_argument("--data-dir", help="data directory of a stopped Pulse (default: from the configuration)")
    parser.add_argument("--url", help="base URL of a running Pulse, e.g. http://127.0.0.1:7655, instead of the files")
    parser.add_argument("--token", help=f"API token for --url (default: ${TOKEN_ENV})")
    parser.add_argument("--passphrase-file", help=f"file whose first line is the passphrase (default: ${PASSPHRASE_ENV}, "
                                                  "then a prompt)")


def read_passphrase(args: argparse.Namespace, confirm: bool) -> str:
    if args.passphrase_file:
        try:
            lines = Path(args.passphrase_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TransferError(f"--passphrase-file: cannot read {args.passphrase_file}: {exc.strerror}") from None
        return lines[0] if lines else ""
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if not sys.stdin.isatty():
        raise TransferError(f"passphrase: missing; use --passphrase-file or set {PASSPHRASE_ENV}")
    passphrase = getpass.getpass("Passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != passphrase:
        raise TransferError("passphrase: the two entries differ")
    return passphrase


class OfflineContext:
    """The daemon parts that import validation uses, for a data directory without a running daemon."""

    def __init__(self, settings: Any, plugins: Any) -> None:
        self.settings = settings
        self.plugins = plugins
        self.source_types = plugins.source_types()

    def validate_node(self, node: Any) -> list[str]:
        source_type = self.source_types.get(node.type)
        if source_type is None:
            known = ", ".join(sorted(self.source_types)) or "none installed"
            return [f"type: unknown node type {node.type!r} (installed: {known})"]
        return source_type.validate(node)


def _local_store(args: argparse.Namespace, must_exist: bool) -> tuple[Any, Any]:
    from pulse_core.cli import load_from_args
    from pulse_core.config import SettingsStore
    from pulse_core.daemon import running_pid

    config, host = load_from_args(args)
    data_dir = Path(config.data_dir).expanduser()
    if must_exist and not (data_dir / "settings.json").exists():
        raise ConfigError(f"data_dir: no Pulse settings found in {data_dir} (settings.json is missing); check --data-dir")
    pid = running_pid(str(data_dir))
    if pid is not None:
        raise TransferError(
            f"Pulse is running on {data_dir} (pid {pid}); stop it first, or use --url and --token "
            "to go through the running instance"
        )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return SettingsStore(data_dir), host


def _post(args: argparse.Namespace, path: str, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    token = args.token or os.environ.get(TOKEN_ENV, "")
    headers = {"X-API-Token": token} if token else {}
    url = args.url.rstrip("/") + path
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise TransferError(f"--url: cannot reach {url}: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200:
        message = data.get("error") if isinstance(data, dict) else None
        raise TransferError(f"{url} returned HTTP {response.status_code}: {message or response.text[:200]}")
    return data


def _write_output(path: str | None, text: str) -> None:
    if not path or path == "-":
        sys.stdout.write(text + "\n")
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")


def cmd_export(args: argparse.Namespace) -> int:
    passphrase = transfer.check_passphrase(read_passphrase(args, confirm=True))
    if args.url:
        result = _post(args, "/api/config/export", {"passphrase": passphrase})
        data, sections = result["data"], result.get("sections", [])
    else:
        store, _ = _local_store(args, must_exist=True)
        data, summary = transfer.export_sync(store, passphrase)
        sections = summary["sections"]
    _write_output(args.output, data)
    print(f"Exported sections: {', '.join(sections) or 'none'}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        # UTF-8, not ASCII: the web UI's JSON export file carries node names as typed.
        data = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TransferError(f"file: cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}") from None
    passphrase = read_passphrase(args, confirm=False)
    if args.url:
        summary = _post(args, "/api/config/import", {"data": data, "passphrase": passphrase})["imported"]
    else:
        store, host = _local_store(args, must_exist=False)
        plan = transfer.plan_import_sync(data, passphrase, OfflineContext(store, host))
        store.replace_sync(plan.sections)
        summary = plan.summary
    nodes = ", ".join(node["id"] for node in summary.get("nodes", [])) or "none"
    print(f"Imported sections: {', '.join(summary['sections'])}; nodes: {nodes}")
    return 0

