"""HTTP access to one Proxmox VE API endpoint: addresses, TLS, authentication, errors.

One :class:`PVEClient` talks to one address (a cluster member). Clients of the
same connection share one :class:`TicketAuth` or :class:`TokenAuth`: a PVE
ticket is valid on every member of its cluster.

Addresses, the TLS modes (system CAs, a pinned SHA-256 fingerprint checked
before any credential is sent, or insecure by setting) and the translation
of transport failures come from ``pulse_core``, shared with the PBS plugin.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from pulse_core import (
    Address,
    ProxmoxClient,
    ProxmoxProduct,
    ProxmoxResponseError,
    ProxmoxTicketAuth,
    ProxmoxTokenAuth,
    auth_failed,
    SourceConnectError,
    SourcePermissionError,
    TLSPolicy,  # noqa: F401  (re-exported for source.py)
    normalize_fingerprint,  # noqa: F401  (re-exported with normalize_host)
)
from pulse_core import normalize_host as _normalize_host

log = logging.getLogger(__name__)

DEFAULT_PORT = 8006


# --- addresses -------------------------------------------------------------------------------

def normalize_host(text: str, default_port: int = DEFAULT_PORT) -> Address:
    """Parse a PVE host as users type it (see ``pulse_core.normalize_host``); the port defaults to 8006."""
    return _normalize_host(text, default_port, product="Proxmox VE")


# --- errors -------------------------------------------------------------------------------------


class PVEResponseError(ProxmoxResponseError):
    """An unexpected HTTP status or body; ``status`` and ``path`` name the call."""


class PVEPermissionError(SourcePermissionError):
    """A 403; ``privilege`` is the privilege PVE named, when it did."""

    def __init__(self, message: str, *, path: str = "", privilege: str | None = None, acl_path: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.privilege = privilege
        self.acl_path = acl_path


class NodeUnreachableError(SourceConnectError):
    """The endpoint could not forward a call to the node that owns it (HTTP 595/596)."""

    def __init__(self, message: str, *, node: str | None, path: str) -> None:
        super().__init__(message)
        self.node = node
        self.path = path


_PERM_RE = re.compile(r"Permission check failed \(([^,()]+), ([^)]+)\)")
_NODE_IN_PATH = re.compile(r"^/nodes/([^/]+)")


def _node_of(path: str) -> str | None:
    match = _NODE_IN_PATH.match(path)
    return match.group(1) if match else None


def _error_message(response: httpx.Response) -> str:
    """Return PVE's error text: ``message`` in the body (PVE >= 8.3) or the reason phrase."""
    message = ""
    if response.content:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, Mapping):
            message = str(body.get("message") or "").strip()
            errors = body.get("errors")
            if isinstance(errors, Mapping) and errors:
                details = "; ".join(f"{key}: {str(value).strip()}" for key, value in errors.items())
                message = f"{message} ({details})" if message else details
    if not message:
        message = response.reason_phrase.strip()
    return message


# --- authentication ---------------------------------------------------------------------------------

PVE_API = ProxmoxProduct(
    name="Proxmox VE",
    default_port=DEFAULT_PORT,
    realm="pve",
    suggested_realms=("pam", "pve"),
    token_prefix="PVEAPIToken",
    token_separator="=",
    percent_encode=False,
    cookie_name="PVEAuthCookie",
    ticket_prefix="PVE",
)


class TokenAuth(ProxmoxTokenAuth):
    """API token: ``Authorization: PVEAPIToken=user@realm!name=secret``."""

    product = PVE_API


class TicketAuth(ProxmoxTicketAuth):
    """User and password: a ``PVEAuthCookie`` ticket; the login also returns the cluster name."""

    product = PVE_API


Auth = TokenAuth | TicketAuth


# --- the client ------------------------------------------------------------------------------------------


class PVEClient(ProxmoxClient):
    """Requests against one address (a cluster member), returning the decoded ``data`` of each reply."""

    response_error = PVEResponseError

    async def get_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """Return the raw body of a successful GET (for measuring decode cost)."""
        response = await self.get_response(path, params)
        return response.content

    def status_error(self, method: str, path: str, response: httpx.Response) -> Exception:
        status = response.status_code
        message = _error_message(response)
        if status == 401:
            what = "API token" if self.auth.kind == "token" else f"user {getattr(self.auth, 'user', '')} and password"
            return auth_failed(self.label, message, what)
        if status == 403:
            match = _PERM_RE.search(message)
            return PVEPermissionError(
                f"{self.label}: permission denied for {method} {path}: {message}",
                path=path,
                privilege=match.group(2).strip() if match else None,
                acl_path=match.group(1).strip() if match else None,
            )
        if status in (595, 596):
            node = _node_of(path)
            where = f"node {node}" if node else "the target node"
            return NodeUnreachableError(
                f"{self.label}: {where} is unreachable from the cluster ({status} {message or 'no answer'})",
                node=node,
                path=path,
            )
        return PVEResponseError(
            f"{self.label}: {method} {path} failed with HTTP {status} {message}".rstrip(),
            status=status,
            path=path,
            reason=message,
        )
