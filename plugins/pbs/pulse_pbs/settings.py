"""Per-connection settings of a PBS source: validation, cadences and the caps read from ``options``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulse_core import Address, NodeSettings, TLSPolicy, normalize_fingerprint, normalize_host

from pulse_pbs.client import DEFAULT_PORT


@dataclass(slots=True)
class Limits:
    """Cadences in seconds and the caps that bound memory and time per poll."""

    interval: float = 30.0
    call_timeout: float = 15.0
    concurrency: int = 4
    # Server status, datastore list and usage run every poll; these run less often.
    jobs: float = 60.0
    tasks: float = 120.0
    namespaces: float = 300.0
    # Every backup group is re-read at least this often, which picks up
    # verification results and comments that do not change a group's count.
    full_pass: float = 3600.0
    # Failed tasks are listed from this far back, at most ``task_limit`` of them.
    task_window: float = 2 * 86400.0
    task_limit: int = 200
    # Snapshots kept per backup group (the newest) and over the whole server.
    group_snapshots: int = 100
    max_snapshots: int = 50_000
    # Backup groups the periodic pass re-reads per poll; new and changed groups are read on top.
    group_fetches: int = 200


_SECONDS = ("interval", "call_timeout", "jobs", "tasks", "namespaces", "full_pass", "task_window")
_COUNTS = {"concurrency": (1, 32), "task_limit": (1, 5000), "group_snapshots": (1, 10_000),
           "max_snapshots": (100, 1_000_000), "group_fetches": (1, 100_000)}


@dataclass(slots=True)
class PBSConfig:
    """Everything a PBS source needs from its ``NodeSettings``, validated once."""

    instance: str
    name: str
    address: Address
    tls: TLSPolicy
    user: str
    token_name: str | None
    token_value: str | None
    password: str | None
    limits: Limits


def parse_settings(settings: NodeSettings) -> tuple[PBSConfig | None, list[str]]:
    """Return the parsed config and one "field: reason" line per problem."""
    problems: list[str] = []
    address: Address | None = None
    try:
        address = normalize_host(settings.host, DEFAULT_PORT, product="Proxmox Backup Server")
    except ValueError as exc:
        problems.append(f"host: {exc}")

    user = (settings.user or "").strip()
    token_name = (settings.token_name or "").strip() or None
    token_value = (settings.token_value or "").strip() or None
    password = settings.password or None
    if token_name and "!" in token_name and not user:
        user = token_name.split("!", 1)[0]
    if not user:
        problems.append("user: enter the user, e.g. monitor@pbs (for a token: the user that owns it)")
    elif "@" not in user:
        problems.append(f"user: {user!r} has no realm; write it as name@realm, e.g. {user}@pbs or {user}@pam")
    if token_name or token_value:
        if not token_name:
            problems.append("token_name: enter the token name (the part after '!')")
        if not token_value:
            problems.append("token_value: enter the token secret shown when the token was created")
    elif not password:
        problems.append("password: enter a password, or an API token (token_name and token_value) instead")

    tls = TLSPolicy("system" if settings.verify_ssl else "insecure")
    if settings.fingerprint:
        try:
            tls = TLSPolicy("pinned", normalize_fingerprint(settings.fingerprint))
        except ValueError as exc:
            problems.append(f"fingerprint: {exc}")

    limits = Limits()
    options: dict[str, Any] = dict(settings.options or {})
    for name in _SECONDS:
        if name in options:
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                problems.append(f"options.{name}: must be a number of seconds greater than 0, got {value!r}")
            else:
                setattr(limits, name, float(value))
    for name, (low, high) in _COUNTS.items():
        if name in options:
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"options.{name}: must be a whole number from {low} to {high}, got {value!r}")
            else:
                setattr(limits, name, value)

    if problems or address is None:
        return None, problems
    config = PBSConfig(
        instance=settings.id,
        name=settings.name or settings.id,
        address=address,
        tls=tls,
        user=user,
        token_name=token_name,
        token_value=token_value,
        password=password,
        limits=limits,
    )
    return config, []
