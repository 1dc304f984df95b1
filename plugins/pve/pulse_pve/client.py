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
import trio

from pulse_core import (
    Address,
    HTTPSConnection,
    SourceAuthError,
    SourceConnectError,
    SourcePermissionError,
    SourceResponseError,
    TLSPolicy,
    fetch_certificate,  # noqa: F401  (re-exported for check.py)
    fingerprint_of,  # noqa: F401  (re-exported for check.py)
    normalize_fingerprint,  # noqa: F401  (re-exported for settings.py)
)
from pulse_core import normalize_host as _normalize_host

log = logging.getLogger(__name__)

DEFAULT_PORT = 8006
API_PREFIX = "/api2/json"
# PVE tickets live 2 hours; renew well before, so a slow poll never carries an expired one.
TICKET_LIFETIME = 2 * 3600.0
TICKET_RENEW_AFTER = 1.5 * 3600.0


# --- addresses -------------------------------------------------------------------------------

def normalize_host(text: str, default_port: int = DEFAULT_PORT) -> Address:
    """Parse a PVE host as users type it (see ``pulse_core.normalize_host``); the port defaults to 8006."""
    return _normalize_host(text, default_port, product="Proxmox VE")


# --- errors -------------------------------------------------------------------------------------


class PVEResponseError(SourceResponseError):
    """An unexpected HTTP status or body; ``status`` and ``path`` tell which call."""

    def __init__(self, message: str, *, status: int | None = None, path: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path
        self.reason = reason


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


class TokenAuth:
    """API token: one header, no CSRF token, nothing to renew."""

    kind = "token"

    def __init__(self, user: str, token_name: str, secret: str) -> None:
        token_id = token_name if "!" in token_name else f"{user}!{token_name}"
        self.token_id = token_id
        self._header = f"PVEAPIToken={token_id}={secret}"

    def headers(self, method: str) -> dict[str, str]:
        return {"Authorization": self._header}

    async def ensure(self, client: PVEClient) -> None:
        return None

    async def relogin(self, client: PVEClient) -> bool:
        # A rejected token stays rejected: retrying only delays the auth error.
        return False

    def __repr__(self) -> str:
        return f"TokenAuth({self.token_id!r})"


class TicketAuth:
    """User and password: a ticket renewed before its 2-hour expiry and once more on a 401."""

    kind = "ticket"

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self._password = password
        self._ticket: str | None = None
        self._csrf: str | None = None
        self.issued_at: float | None = None
        self.cluster_name: str | None = None
        self._lock = trio.Lock()
        self.logins = 0

    def headers(self, method: str) -> dict[str, str]:
        if self._ticket is None:
            return {}
        headers = {"Cookie": f"PVEAuthCookie={self._ticket}"}
        if method != "GET" and self._csrf:
            headers["CSRFPreventionToken"] = self._csrf
        return headers

    async def ensure(self, client: PVEClient) -> None:
        async with self._lock:
            now = trio.current_time()
            if self._ticket is None or self.issued_at is None:
                await self._login(client, self._password)
            elif now - self.issued_at >= TICKET_RENEW_AFTER:
                try:
                    # Renewing with the ticket as the password keeps TFA users logged in.
                    await self._login(client, self._ticket if now - self.issued_at < TICKET_LIFETIME else self._password)
                except SourceAuthError:
                    await self._login(client, self._password)

    async def relogin(self, client: PVEClient) -> bool:
        async with self._lock:
            await self._login(client, self._password)
        return True

    async def _login(self, client: PVEClient, password: str) -> None:
        data = await client.request(
            "POST", "/access/ticket", data={"username": self.user, "password": password}, authenticated=False
        )
        if not isinstance(data, Mapping) or not data.get("ticket"):
            raise PVEResponseError(f"{client.label}: the login response contains no ticket", path="/access/ticket")
        if data.get("NeedTFA") or str(data.get("ticket", "")).startswith("PVE:!tfa!"):
            raise SourceAuthError(
                f"{client.label}: user {self.user} needs a second factor; use an API token for monitoring"
            )
        self._ticket = str(data["ticket"])
        self._csrf = str(data.get("CSRFPreventionToken") or "") or None
        self.cluster_name = data.get("clustername") or self.cluster_name
        self.issued_at = trio.current_time()
        self.logins += 1
        log.debug("Logged in to %s as %s", client.label, self.user)

    def __repr__(self) -> str:
        return f"TicketAuth({self.user!r})"


Auth = TokenAuth | TicketAuth


# --- the client ------------------------------------------------------------------------------------------


class PVEClient:
    """Requests against one address, returning the decoded ``data`` of each reply."""

    def __init__(
        self,
        address: Address,
        auth: Auth,
        tls: TLSPolicy,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 8,
        label: str | None = None,
    ) -> None:
        self.address = address
        self.auth = auth
        self.tls = tls
        self.timeout = timeout
        self.label = label or str(address)
        self.connection = HTTPSConnection(
            address, tls, base_path=API_PREFIX, timeout=timeout, transport=transport,
            max_connections=max_connections, label=self.label,
        )

    @property
    def seen_fingerprint(self) -> str | None:
        """The fingerprint of the certificate the last pinned handshake saw."""
        return self.connection.seen_fingerprint

    @property
    def requests(self) -> int:
        return self.connection.requests

    async def reset(self) -> None:
        """Drop pooled connections (and a verified pin) so the next call starts over."""
        await self.connection.reset()

    async def aclose(self) -> None:
        await self.connection.aclose()

    async def get(self, path: str, params: Mapping[str, Any] | None = None, timeout: float | None = None) -> Any:
        return await self.request("GET", path, params=params, timeout=timeout)

    async def get_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """Return the raw body of a successful GET (for measuring decode cost)."""
        response = await self.get_response(path, params)
        return response.content

    async def get_response(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """Return a successful GET's response undecoded, for callers with their own decoder."""
        return await self._send("GET", path, params=params, data=None, timeout=None, authenticated=True)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        authenticated: bool = True,
    ) -> Any:
        response = await self._send(method, path, params=params, data=data, timeout=timeout, authenticated=authenticated)
        return self.decode_data(response, method, path)

    def decode_data(self, response: httpx.Response, method: str, path: str) -> Any:
        """Return the ``data`` of a JSON response body, or raise PVEResponseError naming the call."""
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise PVEResponseError(
                f"{self.label}: {method} {path} returned a body that is not JSON ({exc.msg})",
                status=response.status_code,
                path=path,
            ) from None
        if not isinstance(body, dict) or "data" not in body:
            raise PVEResponseError(
                f"{self.label}: {method} {path} returned JSON without the \"data\" envelope",
                status=response.status_code,
                path=path,
            )
        return body["data"]

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        timeout: float | None,
        authenticated: bool,
    ) -> httpx.Response:
        limit = timeout or self.timeout
        if authenticated:
            await self.auth.ensure(self)
        response = await self._attempt(method, path, params, data, limit, authenticated)
        if response.status_code == 401 and authenticated and await self.auth.relogin(self):
            response = await self._attempt(method, path, params, data, limit, authenticated)
        if response.status_code >= 400 or response.status_code < 200:
            raise self._status_error(method, path, response, authenticated)
        return response

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        limit: float,
        authenticated: bool,
    ) -> httpx.Response:
        headers = self.auth.headers(method) if authenticated else {}
        return await self.connection.send(method, path, params=params, data=data, headers=headers, timeout=limit)

    def _status_error(self, method: str, path: str, response: httpx.Response, authenticated: bool) -> Exception:
        status = response.status_code
        message = _error_message(response)
        if status == 401:
            what = "API token" if self.auth.kind == "token" else f"user {getattr(self.auth, 'user', '')} and password"
            return SourceAuthError(f"{self.label}: authentication failed ({message}); check the {what}")
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
