"""HTTP endpoints for login, logout, password change, API tokens, lockouts and the audit log."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from quart import Blueprint, Response, jsonify, request

from pulse_core.security import audit
from pulse_core.security.context import current_actor, current_client, current_principal, is_https, request_context
from pulse_core.security.errors import SecurityError
from pulse_core.security.exportrule import client_is_private
from pulse_core.security.lockout import address_key, user_key
from pulse_core.security.service import SecurityService, security_for
from pulse_core.security.sessions import CSRF_COOKIE, SESSION_COOKIE
from pulse_core.web.app import error_response
from pulse_core.web.jsonio import read_json_object

log = logging.getLogger(__name__)

MAX_FIELD_LENGTH = 1024
UNKNOWN_USER = "unknown user"


async def _json_object(optional: bool = False) -> dict[str, Any]:
    """Return the JSON object body; ``optional`` allows an empty body, read as ``{}``."""
    if optional and not await request.get_data(cache=True):
        return {}
    return await read_json_object()


def _string_field(body: dict[str, Any], name: str, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise SecurityError(f"{name}: required, a non-empty string")
    if len(value) > MAX_FIELD_LENGTH:
        raise SecurityError(f"{name}: too long; use at most {MAX_FIELD_LENGTH} characters")
    return value


def _require_principal_or_private(action: str) -> None:
    """Allow unauthenticated callers only on an install without auth, and only from a private network."""
    if current_principal() is not None:
        return
    if not client_is_private(current_client()):
        raise SecurityError(
            f"{action} without authentication is allowed only from a private network; "
            "log in or send an API token", 403,
        )


def _token_response(token: Any, reveal: bool) -> dict[str, Any]:
    data = token.public(reveal=reveal)
    data["hasToken"] = True
    return data


def blueprint(daemon: Any) -> Blueprint:
    """Build the security blueprint for ``daemon``."""
    bp = Blueprint("pulse_security", __name__)

    def security() -> SecurityService:
        return security_for(daemon)

    async def record(action: str, **fields: Any) -> None:
        await audit.record(daemon, action, actor=current_actor(), client=current_client().address, **fields)

    @bp.errorhandler(SecurityError)
    async def _security_error(exc: SecurityError) -> Response:
        return error_response(str(exc), exc.status)

    # --- login and logout --------------------------------------------------------------------

    @bp.post("/api/login")
    async def login() -> Response:
        svc = security()
        body = await _json_object()
        username = _string_field(body, "username")
        password = _string_field(body, "password")
        if not svc.passwords.configured:
            if not svc.tokens.configured:
                raise SecurityError(
                    "no password is configured; set PULSE_AUTH_USER and PULSE_AUTH_PASS, "
                    "or set one in Settings → Security", 400,
                )
            # Settings → Security needs sign-in now, so name the way that works with a token.
            raise SecurityError(
                "no password is configured; set PULSE_AUTH_USER and PULSE_AUTH_PASS and restart, or send "
                "POST /api/security/change-password with an API token that has the * scope", 400,
            )
        client = current_client().address
        keys = (user_key(username), address_key(client))
        # A wrong username may be a password typed into the wrong box, so it is never recorded.
        known_user = hmac.compare_digest(username.encode(), svc.passwords.username.encode())
        actor = username if known_user else UNKNOWN_USER
        locked = await svc.lockout.locked_for(*keys)
        if locked > 0:
            await audit.record(daemon, audit.LOGIN_FAILURE, actor=actor, client=client, reason="locked")
            minutes = max(1, round(locked / 60))
            response = error_response(f"too many failed logins; try again in {minutes} minutes", 429)
            response.headers["Retry-After"] = str(int(locked) + 1)
            return response
        if not await svc.passwords.verify(username, password):
            newly_locked = await svc.lockout.record_failure(*keys)
            await audit.record(daemon, audit.LOGIN_FAILURE, actor=actor, client=client, reason="invalid")
            for key in newly_locked:
                subject = f"address {client}" if key.startswith("addr:") else f"username {actor}"
                log.warning("Login locked for 15 minutes: %s after repeated failures", subject)
                await audit.record(daemon, audit.LOCKOUT, actor=actor, client=client, locked=subject)
            return error_response("invalid username or password", 401)

        await svc.lockout.record_success(*keys)
        new = await svc.sessions.create(svc.passwords.username, client)
        await audit.record(daemon, audit.LOGIN_SUCCESS, actor=svc.passwords.username, client=client)
        response = jsonify({
            "success": True,
            "username": svc.passwords.username,
            "csrfToken": new.csrf_token,
            "expires": new.session.expires,
        })
        max_age = int(svc.sessions.lifetime)
        secure = is_https()
        response.set_cookie(SESSION_COOKIE, new.cookie_value, max_age=max_age, httponly=True,
                            samesite="Lax", secure=secure, path="/")
        response.set_cookie(CSRF_COOKIE, new.csrf_token, max_age=max_age, httponly=False,
                            samesite="Lax", secure=secure, path="/")
        return response

    @bp.post("/api/logout")
    async def logout() -> Response:
        session = request_context().get("session")
        if session is not None:
            await security().sessions.end(session.key)
            await record(audit.LOGOUT)
        response = jsonify({"success": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @bp.get("/api/security/status")
    async def status() -> Response:
        svc = security()
        principal = current_principal()
        primary = svc.tokens.primary()
        return jsonify({
            "authConfigured": svc.auth_configured,
            "hasPassword": svc.passwords.configured,
            "passwordSource": svc.passwords.source,
            "hasApiToken": svc.tokens.configured,
            "apiTokenSource": primary.source if primary else None,
            "proxyAuth": bool(svc.proxy_auth_header),
            "csrfProtection": True,
            "authenticated": principal is not None,
            "username": principal.name if principal else None,
            "authMethod": principal.method if principal else None,
            "showPasswordBanner": not svc.passwords.configured,
            "privateNetworkExport": svc.auth_config.private_network_export,
            "allowUnprotectedExport": svc.auth_config.allow_unprotected_export,
            "sessionHours": svc.auth_config.session_hours,
            "minPasswordLength": svc.passwords.min_length,
        })

    @bp.post("/api/security/change-password")
    async def change_password() -> Response:
        svc = security()
        body = await _json_object()
        new_password = svc.passwords.validate_new(body.get("newPassword"))
        client = current_client().address
        principal = current_principal()
        if svc.passwords.configured:
            if principal is None:
                raise SecurityError("authentication required: log in first", 401)
            current = _string_field(body, "currentPassword")
            username = svc.passwords.username
            keys = (user_key(username), address_key(client))
            if await svc.lockout.locked_for(*keys) > 0:
                raise SecurityError("too many failed logins; try again later", 429)
            if not await svc.passwords.verify(username, current):
                await svc.lockout.record_failure(*keys)
                await record(audit.LOGIN_FAILURE, reason="wrong current password on password change")
                raise SecurityError("currentPassword: incorrect", 401)
            new_username = _string_field(body, "username", required=False) or username
        else:
            _require_principal_or_private("setting the first password")
            new_username = _string_field(body, "username", required=False) or svc.passwords.username
        await svc.passwords.change(new_username, new_password)
        keep = principal.session_key if principal is not None else None
        await svc.sessions.end_all(except_key=keep)
        await record(audit.PASSWORD_CHANGE, username=new_username)
        return jsonify({"success": True, "username": new_username})

    # --- the primary API token -------------------------------------------------------------------

    @bp.get("/api/system/api-token")
    async def token_status() -> Response:
        svc = security()
        token = svc.tokens.primary()
        reveal = request.args.get("reveal", "").lower() in ("1", "true", "yes")
        if token is None:
            if reveal:
                raise SecurityError("no API token is configured; generate one first", 404)
            return jsonify({"hasToken": False})
        if reveal:
            if current_principal() is None:
                raise SecurityError("revealing the API token requires authentication", 401)
            await record(audit.TOKEN_REVEALED, target=token.name)
        return jsonify(_token_response(token, reveal))

    @bp.post("/api/system/api-token/generate")
    async def token_generate() -> Response:
        _require_principal_or_private("generating an API token")
        token = await security().tokens.generate_primary()
        await record(audit.TOKEN_GENERATED, target=token.name)
        return jsonify(_token_response(token, reveal=True))

    @bp.delete("/api/system/api-token/delete")
    async def token_delete() -> Response:
        svc = security()
        primary = svc.tokens.primary()
        if primary is None:
            raise SecurityError("no API token is configured", 404)
        deleted = await svc.tokens.delete(primary.id, need_admin_token=svc.needs_admin_token)
        await record(audit.TOKEN_DELETED, target=deleted.name)
        return jsonify({"success": True, "hasToken": svc.tokens.primary() is not None})

    # --- named tokens ---------------------------------------------------------------------------------

    @bp.get("/api/security/tokens")
    async def tokens_list() -> Response:
        return jsonify({"tokens": [token.public() for token in security().tokens.all()]})

    @bp.post("/api/security/tokens")
    async def tokens_create() -> Response:
        _require_principal_or_private("creating an API token")
        body = await _json_object()
        svc = security()
        token = await svc.tokens.create(
            body.get("name"), body.get("scopes"), need_admin_token=svc.needs_admin_token
        )
        await record(audit.TOKEN_GENERATED, target=token.name, scopes=",".join(token.scopes))
        response = jsonify(token.public(reveal=True))
        response.status_code = 201
        return response

    # Path parameters are camelCase like the rest of the JSON API.
    @bp.get("/api/security/tokens/<tokenId>")
    async def tokens_get(tokenId: str) -> Response:  # noqa: N803 - the documented path parameter
        token = security().tokens.get(tokenId)
        if token is None:
            raise SecurityError(f"token {tokenId!r} not found", 404)
        reveal = request.args.get("reveal", "").lower() in ("1", "true", "yes")
        if reveal:
            if current_principal() is None:
                raise SecurityError("revealing an API token requires authentication", 401)
            await record(audit.TOKEN_REVEALED, target=token.name)
        return jsonify(token.public(reveal=reveal))

    @bp.put("/api/security/tokens/<tokenId>")
    async def tokens_update(tokenId: str) -> Response:  # noqa: N803 - the documented path parameter
        body = await _json_object()
        svc = security()
        token = await svc.tokens.update(tokenId, body, need_admin_token=svc.needs_admin_token)
        await record(audit.TOKEN_UPDATED, target=token.name, scopes=",".join(token.scopes))
        return jsonify(token.public())

    @bp.delete("/api/security/tokens/<tokenId>")
    async def tokens_delete(tokenId: str) -> Response:  # noqa: N803 - the documented path parameter
        svc = security()
        token = await svc.tokens.delete(tokenId, need_admin_token=svc.needs_admin_token)
        await record(audit.TOKEN_DELETED, target=token.name)
        return jsonify({"success": True})

    # --- lockouts and audit log -------------------------------------------------------------------------

    @bp.get("/api/security/lockout")
    async def lockout_list() -> Response:
        svc = security()
        own_key = user_key(svc.passwords.username)
        locked = []
        for item in await svc.lockout.active():
            key = item["key"]
            if key.startswith("addr:"):
                item.update(kind="address", subject=key.removeprefix("addr:"))
            else:
                item.update(kind="username", subject=svc.passwords.username if key == own_key else UNKNOWN_USER)
            locked.append(item)
        return jsonify({"locked": locked})

    @bp.post("/api/security/lockout/reset")
    async def lockout_reset() -> Response:
        body = await _json_object(optional=True)
        username = _string_field(body, "username", required=False)
        address = _string_field(body, "address", required=False)
        keys = [user_key(username)] if username else []
        if address:
            keys.append(address_key(address.strip()))
        cleared = await security().lockout.reset(keys or None)
        await record(audit.LOCKOUT_RESET, username=username, address=address, everything=not keys)
        return jsonify({"success": True, "cleared": cleared})

    @bp.get("/api/security/audit")
    async def audit_log() -> Response:
        raw_limit = request.args.get("limit", "200")
        raw_before = request.args.get("before")
        try:
            limit = int(raw_limit)
        except ValueError:
            raise SecurityError(f"limit: {raw_limit!r} is not a whole number (1-1000)") from None
        if not 1 <= limit <= 1000:
            raise SecurityError(f"limit: {limit} is out of range; use 1-1000")
        before = None
        if raw_before:
            try:
                before = float(raw_before)
            except ValueError:
                raise SecurityError(f"before: {raw_before!r} is not a Unix timestamp") from None
        events = await daemon.storage.query_audit(limit=limit, before=before)
        return jsonify({"events": [audit.scrub(dict(event)) for event in events]})

    return bp
