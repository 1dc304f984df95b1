"""HTTP access to one Proxmox VE API endpoint: addresses, TLS, authentication, errors.

One :class:`PVEClient` talks to one address (a cluster member). Clients of the
same connection share one :class:`TicketAuth` or :class:`TokenAuth`: a PVE
ticket is valid on every member of its cluster.

TLS has three modes. ``system`` verifies against the system CAs with host
name checks. ``pinned`` first reads the certificate in a separate handshake
that sends no request and compares its SHA-256 fingerprint with the pin.
Only then do real connections start, trusting exactly that certificate, so
credentials are never sent to a server whose pin did not match. ``insecure`` accepts any certificate and
is only used when the user turned verification off explicitly.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import trio

from pulse_core import (
    SourceAuthError,
    SourceConnectError,
    SourcePermissionError,
    SourceResponseError,
    SourceTLSError,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 8006
API_PREFIX = "/api2/json"
# PVE tickets live 2 hours; renew well before, so a slow poll never carries an expired one.
TICKET_LIFETIME = 2 * 3600.0
TICKET_RENEW_AFTER = 1.5 * 3600.0


# --- addresses -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """A normalized API address: lower-case host (IPv6 without brackets) and port."""

    host: str
    port: int = DEFAULT_PORT

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.host

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if self.is_ipv6 else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.netloc}"

    def __str__(self) -> str:
        return self.netloc


_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$")


def normalize_host(text: str, default_port: int = DEFAULT_PORT) -> Address:
    """Parse a host as users type it and return one normalized address.

    Accepts ``pve1.example``, ``pve1.example:8006``, ``https://pve1.example:8006/``
    (any path is ignored), IPv4, IPv6 bare (``fd00::1``), in brackets
    (``[fd00::1]``) or with a port (``[fd00::1]:8006``). Raises ValueError
    with a message that explains what to enter instead.
    """
    raw = (text or "").strip()
    if not raw:
        raise ValueError("host is empty; enter a name or address such as pve1.example.com or 192.0.2.10")
    if "://" in raw:
        scheme = raw.split("://", 1)[0].lower()
        if scheme != "https":
            raise ValueError(f"scheme {scheme!r} is not supported; the Proxmox VE API is served over https://")
    else:
        try:
            # A bare IPv6 address has colons of its own and no port.
            return Address(str(ipaddress.IPv6Address(raw.split("%", 1)[0])), default_port)
        except ValueError:
            pass
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"cannot read host {text!r}: {exc}; use name:port or [IPv6]:port") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"cannot read a host name from {text!r}")
    if parts.username or parts.password:
        raise ValueError("host must not contain credentials; set the user or API token in their own fields")
    try:
        host = str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        if not _HOSTNAME_RE.match(host):
            raise ValueError(f"{host!r} is not a valid host name or IP address") from None
        host = host.rstrip(".")
    return Address(host, port or default_port)


def normalize_fingerprint(text: str) -> str:
    """Return a SHA-256 fingerprint as upper-case hex pairs joined by ":" (Proxmox's notation)."""
    digits = re.sub(r"[\s:]", "", text or "").upper()
    if digits.startswith("SHA256"):
        digits = digits[6:]
    if not re.fullmatch(r"[0-9A-F]{64}", digits):
        raise ValueError(
            "fingerprint must be a SHA-256 fingerprint: 64 hex digits, optionally in pairs joined by ':' "
            "(as shown under Certificates in the node's web UI or in ssl_fingerprint of GET /nodes)"
        )
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def fingerprint_of(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


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


def _is_tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text and "certificate" in text.lower():
            return True
        current = current.__cause__ or current.__context__
    return False


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


# --- TLS ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TLSPolicy:
    """How to trust one address: ``system``, ``pinned`` (with ``fingerprint``) or ``insecure``."""

    mode: str = "system"
    fingerprint: str | None = None

    def describe(self) -> str:
        if self.mode == "pinned":
            return f"pinned SHA-256 {self.fingerprint}"
        if self.mode == "insecure":
            return "not verified (insecure, by setting)"
        return "verified against the system CAs"


async def fetch_certificate(address: Address, timeout: float) -> bytes:
    """Read the server's certificate (DER) in a handshake that sends no request."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with trio.fail_after(timeout):
        tcp = await trio.open_tcp_stream(address.host, address.port)
        stream = trio.SSLStream(tcp, context, server_hostname=None if _is_ip(address.host) else address.host)
        try:
            await stream.do_handshake()
            der = stream.getpeercert(True)
        finally:
            await trio.aclose_forcefully(stream)
    if not der:
        raise SourceTLSError(f"{address}: the server presented no certificate")
    return der


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def pinned_context(der: bytes) -> ssl.SSLContext:
    """Build a context that trusts exactly this certificate (regardless of its issuer) and nothing else."""
    context = ssl.create_default_context(cadata=der)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def insecure_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


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
        self._transport = transport
        self._max_connections = max_connections
        self._http: httpx.AsyncClient | None = None
        self._http_lock = trio.Lock()
        # The fingerprint of the certificate the last successful handshake saw.
        self.seen_fingerprint: str | None = None
        self.requests = 0

    async def _client(self) -> httpx.AsyncClient:
        if self._http is not None:
            return self._http
        async with self._http_lock:
            if self._http is not None:
                return self._http
            verify: ssl.SSLContext | bool
            if self._transport is not None:
                verify = True
            elif self.tls.mode == "pinned":
                verify = await self._pin()
            elif self.tls.mode == "insecure":
                verify = insecure_context()
            else:
                verify = ssl.create_default_context()
            self._http = httpx.AsyncClient(
                base_url=self.address.url + API_PREFIX,
                verify=verify,
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=self._max_connections, max_keepalive_connections=self._max_connections),
                headers={"Accept": "application/json", "User-Agent": "Pulse"},
            )
            return self._http

    async def _pin(self) -> ssl.SSLContext:
        try:
            der = await fetch_certificate(self.address, self.timeout)
        except trio.TooSlowError:
            raise SourceConnectError(f"{self.label}: TLS handshake timed out after {self.timeout:g} s") from None
        except OSError as exc:
            raise SourceConnectError(f"{self.label}: cannot connect: {exc.strerror or exc}") from None
        except (ssl.SSLError, trio.BrokenResourceError) as exc:
            raise SourceTLSError(f"{self.label}: TLS handshake failed: {exc}") from None
        seen = fingerprint_of(der)
        self.seen_fingerprint = seen
        if seen != self.tls.fingerprint:
            raise SourceTLSError(
                f"{self.label}: certificate fingerprint mismatch: the server presents {seen}, "
                f"but {self.tls.fingerprint} is pinned; if the certificate was renewed on purpose, "
                "update the fingerprint"
            )
        return pinned_context(der)

    async def reset(self) -> None:
        """Drop pooled connections (and a verified pin) so the next call starts over."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def aclose(self) -> None:
        await self.reset()

    async def get(self, path: str, params: Mapping[str, Any] | None = None, timeout: float | None = None) -> Any:
        return await self.request("GET", path, params=params, timeout=timeout)

    async def get_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """Return the raw body of a successful GET (for measuring decode cost)."""
        response = await self._send("GET", path, params=params, data=None, timeout=None, authenticated=True)
        return response.content

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
        for attempt in (1, 2):
            http = await self._client()
            self.requests += 1
            try:
                with trio.fail_after(limit):
                    return await http.request(method, path, params=params, data=data, headers=headers, timeout=limit)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # A pooled connection the server had closed (restart, certificate
                # change): one retry on a fresh connection, re-verifying TLS.
                await self.reset()
                if attempt == 2 or method != "GET":
                    raise SourceConnectError(f"{self.label}: {method} {path}: the server closed the connection") from None
            except trio.TooSlowError:
                raise SourceConnectError(f"{self.label}: {method} {path} timed out after {limit:g} s") from None
            except httpx.TimeoutException:
                raise SourceConnectError(f"{self.label}: {method} {path} timed out after {limit:g} s") from None
            except httpx.TransportError as exc:
                await self.reset()
                if _is_tls_failure(exc):
                    raise SourceTLSError(
                        f"{self.label}: TLS certificate verification failed ({self.tls.describe()}): "
                        f"{exc or type(exc).__name__}"
                    ) from None
                reason = str(exc) or type(exc).__name__
                raise SourceConnectError(f"{self.label}: cannot connect: {reason}") from None
        raise AssertionError("unreachable")

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
