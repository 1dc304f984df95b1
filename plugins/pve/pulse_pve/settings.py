"""Per-connection settings of a PVE source: validation and the cadences read from ``options``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulse_core import ConnectionConfig, NodeSettings, PollingDefaults, parse_connection, read_counts, read_seconds

from pulse_pve.client import DEFAULT_PORT, PVE_API, Address, normalize_host


@dataclass(slots=True)
class Cadences:
    """How often each kind of data is fetched, in seconds, and how much runs at once."""

    # The scheduler's poll interval; detail work gets a share of it.
    interval: float = 10.0
    # status/current per running VM (balloon and guest memory).
    guest_status: float = 60.0
    # Guest agent filesystems and addresses per running VM with an agent.
    guest_agent: float = 300.0
    # /cluster/status, /nodes (fingerprints), /version and member reachability.
    membership: float = 60.0
    # /nodes/{node}/storage.
    storage: float = 60.0
    # Storage configuration (PBS targets), backups, vzdump tasks, snapshots, disks and SMART, Ceph, replication.
    slow: float = 300.0
    concurrency: int = 8
    call_timeout: float = 10.0
    # Share of the interval that detail and slow calls may take in one poll.
    detail_share: float = 0.5


_FLOAT_OPTIONS = ("interval", "guest_status", "guest_agent", "membership", "storage", "slow", "call_timeout")


@dataclass(slots=True)
class PVEConfig(ConnectionConfig):
    """Everything a source needs from its ``NodeSettings``, validated once."""

    cadences: Cadences = field(default_factory=Cadences)
    # Explicit API addresses per member node, for clusters whose members are
    # reached through other addresses or ports than /cluster/status reports.
    member_addresses: dict[str, Address] = field(default_factory=dict)
    member_port: int = DEFAULT_PORT


def default_cadences(polling: PollingDefaults) -> Cadences:
    """Return the cadences the configuration's ``polling`` section implies; a node's options override them.

    Guest agent data is read every five detail intervals (5 minutes at the
    default 60 s), because each read is one agent call per running VM. The
    storage flags and cluster membership keep their own 60 s.
    """
    return Cadences(
        interval=polling.interval_seconds,
        guest_status=polling.detail_interval_seconds,
        guest_agent=polling.detail_interval_seconds * 5,
        slow=polling.slow_interval_seconds,
        concurrency=min(polling.max_concurrency, 64),
    )


def parse_settings(settings: NodeSettings) -> tuple[PVEConfig | None, list[str]]:
    """Return the parsed config and one "field: reason" line per problem."""
    problems: list[str] = []
    connection = parse_connection(settings, PVE_API, problems)
    address = connection["address"]
    options: dict[str, Any] = dict(settings.options or {})
    cadences = default_cadences(settings.polling)
    read_seconds(options, _FLOAT_OPTIONS, cadences, problems)
    read_counts(options, {"concurrency": (1, 64)}, cadences, problems)
    if "detail_share" in options:
        value = options["detail_share"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            problems.append(f"options.detail_share: must be a fraction between 0 and 1, got {value!r}")
        else:
            cadences.detail_share = float(value)
    members: dict[str, Address] = {}
    raw_members = options.get("member_addresses") or {}
    if not isinstance(raw_members, dict):
        problems.append("options.member_addresses: must map node names to host[:port]")
    else:
        for node, host in raw_members.items():
            try:
                members[str(node)] = normalize_host(str(host), address.port if address else DEFAULT_PORT)
            except ValueError as exc:
                problems.append(f"options.member_addresses.{node}: {exc}")
    if problems or address is None:
        return None, problems
    config = PVEConfig(**connection, cadences=cadences, member_addresses=members, member_port=address.port)
    return config, []
