"""HTTP access to one Proxmox Backup Server API: authentication, envelopes and errors.

Addresses, TLS modes (system CAs, a pinned SHA-256 fingerprint checked before
any credential is sent, or insecure by setting) and transport errors come
from ``pulse_core``. What is PBS-specific lives here: the ``PBSAPIToken``
header with a colon before the secret, the ``PBSAuthCookie`` ticket with its
CSRF token, and error bodies that are bare text instead of a JSON envelope.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import trio

from pulse_core import (
    Address,
    HTTPSConnection,
    SourceAuthError,
    SourcePermissionError,
    SourceResponseError,
    TLSPolicy,
    is_html,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 8007
# PBS tickets live 2 hours (proxmox-auth-api); renew well before, so a slow poll never carries an expired one.
TICKET_LIFETIME = 2 * 3600.0
TICKET_RENEW_AFTER = 1.5 * 3600.0
# Maximum length of an error body quoted in a message (PBS error texts are one line).
MAX_ERROR_TEXT = 300


class PBSResponseError(SourceResponseError):
    """An unexpected HTTP status or body; ``status`` and ``path`` tell which call."""

    def __init__(self, message: str, *, status: int | None = None, path: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path
        self.reason = reason


class PBSPermissionError(SourcePermissionError):
    """A 403 on one path. PBS does not name the missing privilege in its response."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class PBSNotFoundError(PBSResponseError):
    """A 404: the path does not exist on this PBS version."""


def error_text(response: httpx.Response) -> str:
    """Return PBS's error text: the bare body (it is not a JSON envelope), else the reason phrase."""
    text = response.content[:MAX_ERROR_TEXT * 2].decode("utf-8", "replace").strip()
    if text.startswith("{"):
        # A proxy in front of PBS may respond with JSON of its own.
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, Mapping):
            text = str(body.get("message") or body.get("error") or "").strip() or text
    text = re.sub(r"\s+", " ", text)
    if len(text) > MAX_ERROR_TEXT:
        text = text[:MAX_ERROR_TEXT] + "…"
    return text or response.reason_phrase.strip()


# --- authentication ---------------------------------------------------------------------------------


class TokenAuth:
    """API token: ``Authorization: PBSAPIToken=user@realm!name:secret``, nothing to renew."""

    kind = "token"

    def __init__(self, user: str, token_name: str, secret: str) -> None:
        token_id = token_name if "!" in token_name else f"{user}!{token_name}"
        self.token_id = token_id
        # PBS percent-decodes the secret, so a '%' in it must be sent encoded.
        self._header = f"PBSAPIToken={token_id}:{quote(secret, safe='-_.~')}"

    def headers(self, method: str) -> dict[str, str]:
        return {"Authorization": self._header}

    async def ensure(self, client: PBSClient) -> None:
        return None

    async def relogin(self, client: PBSClient) -> bool:
        # A rejected token stays rejected: retrying only delays the auth error.
        return False

    def __repr__(self) -> str:
        return f"TokenAuth({self.token_id!r})"


class TicketAuth:
    """User and password: a ``PBSAuthCookie`` ticket renewed before its 2-hour expiry and once on a 401."""

    kind = "ticket"

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self._password = password
        self._ticket: str | None = None
        self._csrf: str | None = None
        self.issued_at: float | None = None
        self._lock = trio.Lock()
        self.logins = 0

    def headers(self, method: str) -> dict[str, str]:
        if self._ticket is None:
            return {}
        headers = {"Cookie": f"PBSAuthCookie={quote(self._ticket, safe='')}"}
        if method != "GET" and self._csrf:
            headers["CSRFPreventionToken"] = self._csrf
        return headers

    async def ensure(self, client: PBSClient) -> None:
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

    async def relogin(self, client: PBSClient) -> bool:
        async with self._lock:
            await self._login(client, self._password)
        return True

    async def _login(self, client: PBSClient, password: str) -> None:
        data = await client.request(
            "POST", "/access/ticket", data={"username": self.user, "password": password}, authenticated=False
        )
        if not isinstance(data, Mapping):
            raise PBSResponseError(f"{client.label}: the login response is not an object", path="/access/ticket")
        ticket = str(data.get("ticket") or "")
        if not ticket:
            content = "an HttpOnly ticket" if data.get("ticket-info") else "no ticket"
            raise PBSResponseError(f"{client.label}: the login response contains {content}", path="/access/ticket")
        if ticket.startswith("PBS:!tfa!") or "!tfa!" in ticket.split(":", 2)[1:2]:
            raise SourceAuthError(
                f"{client.label}: user {self.user} needs a second factor; use an API token for monitoring"
            )
        self._ticket = ticket
        self._csrf = str(data.get("CSRFPreventionToken") or "") or None
        self.issued_at = trio.current_time()
        self.logins += 1
        log.debug("Logged in to %s as %s", client.label, self.user)

    def __repr__(self) -> str:
        return f"TicketAuth({self.user!r})"


Auth = TokenAuth | TicketAuth


# --- the client ------------------------------------------------------------------------------------------


class PBSClient:
    """Requests against one PBS, returning the decoded ``data`` of each reply."""

    def __init__(
        self,
        address: Address,
        auth: Auth,
        tls: TLSPolicy,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 4,
        label: str | None = None,
    ) -> None:
        self.address = address
        self.auth = auth
        self.tls = tls
        self.label = label or str(address)
        self.connection = HTTPSConnection(
            address, tls, timeout=timeout, transport=transport, max_connections=max_connections, label=self.label
        )

    @property
    def requests(self) -> int:
        return self.connection.requests

    @property
    def seen_fingerprint(self) -> str | None:
        return self.connection.seen_fingerprint

    async def aclose(self) -> None:
        await self.connection.aclose()

    async def get(self, path: str, params: Mapping[str, Any] | None = None, timeout: float | None = None) -> Any:
        return await self.request("GET", path, params=params, timeout=timeout)

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
        return self._decode(method, path, response)["data"]

    def _decode(self, method: str, path: str, response: httpx.Response) -> dict[str, Any]:
        if is_html(response):
            raise self._html_error(method, path, response)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise PBSResponseError(
                f"{self.label}: {method} {path} returned a body that is not JSON ({exc.msg})",
                status=response.status_code,
                path=path,
            ) from None
        if not isinstance(body, dict) or "data" not in body:
            raise PBSResponseError(
                f"{self.label}: {method} {path} returned JSON without the \"data\" envelope",
                status=response.status_code,
                path=path,
            )
        return body

    def _html_error(self, method: str, path: str, response: httpx.Response) -> PBSResponseError:
        return PBSResponseError(
            f"{self.label}: {method} {path} returned an HTML page instead of API JSON (HTTP {response.status_code}); "
            "the address points at a web UI or a proxy page, or the server speaks plain http. Enter the PBS "
            f"host with its API port over https, e.g. https://{self.address.host}:{DEFAULT_PORT}",
            status=response.status_code,
            path=path,
        )

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
        if authenticated:
            await self.auth.ensure(self)
        headers = self.auth.headers(method) if authenticated else {}
        response = await self.connection.send(method, path, params=params, data=data, headers=headers, timeout=timeout)
        if response.status_code == 401 and authenticated and await self.auth.relogin(self):
            headers = self.auth.headers(method)
            response = await self.connection.send(method, path, params=params, data=data, headers=headers, timeout=timeout)
        if response.status_code >= 400 or response.status_code < 200:
            raise self._status_error(method, path, response)
        return response

    def _status_error(self, method: str, path: str, response: httpx.Response) -> Exception:
        status = response.status_code
        if is_html(response):
            return self._html_error(method, path, response)
        message = error_text(response)
        if status == 401:
            if self.auth.kind == "token":
                credentials = f"API token {self.auth.token_id} and its secret"  # type: ignore[union-attr]
            else:
                credentials = f"user {getattr(self.auth, 'user', '')} (with its realm) and password"
            return SourceAuthError(f"{self.label}: authentication failed ({message}); check the {credentials}")
        if status == 403:
            return PBSPermissionError(f"{self.label}: permission denied for {method} {path}: {message}", path=path)
        if status == 404:
            return PBSNotFoundError(
                f"{self.label}: {method} {path} is not available on this server ({message})",
                status=status, path=path, reason=message,
            )
        return PBSResponseError(
            f"{self.label}: {method} {path} failed with HTTP {status} {message}".rstrip(),
            status=status,
            path=path,
            reason=message,
        )
