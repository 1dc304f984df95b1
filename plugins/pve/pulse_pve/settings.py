"""Per-connection settings of a PVE source: validation and the cadences read from ``options``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulse_core import NodeSettings

from pulse_pve.client import DEFAULT_PORT, Address, TLSPolicy, normalize_fingerprint, normalize_host


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
    # Backups, vzdump tasks, snapshots, disks and SMART, Ceph, replication.
    slow: float = 300.0
    concurrency: int = 8
    call_timeout: float = 10.0
    # Share of the interval that detail and slow calls may take in one poll.
    detail_share: float = 0.5


_FLOAT_OPTIONS = ("interval", "guest_status", "guest_agent", "membership", "storage", "slow", "call_timeout")


@dataclass(slots=True)
class PVEConfig:
    """Everything a source needs from its ``NodeSettings``, validated once."""

    instance: str
    name: str
    address: Address
    tls: TLSPolicy
    user: str
    token_name: str | None
    token_value: str | None
    password: str | None
    cadences: Cadences
    # Explicit API addresses per member node, for clusters whose members are
    # reached through other addresses or ports than /cluster/status reports.
    member_addresses: dict[str, Address] = field(default_factory=dict)
    member_port: int = DEFAULT_PORT


def parse_settings(settings: NodeSettings) -> tuple[PVEConfig | None, list[str]]:
    """Return the parsed config and one "field: reason" line per problem."""
    problems: list[str] = []
    address: Address | None = None
    try:
        address = normalize_host(settings.host)
    except ValueError as exc:
        problems.append(f"host: {exc}")
    user = (settings.user or "").strip()
    token_name = (settings.token_name or "").strip() or None
    token_value = (settings.token_value or "").strip() or None
    password = settings.password or None
    if token_name and "!" in token_name and not user:
        user = token_name.split("!", 1)[0]
    if not user:
        problems.append("user: enter the user, e.g. monitor@pve (for a token: the user that owns it)")
    elif "@" not in user:
        problems.append(f"user: {user!r} has no realm; write it as name@realm, e.g. {user}@pam or {user}@pve")
    if token_name or token_value:
        if not token_name:
            problems.append("token_name: enter the token id (the part after '!')")
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
    options: dict[str, Any] = dict(settings.options or {})
    cadences = Cadences()
    for name in _FLOAT_OPTIONS:
        if name in options:
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                problems.append(f"options.{name}: must be a number of seconds greater than 0, got {value!r}")
            else:
                setattr(cadences, name, float(value))
    if "concurrency" in options:
        value = options["concurrency"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
            problems.append(f"options.concurrency: must be a whole number from 1 to 64, got {value!r}")
        else:
            cadences.concurrency = value
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
    config = PVEConfig(
        instance=settings.id,
        name=settings.name or settings.id,
        address=address,
        tls=tls,
        user=user,
        token_name=token_name,
        token_value=token_value,
        password=password,
        cadences=cadences,
        member_addresses=members,
        member_port=address.port,
    )
    return config, []
