"""Credentials, tickets and privileges of the simulated servers.

The permission model follows Proxmox's ACLs in a reduced form: a principal
(user or API token) has privilege sets per ACL path, and the set of the most
specific path at or above the checked path applies. ``root@pam`` has every
privilege, as on a real server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote

# A ticket is valid from 5 minutes before its timestamp until 2 h after it (PVE and PBS).
TICKET_LIFETIME = 2 * 3600
TICKET_GRACE = 300

PVE_ALL_PRIVILEGES = frozenset({
    "Sys.Audit", "Sys.Modify", "Sys.PowerMgmt", "Sys.Console", "Sys.Syslog",
    "VM.Audit", "VM.Monitor", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted",
    "VM.PowerMgmt", "VM.Snapshot", "VM.Backup", "VM.Config.Options", "VM.Allocate", "VM.Migrate",
    "Datastore.Audit", "Datastore.AllocateSpace", "Datastore.Allocate",
    "Pool.Audit", "SDN.Audit", "Mapping.Audit", "Permissions.Modify",
})
PBS_ALL_PRIVILEGES = frozenset({
    "Sys.Audit", "Sys.Modify", "Sys.PowerManagement",
    "Datastore.Audit", "Datastore.Modify", "Datastore.Read", "Datastore.Verify",
    "Datastore.Backup", "Datastore.Prune", "Remote.Audit", "Permissions.Modify",
})


@dataclass
class Principal:
    """A user or API token with its ACL (path -> privileges)."""

    userid: str
    token_name: str | None = None
    secret: str = ""
    acl: dict[str, frozenset[str]] = field(default_factory=dict)
    superuser: bool = False

    @property
    def auth_id(self) -> str:
        return f"{self.userid}!{self.token_name}" if self.token_name else self.userid

    def privileges(self, path: str) -> frozenset[str]:
        """Return the privileges that apply on ``path`` ("/vms/100", "/nodes/pve1", ...)."""
        if self.superuser:
            return PVE_ALL_PRIVILEGES | PBS_ALL_PRIVILEGES
        current = path.rstrip("/") or "/"
        while True:
            if current in self.acl:
                return self.acl[current]
            if current == "/":
                return frozenset()
            current = current.rsplit("/", 1)[0] or "/"

    def has(self, path: str, *privileges: str) -> bool:
        """Return True when any of ``privileges`` applies on ``path``."""
        granted = self.privileges(path)
        return any(privilege in granted for privilege in privileges)

    def sees_anything(self) -> bool:
        return self.superuser or any(self.acl.values())


class AuthError(Exception):
    """A request failed authentication, so the server returns 401."""


class PermissionDenied(Exception):
    """A request lacked a privilege, so the server returns 403 with this message."""


class Authenticator:
    """Issues and checks tickets, CSRF tokens and API tokens for one product.

    ``product`` is "PVE" or "PBS", which fixes the ticket prefix, the cookie name
    and the token header format (``PVEAPIToken=user!id=secret`` versus
    ``PBSAPIToken=user!id:secret``).
    """

    def __init__(self, product: str, all_privileges: frozenset[str]) -> None:
        self.product = product
        # Secrets are random per run, not derived from the scenario seed, so a
        # simulator on a shared machine does not hand out guessable credentials.
        self._key = secrets.token_bytes(32)
        self._epoch = 0
        self.all_privileges = all_privileges
        self.password = "sim-" + secrets.token_hex(8)
        self.users: dict[str, Principal] = {
            "root@pam": Principal("root@pam", superuser=True),
        }
        token_secret = str(uuid.uuid4())
        self.tokens: dict[str, Principal] = {}
        self.default_token = self.add_token("root@pam", "pulse", token_secret)

    @property
    def cookie_name(self) -> str:
        return f"{self.product}AuthCookie"

    def add_token(self, userid: str, token_name: str, secret: str, acl: dict[str, frozenset[str]] | None = None) -> Principal:
        """Register an API token (privilege-separated, with ``acl`` or full rights on /)."""
        principal = Principal(
            userid=userid,
            token_name=token_name,
            secret=secret,
            acl=dict(acl) if acl is not None else {"/": self.all_privileges},
        )
        self.tokens[principal.auth_id] = principal
        return principal

    # -- tickets ----------------------------------------------------------------

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._key + self._epoch.to_bytes(4, "big"), text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode().rstrip("=")

    def issue_ticket(self, userid: str, now: float) -> tuple[str, str]:
        """Return a new ticket and its CSRF prevention token."""
        stamp = f"{int(now):08X}"
        plain = f"{self.product}:{userid}:{stamp}"
        ticket = f"{plain}::{self._sign(plain)}"
        csrf = f"{stamp}:{self._sign('csrf:' + userid + ':' + stamp)}"
        return ticket, csrf

    def verify_ticket(self, ticket: str, now: float) -> Principal:
        """Return the user a ticket belongs to, or raise :class:`AuthError`."""
        parts = ticket.split("::", 1)
        if len(parts) != 2:
            raise AuthError("invalid ticket")
        plain, signature = parts
        fields = plain.split(":")
        if len(fields) != 3 or fields[0] != self.product:
            raise AuthError("invalid ticket")
        if not hmac.compare_digest(self._sign(plain), signature):
            raise AuthError("invalid ticket signature")
        issued = int(fields[2], 16)
        age = now - issued
        if age < -TICKET_GRACE or age > TICKET_LIFETIME:
            raise AuthError("ticket expired")
        user = self.users.get(fields[1])
        if user is None:
            raise AuthError("no such user")
        return user

    def verify_csrf(self, userid: str, token: str | None, now: float) -> bool:
        if not token or ":" not in token:
            return False
        stamp, signature = token.split(":", 1)
        if not hmac.compare_digest(self._sign("csrf:" + userid + ":" + stamp), signature):
            return False
        try:
            age = now - int(stamp, 16)
        except ValueError:
            return False
        return -TICKET_GRACE <= age <= TICKET_LIFETIME

    def expire_tickets(self) -> None:
        """Invalidate every ticket and CSRF token issued so far."""
        self._epoch += 1

    def check_password(self, username: str, password: str, now: float) -> Principal:
        """Check a login; the password may also be a valid ticket (ticket renewal)."""
        user = self.users.get(username)
        if user is None:
            raise AuthError("authentication failure")
        if password.startswith(f"{self.product}:"):
            ticket_user = self.verify_ticket(password, now)
            if ticket_user.userid != username:
                raise AuthError("authentication failure")
            return user
        if not hmac.compare_digest(password.encode(), self.password.encode()):
            raise AuthError("authentication failure")
        return user

    # -- API tokens -------------------------------------------------------------

    def verify_token_header(self, value: str) -> Principal:
        """Check an ``Authorization`` header carrying an API token."""
        prefix = f"{self.product}APIToken"
        rest = value[len(prefix) + 1:]
        if self.product == "PVE":
            # The token id is everything before the last "=".
            token_id, _, secret = rest.rpartition("=")
        else:
            token_id, _, secret = rest.rpartition(":")
            secret = unquote(secret)
        principal = self.tokens.get(token_id.strip())
        if principal is None or not secret or not hmac.compare_digest(principal.secret.encode(), secret.encode()):
            raise AuthError("invalid token")
        return principal


def parse_cookie(header: str, name: str) -> str | None:
    """Return the (URL-decoded) value of cookie ``name`` from a Cookie header."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name or key == f"__Host-{name}":
            return unquote(value)
    return None
