"""The built-in authenticators: session cookie, API token and a trusted proxy's user header.

They are registered through the ``pulse_authenticators`` hook like any
third-party authenticator, and tried in this order.
"""

from __future__ import annotations

import logging
from typing import Any

from pulse_core.protocols import Principal, RequestInfo
from pulse_core.security.exportrule import TRANSFER_PATHS
from pulse_core.security.service import SecurityService
from pulse_core.security.sessions import SESSION_COOKIE
from pulse_core.security.tokens import presented_token

log = logging.getLogger(__name__)


class SessionAuthenticator:
    name = "session"

    def __init__(self, security: SecurityService) -> None:
        self.security = security

    async def authenticate(self, request: RequestInfo) -> Principal | None:
        session = await self.security.sessions.lookup(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        # The guard checks CSRF tokens against the session found here.
        context: dict[str, Any] | None = getattr(request, "context", None)
        if context is not None:
            context["session"] = session
        return Principal(name=session.username, method="session", session_key=session.key)


class TokenAuthenticator:
    name = "token"

    def __init__(self, security: SecurityService) -> None:
        self.security = security

    async def authenticate(self, request: RequestInfo) -> Principal | None:
        query = getattr(request, "query", {}) or {}
        presented = presented_token(request.headers, query, allow_query=request.path in TRANSFER_PATHS)
        token = self.security.tokens.match(presented)
        return self.security.tokens.principal_for(token) if token else None


class ProxyHeaderAuthenticator:
    """Trusts a user name header (``auth.proxy_auth_header``) set by a proxy in ``server.trusted_proxies``."""

    name = "proxy"

    def __init__(self, security: SecurityService) -> None:
        self.security = security

    async def authenticate(self, request: RequestInfo) -> Principal | None:
        header = self.security.proxy_auth_header
        if not header or not getattr(request, "peer_trusted", False):
            return None
        user = (request.headers.get(header) or "").strip()
        if not user or len(user) > 256 or any(not ch.isprintable() for ch in user):
            return None
        return Principal(name=user, method="proxy")


def builtin_authenticators(security: SecurityService) -> list[Any]:
    return [SessionAuthenticator(security), TokenAuthenticator(security), ProxyHeaderAuthenticator(security)]
