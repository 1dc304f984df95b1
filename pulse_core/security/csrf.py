"""CSRF protection by double submit: the ``pulse_csrf`` cookie must equal the ``X-CSRF-Token`` header.

A state-changing request must carry the token whenever it carries a session
cookie, even if an API token authenticates it too: the browser attaches the
cookie on its own, so the cookie alone proves nothing about who wrote the
request. For a live session the token must also be the one issued with it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pulse_core.security.sessions import CSRF_COOKIE, SESSION_COOKIE, Session, digest

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Login creates the session, so no token can exist yet.
EXEMPT_PATHS = frozenset({"/api/login"})


def needs_check(method: str, path: str, cookies: Mapping[str, str], principal_method: str | None) -> bool:
    if method.upper() in SAFE_METHODS or path in EXEMPT_PATHS:
        return False
    # Proxy header auth is also sent by browsers on their own, like a cookie.
    return bool(cookies.get(SESSION_COOKIE)) or principal_method == "proxy"


def check(headers: Mapping[str, str], cookies: Mapping[str, str], session: Session | None) -> str | None:
    """Return None when the token is valid, else the reason the request is rejected."""
    header = headers.get(CSRF_HEADER, "")
    cookie = cookies.get(CSRF_COOKIE, "")
    if not header:
        return f"CSRF token missing: send the {CSRF_COOKIE} cookie value in the {CSRF_HEADER} header"
    if not cookie or not hmac.compare_digest(header.encode(), cookie.encode()):
        return f"CSRF token invalid: the {CSRF_HEADER} header does not match the {CSRF_COOKIE} cookie"
    if session is not None and not hmac.compare_digest(digest(header), session.csrf_hash):
        return "CSRF token invalid: it does not belong to this session; log in again"
    return None
