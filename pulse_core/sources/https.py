"""Addresses, TLS trust and error translation for the HTTPS APIs of Proxmox VE and PBS.

TLS has three modes. ``system`` verifies against the system CAs with host
name checks. ``pinned`` first reads the certificate in a separate handshake
that sends no request and compares its SHA-256 fingerprint with the pin.
Only then do real connections start, trusting exactly that certificate, so
credentials are never sent to a server whose pin did not match. ``insecure``
accepts any certificate and is only used when the user turned verification
off explicitly.

:class:`HTTPSConnection` wraps one pooled ``httpx.AsyncClient`` with these
modes and turns transport failures into the ``Source*Error`` classes of
``pulse_core.errors``. Authentication, envelopes and status codes stay with
each plugin, because PVE and PBS differ there.
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
import trio

from pulse_core.errors import SourceConnectError, SourceError, SourceTLSError

log = logging.getLogger(__name__)


# --- addresses -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """A normalized API address: lower-case host (IPv6 without brackets) and port."""

    host: str
    port: int

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


def normalize_host(text: str, default_port: int, *, product: str = "Proxmox") -> Address:
    """Parse a host as users type it and return one normalized address.

    Accepts ``pve1.example``, ``pve1.example:8006``, ``https://pve1.example:8006/``
    (any path is ignored), IPv4, IPv6 bare (``fd00::1``), in brackets
    (``[fd00::1]``) or with a port (``[fd00::1]:8006``). ``default_port`` is
    used when the text has none. Raises ValueError with a message that
    explains what to enter instead; ``product`` names the API in it.
    """
    raw = (text or "").strip()
    if not raw:
        raise ValueError("host is empty; enter a name or address such as pve1.example.com or 192.0.2.10")
    if "://" in raw:
        scheme = raw.split("://", 1)[0].lower()
        if scheme != "https":
            raise ValueError(f"scheme {scheme!r} is not supported; the {product} API is served over https://")
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


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- fingerprints and TLS --------------------------------------------------------------------


def normalize_fingerprint(text: str) -> str:
    """Return a SHA-256 fingerprint as upper-case hex pairs joined by ":" (Proxmox's notation)."""
    digits = re.sub(r"[\s:]", "", text or "").upper()
    if digits.startswith("SHA256"):
        digits = digits[6:]
    if not re.fullmatch(r"[0-9A-F]{64}", digits):
        raise ValueError(
            "fingerprint must be a SHA-256 fingerprint: 64 hex digits, optionally in pairs joined by ':' "
            "(as shown under Certificates in the server's web UI, in ssl_fingerprint of GET /nodes on PVE, "
            "or by 'proxmox-backup-manager cert info' on PBS)"
        )
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def fingerprint_of(der: bytes) -> str:
    """Return the SHA-256 fingerprint of a DER certificate in Proxmox's notation."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


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
        stream = trio.SSLStream(tcp, context, server_hostname=None if is_ip(address.host) else address.host)
        try:
            await stream.do_handshake()
            der = stream.getpeercert(True)
        finally:
            await trio.aclose_forcefully(stream)
    if not der:
        raise SourceTLSError(f"{address}: the server presented no certificate")
    return der


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


async def verify_pin(address: Address, tls: TLSPolicy, timeout: float, label: str) -> tuple[ssl.SSLContext, str]:
    """Check the server's certificate against the pin and return a context trusting it, with its fingerprint.

    Raises SourceConnectError when the server cannot be reached and
    SourceTLSError when the handshake fails or the fingerprint differs.
    """
    try:
        der = await fetch_certificate(address, timeout)
    except trio.TooSlowError:
        raise SourceConnectError(f"{label}: TLS handshake timed out after {timeout:g} s") from None
    except OSError as exc:
        raise SourceConnectError(f"{label}: cannot connect: {exc.strerror or exc}") from None
    except (ssl.SSLError, trio.BrokenResourceError) as exc:
        raise SourceTLSError(f"{label}: TLS handshake failed: {exc}") from None
    seen = fingerprint_of(der)
    if seen != tls.fingerprint:
        raise SourceTLSError(
            f"{label}: certificate fingerprint mismatch: the server presents {seen}, "
            f"but {tls.fingerprint} is pinned; if the certificate was renewed on purpose, "
            "update the fingerprint"
        )
    return pinned_context(der), seen


# --- error translation --------------------------------------------------------------------------


def is_tls_failure(exc: BaseException) -> bool:
    """Tell whether an exception (or one in its cause chain) is a TLS verification failure."""
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


def tls_reason(exc: BaseException) -> str:
    """Return the most specific reason a TLS failure gives, never an empty string.

    httpx often wraps the ``ssl`` error in an exception with an empty message, so
    the reason comes from the first ``ssl`` error in the cause chain: its
    ``verify_message`` (for example "self-signed certificate") or its reason code.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            detail = (
                getattr(current, "verify_message", None)
                or getattr(current, "reason", None)
                or getattr(current, "strerror", None)
                or (str(current) if current.args else type(current).__name__)
            )
            return str(detail)
        current = current.__cause__ or current.__context__
    return str(exc) or type(exc).__name__


def transport_error(exc: httpx.TransportError, *, label: str, method: str, path: str, limit: float, tls: TLSPolicy) -> SourceError:
    """Translate an httpx transport failure into SourceConnectError or SourceTLSError."""
    if isinstance(exc, httpx.TimeoutException):
        return SourceConnectError(f"{label}: {method} {path} timed out after {limit:g} s")
    if is_tls_failure(exc):
        return SourceTLSError(f"{label}: TLS certificate verification failed ({tls.describe()}): {tls_reason(exc)}")
    return SourceConnectError(f"{label}: cannot connect: {str(exc) or type(exc).__name__}")


def is_html(response: httpx.Response) -> bool:
    """Tell whether a response is an HTML page (a web UI or a proxy's page) rather than API JSON."""
    content_type = response.headers.get("content-type", "").lower()
    if "text/html" in content_type:
        return True
    head = response.content[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


# --- one pooled connection ------------------------------------------------------------------------


class HTTPSConnection:
    """A pooled HTTPS client for one address under one TLS policy.

    ``send`` returns the raw ``httpx.Response`` of any status; the caller
    decodes bodies and maps statuses. A pooled connection the server closed
    (restart, certificate change) is retried once for GET on a fresh
    connection, which also re-verifies the pin.
    """

    def __init__(
        self,
        address: Address,
        tls: TLSPolicy,
        *,
        base_path: str = "/api2/json",
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 8,
        label: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.address = address
        self.tls = tls
        self.base_path = base_path
        self.timeout = timeout
        self.label = label or str(address)
        self._transport = transport
        self._max_connections = max_connections
        self._headers = {"Accept": "application/json", "User-Agent": "Pulse", **(headers or {})}
        self._http: httpx.AsyncClient | None = None
        self._http_lock = trio.Lock()
        # The fingerprint of the certificate the last pinned handshake saw.
        self.seen_fingerprint: str | None = None
        self.requests = 0

    async def client(self) -> httpx.AsyncClient:
        if self._http is not None:
            return self._http
        async with self._http_lock:
            if self._http is not None:
                return self._http
            verify: ssl.SSLContext | bool
            if self._transport is not None:
                verify = True
            elif self.tls.mode == "pinned":
                verify, self.seen_fingerprint = await verify_pin(self.address, self.tls, self.timeout, self.label)
            elif self.tls.mode == "insecure":
                verify = insecure_context()
            else:
                verify = ssl.create_default_context()
            self._http = httpx.AsyncClient(
                base_url=self.address.url + self.base_path,
                verify=verify,
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=self._max_connections, max_keepalive_connections=self._max_connections),
                headers=self._headers,
            )
            return self._http

    async def reset(self) -> None:
        """Drop pooled connections (and a verified pin) so the next call starts over."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def aclose(self) -> None:
        await self.reset()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        limit = timeout or self.timeout
        for attempt in (1, 2):
            http = await self.client()
            self.requests += 1
            try:
                with trio.fail_after(limit):
                    response = await http.request(method, path, params=params, data=data, headers=headers, timeout=limit)
                # The body is read and the stream closed. httpx's bound stream refers back to its
                # response, a reference cycle that only the cyclic collector frees, so every body
                # (megabytes for a large snapshot list) would stay until the next full collection.
                # An empty stream breaks the cycle; the content stays cached on the response.
                response.stream = httpx.ByteStream(b"")
                return response
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                await self.reset()
                if attempt == 2 or method != "GET":
                    raise SourceConnectError(f"{self.label}: {method} {path}: the server closed the connection") from None
            except trio.TooSlowError:
                raise SourceConnectError(f"{self.label}: {method} {path} timed out after {limit:g} s") from None
            except httpx.TransportError as exc:
                if not isinstance(exc, httpx.TimeoutException):
                    await self.reset()
                raise transport_error(exc, label=self.label, method=method, path=path, limit=limit, tls=self.tls) from None
        raise AssertionError("unreachable")
