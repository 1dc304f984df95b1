"""The one place every request passes: authentication, CSRF, rate limits and security headers.

Order for each request: resolve the client address, count it against the rate
limits, ask the authenticators (built-in and plugin ones, in hook order) for a
principal, then apply the export/import rule, the "auth required" rule, scope
checks and CSRF. Every response, errors included, gets the security headers.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from quart import Response, g, request, websocket

from pulse_core.protocols import Principal
from pulse_core.security import audit, csrf
from pulse_core.security.context import current_actor, current_client, is_https
from pulse_core.security.exportrule import EXPORT_PATH, IMPORT_PATH, TRANSFER_PATHS, decide
from pulse_core.security.service import SecurityService, security_for
from pulse_core.security.sessions import CSRF_COOKIE
from pulse_core.security.tokens import SCOPE_ALL, SCOPE_READ, SCOPE_WRITE, presented_token
from pulse_core.web.app import error_response

log = logging.getLogger(__name__)

# API paths that never need a principal. Auto-register checks its own setup code.
PUBLIC_API_PATHS = frozenset({
    "/api/health",
    "/api/version",
    "/api/login",
    "/api/security/status",
    "/api/auto-register",
})
# Paths that need the "*" scope: they hand out or control credentials, or move the whole configuration.
ADMIN_PREFIXES = (
    "/api/security/tokens",
    "/api/security/lockout",
    "/api/security/audit",
    "/api/security/change-password",
    "/api/system/api-token",
    EXPORT_PATH,
    IMPORT_PATH,
)
# Paths whose routes write their own audit events, or that change nothing (tests,
# previews, acknowledgements, retries). Other successful writes are audited as config changes.
SELF_AUDITED_PREFIXES = (
    "/api/login",
    "/api/logout",
    "/api/security/",
    "/api/system/api-token",
    "/api/auto-register",
    "/api/config/nodes/test-connection",
    "/api/notifications/webhooks/test",
    "/api/notifications/email/test",
    "/api/notifications/apprise/test",
    "/api/notifications/webhook-templates/preview",
    "/api/notifications/alerts/",
    "/api/notifications/dead-letters/",
    "/api/setup-script",
    "/api/updates/apply",
    EXPORT_PATH,
    IMPORT_PATH,
)
WEBSOCKET_PATH = "/ws"
# The Prometheus exposition lists every guest, node and storage by name, so it needs a principal too.
METRICS_PATH = "/metrics"
SAFE_METHODS = csrf.SAFE_METHODS


@dataclass(slots=True)
class GuardRequest:
    """The request as authenticators see it (``RequestInfo`` plus query, peer trust and scratch data)."""

    headers: Any
    cookies: Any
    client_address: str
    path: str
    method: str
    query: Any
    peer_trusted: bool
    context: dict[str, Any] = field(default_factory=dict)


def required_scope(method: str, path: str) -> str:
    if path.startswith(ADMIN_PREFIXES):
        return SCOPE_ALL
    if method.upper() in SAFE_METHODS:
        return SCOPE_READ
    return SCOPE_WRITE


def principal_allows(principal: Principal, scope: str) -> bool:
    # Writing settings implies reading them.
    if scope == SCOPE_READ and principal.allows(SCOPE_WRITE):
        return True
    return principal.allows(scope)


def needs_principal(method: str, path: str, auth_configured: bool) -> bool:
    # CORS preflight requests never carry credentials, and the response reveals only the allowed methods.
    if not auth_configured or method.upper() == "OPTIONS":
        return False
    if path in (WEBSOCKET_PATH, METRICS_PATH):
        return True
    return path.startswith("/api/") and path not in PUBLIC_API_PATHS


def install(app: Any, daemon: Any) -> None:
    """Attach the request guard to ``app``."""
    security = security_for(daemon)
    authenticators = daemon.plugins.authenticators(daemon)
    app.extensions["pulse_security"] = security

    @app.before_serving
    async def _prepare_password() -> None:
        # Hash a plain configured password now, so the first login does not pay for it.
        await security.passwords.prepare()

    @app.before_request
    async def _guard_request() -> Response | None:
        return await _guard(security, authenticators, request, request.method)

    @app.before_websocket
    async def _guard_websocket() -> Response | None:
        refused = await _guard(security, authenticators, websocket, "GET")
        if refused is not None:
            return refused
        return _check_origin(security, websocket.headers)

    @app.after_request
    async def _finish(response: Response) -> Response:
        try:
            _apply_headers(security, response)
            await _audit_request(daemon, response)
        except Exception:  # the response must still go out, with whatever headers were set
            log.exception("Request guard failed to finish %s %s", request.method, request.path)
        return response


async def _guard(security: SecurityService, authenticators: list[Any], req: Any, method: str) -> Response | None:
    path = req.path
    peer = (req.scope.get("client") or ("", 0))[0]
    client = security.resolver.resolve(peer, req.headers)
    g.pulse_client = client

    if path.startswith("/api/") or path == WEBSOCKET_PATH:
        decision = security.limiter.hit(client.address, method, path)
        g.pulse_rate_limit = decision
        if not decision.allowed:
            log.info("Rate limit hit by %s on %s %s", client.address, method, path)
            return error_response("too many requests; retry after the time in the Retry-After header", 429)

    info = GuardRequest(
        headers=req.headers,
        cookies=req.cookies,
        client_address=client.address,
        path=path,
        method=method,
        query=req.args,
        peer_trusted=client.peer_trusted,
    )
    principal = await _authenticate(authenticators, info)
    g.pulse_principal = principal
    g.pulse_auth_context = info.context
    auth_configured = security.auth_configured

    if path in TRANSFER_PATHS:
        verdict = decide(
            path=path,
            principal=principal,
            auth_configured=auth_configured,
            client=client,
            private_network_export=security.auth_config.private_network_export,
            allow_unprotected_export=security.auth_config.allow_unprotected_export,
        )
        g.pulse_transfer_verdict = verdict
        if not verdict.allowed:
            return error_response(verdict.reason, verdict.status)
    elif principal is None and needs_principal(method, path, auth_configured):
        if presented_token(req.headers, {}, allow_query=False):
            return error_response("invalid API token", 401)
        return error_response("authentication required: log in or send an API token", 401)

    if principal is not None and not principal_allows(principal, required_scope(method, path)):
        scope = required_scope(method, path)
        return error_response(f"this API token lacks the {scope!r} scope needed for {method} {path}", 403)

    method_name = principal.method if principal is not None else None
    if csrf.needs_check(method, path, req.cookies, method_name):
        reason = csrf.check(req.headers, req.cookies, info.context.get("session"))
        if reason is not None:
            log.info("Rejected %s %s from %s: %s", method, path, client.address, reason)
            return error_response(reason, 403)
    return None


async def _authenticate(authenticators: list[Any], info: GuardRequest) -> Principal | None:
    for authenticator in authenticators:
        try:
            principal = await authenticator.authenticate(info)
        except Exception:  # a broken plugin authenticator fails closed instead of failing the request
            log.exception("Authenticator %s failed", getattr(authenticator, "name", authenticator))
            continue
        if principal is not None:
            return principal
    return None


def _check_origin(security: SecurityService, headers: Any) -> Response | None:
    """Reject cross-site WebSocket handshakes: browsers send cookies with them whatever the page."""
    origin = headers.get("origin")
    if not origin:
        return None  # not a browser
    host = headers.get("host", "")
    allowed = {f"http://{host}", f"https://{host}", *security.server_config.allowed_origins}
    if origin.rstrip("/") in allowed:
        return None
    return error_response(f"WebSocket origin {origin!r} is not allowed; add it to server.allowed_origins", 403)


def _apply_headers(security: SecurityService, response: Response) -> None:
    security.headers.apply(response.headers, https=is_https(), api=request.path.startswith("/api/"))
    principal = g.get("pulse_principal")
    if principal is not None and principal.method == "proxy" and not request.cookies.get(CSRF_COOKIE):
        # Proxy-authenticated browsers get their CSRF token here, as session users get it at login.
        response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), httponly=False, samesite="Lax",
                            secure=is_https(), path="/")
    decision = g.get("pulse_rate_limit")
    if decision is not None:
        for name, value in decision.headers().items():
            response.headers[name] = value


async def _audit_request(daemon: Any, response: Response) -> None:
    path = request.path
    method = request.method
    client = current_client().address
    if path in TRANSFER_PATHS:
        verdict = g.get("pulse_transfer_verdict")
        action = audit.EXPORT if path == EXPORT_PATH else audit.IMPORT
        await audit.record(
            daemon, action, actor=current_actor(), client=client, status=response.status_code,
            access=verdict.reason if verdict is not None else "",
        )
        return
    if method in SAFE_METHODS or not 200 <= response.status_code < 300:
        return
    if path == "/api/auto-register":
        await audit.record(daemon, audit.AUTO_REGISTER, actor=current_actor(), client=client,
                           status=response.status_code)
        return
    if path.startswith("/api/") and not path.startswith(SELF_AUDITED_PREFIXES):
        section = path[len("/api/"):].strip("/")
        await audit.record(daemon, audit.CONFIG_CHANGE, actor=current_actor(), client=client,
                           section=section, method=method)

