"""Who may export and import the configuration.

- With a session or an API token: always.
- Once any auth is configured (a password, an API token or proxy header auth):
  only with one of those.
- On an install without auth: from a private network (loopback, 10/8,
  172.16/12, 192.168/16, ::1, fc00::/7, fe80::/10) judged on the real client
  address, unless ``auth.private_network_export`` is off; from anywhere else
  only when ``ALLOW_UNPROTECTED_EXPORT=true``, and import never.
- Forwarding headers from a peer that is not a trusted proxy make the request
  count as public, because its real origin is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse_core.protocols import Principal
from pulse_core.security.client import ClientInfo, is_private

EXPORT_PATH = "/api/config/export"
IMPORT_PATH = "/api/config/import"
TRANSFER_PATHS = frozenset({EXPORT_PATH, IMPORT_PATH})


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str  # why it was allowed, or the message returned when it was not
    status: int = 200


def client_is_private(client: ClientInfo) -> bool:
    """Return True when the request verifiably comes from a private network."""
    return not client.unverified_forwarding and is_private(client.address)


def decide(
    *,
    path: str,
    principal: Principal | None,
    auth_configured: bool,
    client: ClientInfo,
    private_network_export: bool,
    allow_unprotected_export: bool,
) -> Verdict:
    if principal is not None:
        return Verdict(True, f"authenticated as {principal.name}")
    if auth_configured:
        return Verdict(False, "authentication required: log in or send an API token", 401)
    if private_network_export and client_is_private(client):
        return Verdict(True, "no auth configured; client on a private network")
    if path == IMPORT_PATH:
        return Verdict(
            False,
            "import from a public address needs authentication; set a password or an API token "
            "(ALLOW_UNPROTECTED_EXPORT does not cover import)",
            403,
        )
    if allow_unprotected_export:
        return Verdict(True, "no auth configured; ALLOW_UNPROTECTED_EXPORT=true")
    where = "a private network" if private_network_export else "anywhere (auth.private_network_export is off)"
    return Verdict(
        False,
        "export without authentication is allowed only from " + where
        + "; set a password or an API token, or set ALLOW_UNPROTECTED_EXPORT=true",
        403,
    )
