"""Request plumbing shared by the Proxmox VE and PBS clients.

:class:`ProxmoxClient` sends authenticated requests over one
:class:`~pulse_core.sources.https.HTTPSConnection`, logs in again once on a
401 and decodes the ``{"data": …}`` envelope both APIs use. Each plugin
subclasses it to name its error classes and to map error statuses, because
PVE and PBS word their errors differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from pulse_core.errors import SourceResponseError
from pulse_core.sources.https import Address, HTTPSConnection, TLSPolicy
from pulse_core.sources.proxmox_auth import ProxmoxTicketAuth, ProxmoxTokenAuth


class ProxmoxResponseError(SourceResponseError):
    """An unexpected HTTP status or body; ``status`` and ``path`` name the call."""

    def __init__(self, message: str, *, status: int | None = None, path: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path
        self.reason = reason


class ProxmoxClient:
    """Requests against one address, returning the decoded ``data`` of each reply.

    Subclasses set ``response_error`` and implement :meth:`status_error`.
    """

    response_error: type[ProxmoxResponseError] = ProxmoxResponseError

    def __init__(
        self,
        address: Address,
        auth: ProxmoxTokenAuth | ProxmoxTicketAuth,
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
            address, tls, timeout=timeout, transport=transport, max_connections=max_connections, label=self.label
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
        """Return the ``data`` of a JSON response body, or raise ``response_error`` naming the call."""
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise self.response_error(
                f"{self.label}: {method} {path} returned a body that is not JSON ({exc.msg})",
                status=response.status_code,
                path=path,
            ) from None
        if not isinstance(body, dict) or "data" not in body:
            raise self.response_error(
                f"{self.label}: {method} {path} returned JSON without the \"data\" envelope",
                status=response.status_code,
                path=path,
            )
        return body["data"]

    def status_error(self, method: str, path: str, response: httpx.Response) -> Exception:
        """Build the exception for a response whose status is not 2xx."""
        raise NotImplementedError

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
            raise self.status_error(method, path, response)
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
