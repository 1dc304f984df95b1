"""Validation of the connection fields and numeric ``options`` that PVE and PBS sources share.

Each function appends one "field: reason" line per problem to ``problems``,
so a plugin can report every problem of a node at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from pulse_core.protocols import NodeSettings
from pulse_core.sources.https import (
    Address,
    TLSPolicy,
    normalize_fingerprint,
    normalize_host,
)
from pulse_core.sources.proxmox_auth import ProxmoxProduct


@dataclass(slots=True)
class ConnectionConfig:
    """The validated address, trust and credentials of one configured connection."""

    instance: str
    name: str
    address: Address
    tls: TLSPolicy
    user: str
    token_name: str | None
    token_value: str | None
    password: str | None


class ConnectionFields(TypedDict):
    """Keyword arguments for a :class:`ConnectionConfig` (sub)class; ``address`` is None when the host is invalid."""

    instance: str
    name: str
    address: Address | None
    tls: TLSPolicy
    user: str
    token_name: str | None
    token_value: str | None
    password: str | None


def parse_connection(settings: NodeSettings, product: ProxmoxProduct, problems: list[str]) -> ConnectionFields:
    """Validate host, credentials and TLS settings of ``settings`` for ``product``."""
    address: Address | None = None
    try:
        address = normalize_host(settings.host, product.default_port, product=product.name)
    except ValueError as exc:
        problems.append(f"host: {exc}")

    user = (settings.user or "").strip()
    token_name = (settings.token_name or "").strip() or None
    token_value = (settings.token_value or "").strip() or None
    password = settings.password or None
    if token_name and "!" in token_name and not user:
        user = token_name.split("!", 1)[0]
    if not user:
        problems.append(f"user: enter the user, e.g. monitor@{product.realm} (for a token: the user that owns it)")
    elif "@" not in user:
        examples = " or ".join(f"{user}@{realm}" for realm in product.suggested_realms)
        problems.append(f"user: {user!r} has no realm; write it as name@realm, e.g. {examples}")
    if token_name or token_value:
        if not token_name:
            problems.append("token_name: enter the token name (the part after '!' in the token id)")
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

    return ConnectionFields(
        instance=settings.id,
        name=settings.name or settings.id,
        address=address,
        tls=tls,
        user=user,
        token_name=token_name,
        token_value=token_value,
        password=password,
    )


def read_seconds(options: Mapping[str, Any], names: Iterable[str], target: object, problems: list[str]) -> None:
    """Copy each of ``names`` present in ``options`` onto ``target`` as a float number of seconds above 0."""
    for name in names:
        if name not in options:
            continue
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            problems.append(f"options.{name}: must be a number of seconds greater than 0, got {value!r}")
        else:
            setattr(target, name, float(value))


def read_counts(
    options: Mapping[str, Any], bounds: Mapping[str, tuple[int, int]], target: object, problems: list[str]
) -> None:
    """Copy each option named in ``bounds`` onto ``target`` as a whole number within its inclusive bounds."""
    for name, (low, high) in bounds.items():
        if name not in options:
            continue
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"options.{name}: must be a whole number from {low} to {high}, got {value!r}")
        else:
            setattr(target, name, value)
