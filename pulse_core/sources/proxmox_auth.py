"""API token and ticket authentication, shared by the Proxmox VE and PBS clients.

Both products authenticate the same way and differ only in names: the
token header's prefix and the separator before the secret, the name of the
ticket cookie, and whether the secret or ticket is percent-encoded. A
:class:`ProxmoxProduct` carries these constants, and each plugin binds its
own product to the classes here with a one-line subclass.

A ticket lives 2 hours on both products (the ``proxmox-auth-api`` crate).
:class:`ProxmoxTicketAuth` renews it after 1.5 hours, so a slow poll never carries
an expired ticket, and logs in once more when a call returns 401.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

import trio

from pulse_core.errors import SourceAuthError

if TYPE_CHECKING:
    from pulse_core.sources.proxmox_client import ProxmoxClient

log = logging.getLogger(__name__)

TICKET_LIFETIME = 2 * 3600.0
TICKET_RENEW_AFTER = 1.5 * 3600.0


def auth_failed(label: str, server_message: str, credentials: str) -> SourceAuthError:
    """Build the error for a 401: where, the server's own reason when it adds one, and what to check.

    Proxmox responds to a bad password with "authentication failure", which only
    restates the error, so such a reason is left out.
    """
    reason = server_message.strip()
    detail = f" ({reason})" if reason and "authentication fail" not in reason.lower() else ""
    return SourceAuthError(f"{label}: authentication failed{detail}; check the {credentials}")


@dataclass(frozen=True, slots=True)
class ProxmoxProduct:
    """The constants in which the PVE and PBS APIs differ."""

    # Product name used in messages, e.g. "Proxmox VE".
    name: str
    default_port: int
    # The product's own realm, used in the example user of a message ("monitor@pve").
    realm: str
    # Realms suggested when a user name has none, in the order shown.
    suggested_realms: tuple[str, ...]
    # Token header: f"{token_prefix}={user}@{realm}!{name}{token_separator}{secret}".
    token_prefix: str
    token_separator: str
    # PBS percent-decodes the token secret and the ticket cookie, so both are sent encoded.
    percent_encode: bool
    cookie_name: str
    # First field of a ticket, e.g. "PVE" in "PVE:user@pam:…".
    ticket_prefix: str


class ProxmoxTokenAuth:
    """API token: one ``Authorization`` header, no CSRF token, nothing to renew."""

    kind = "token"
    product: ClassVar[ProxmoxProduct]

    def __init__(self, user: str, token_name: str, secret: str) -> None:
        product = self.product
        token_id = token_name if "!" in token_name else f"{user}!{token_name}"
        self.token_id = token_id
        if product.percent_encode:
            secret = quote(secret, safe="-_.~")
        self._header = f"{product.token_prefix}={token_id}{product.token_separator}{secret}"

    def headers(self, method: str) -> dict[str, str]:
        return {"Authorization": self._header}

    async def ensure(self, client: ProxmoxClient) -> None:
        return None

    async def relogin(self, client: ProxmoxClient) -> bool:
        # A rejected token stays rejected: retrying only delays the auth error.
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.token_id!r})"


class ProxmoxTicketAuth:
    """User and password: a ticket cookie renewed before its 2-hour expiry and once more on a 401."""

    kind = "ticket"
    product: ClassVar[ProxmoxProduct]

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self._password = password
        self._ticket: str | None = None
        self._csrf: str | None = None
        self.issued_at: float | None = None
        # PVE returns the cluster name with the ticket; PBS has no clusters.
        self.cluster_name: str | None = None
        self._lock = trio.Lock()
        self.logins = 0

    def headers(self, method: str) -> dict[str, str]:
        if self._ticket is None:
            return {}
        ticket = quote(self._ticket, safe="") if self.product.percent_encode else self._ticket
        headers = {"Cookie": f"{self.product.cookie_name}={ticket}"}
        if method != "GET" and self._csrf:
            headers["CSRFPreventionToken"] = self._csrf
        return headers

    async def ensure(self, client: ProxmoxClient) -> None:
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

    async def relogin(self, client: ProxmoxClient) -> bool:
        async with self._lock:
            await self._login(client, self._password)
        return True

    async def _login(self, client: ProxmoxClient, password: str) -> None:
        path = "/access/ticket"
        data = await client.request("POST", path, data={"username": self.user, "password": password}, authenticated=False)
        if not isinstance(data, Mapping):
            raise client.response_error(f"{client.label}: the login response is not an object", path=path)
        ticket = str(data.get("ticket") or "")
        if not ticket:
            # PBS can be set to send the ticket only as an HttpOnly cookie, which API clients cannot use.
            content = "an HttpOnly ticket" if data.get("ticket-info") else "no ticket"
            raise client.response_error(f"{client.label}: the login response contains {content}", path=path)
        if self._needs_second_factor(data, ticket):
            raise SourceAuthError(
                f"{client.label}: user {self.user} needs a second factor; use an API token for monitoring"
            )
        self._ticket = ticket
        self._csrf = str(data.get("CSRFPreventionToken") or "") or None
        self.cluster_name = data.get("clustername") or self.cluster_name
        self.issued_at = trio.current_time()
        self.logins += 1
        log.debug("Logged in to %s as %s", client.label, self.user)

    def _needs_second_factor(self, data: Mapping[str, object], ticket: str) -> bool:
        # A half-logged-in ticket has "!tfa!" where the user id would be.
        return bool(data.get("NeedTFA")) or ticket.startswith(f"{self.product.ticket_prefix}:!tfa!") or (
            "!tfa!" in ticket.split(":", 2)[1:2]
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.user!r})"
