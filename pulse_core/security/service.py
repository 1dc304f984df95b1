"""The security services of one daemon, built once and shared by the guard, routes and authenticators."""

from __future__ import annotations

import weakref
from typing import Any

from pulse_core.security.client import ClientResolver
from pulse_core.security.headers import SecurityHeaders
from pulse_core.security.lockout import LockoutTracker
from pulse_core.security.password import PasswordStore
from pulse_core.security.ratelimit import RateLimiter
from pulse_core.security.sessions import SessionManager
from pulse_core.security.tokens import TokenStore


class SecurityService:
    """Passwords, sessions, tokens, rate limits, lockouts and headers for ``daemon``."""

    def __init__(self, daemon: Any) -> None:
        config = daemon.config
        clock = getattr(daemon, "clock", None)
        if clock is None:
            import time

            clock = time.time
        self.daemon = daemon
        self.clock = clock
        self.auth_config = config.auth
        self.server_config = config.server
        self.resolver = ClientResolver(config.server.trusted_proxies)
        self.passwords = PasswordStore(
            daemon.settings, config.auth.user, config.auth.password, config.auth.min_password_length
        )
        self.tokens = TokenStore(daemon.settings, config.auth.api_token, clock)
        self.sessions = SessionManager(daemon.storage, config.auth.session_hours * 3600, clock)
        self.limiter = RateLimiter(clock)
        self.lockout = LockoutTracker(daemon.storage, clock)
        self.headers = SecurityHeaders(config.server.allow_embedding, config.server.embedding_origins)

    @property
    def proxy_auth_header(self) -> str:
        return self.auth_config.proxy_auth_header.strip().lower()

    @property
    def needs_admin_token(self) -> bool:
        """True when neither a password nor proxy sign-in exists, so only a ``*`` token could set a password."""
        return not self.passwords.configured and not self.proxy_auth_header

    @property
    def auth_configured(self) -> bool:
        """True when any login method exists: a password, an API token or proxy header auth."""
        return self.passwords.configured or self.tokens.configured or bool(self.proxy_auth_header)


_services: weakref.WeakKeyDictionary[Any, SecurityService] = weakref.WeakKeyDictionary()


def security_for(daemon: Any) -> SecurityService:
    """Return the daemon's security services, creating them on first use."""
    service = _services.get(daemon)
    if service is None:
        service = SecurityService(daemon)
        _services[daemon] = service
    return service
