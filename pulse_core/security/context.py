"""Per-request security state, set by the request guard and read by routes."""

from __future__ import annotations

from typing import Any

from quart import g, has_request_context, has_websocket_context, request, websocket

from pulse_core.protocols import Principal
from pulse_core.security.client import ClientInfo

ANONYMOUS = "anonymous"


def current_client() -> ClientInfo:
    """Return the resolved client of the current request (the raw peer if the guard did not run)."""
    client = g.get("pulse_client")
    if client is not None:
        return client
    scope = request.scope if has_request_context() else websocket.scope if has_websocket_context() else {}
    peer = (scope.get("client") or ("", 0))[0]
    return ClientInfo(address=peer, peer=peer, peer_trusted=False, unverified_forwarding=False)


def current_principal() -> Principal | None:
    return g.get("pulse_principal")


def current_actor() -> str:
    principal = current_principal()
    return principal.name if principal is not None else ANONYMOUS


def request_context() -> dict[str, Any]:
    """Return scratch data the authenticators left for this request (e.g. the session found)."""
    return g.get("pulse_auth_context") or {}


def is_https() -> bool:
    """True when the browser talks HTTPS to us, directly or through a trusted proxy."""
    if request.scheme == "https":
        return True
    client = g.get("pulse_client")
    return client is not None and client.forwarded_proto == "https"
