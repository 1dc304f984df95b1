"""Authentication, CSRF, rate limits, lockout, security headers and the audit log.

``security_for(daemon)`` returns the shared services; ``pulse_core.web.guard``
applies them to every request, and ``routes.blueprint()`` serves the login,
token and audit endpoints.
"""

from __future__ import annotations

from pulse_core.security.context import current_actor, current_client, current_principal
from pulse_core.security.errors import SecurityError
from pulse_core.security.service import SecurityService, security_for

__all__ = [
    "SecurityError",
    "SecurityService",
    "current_actor",
    "current_client",
    "current_principal",
    "security_for",
]
