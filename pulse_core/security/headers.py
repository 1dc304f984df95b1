"""Security headers added to every response, error responses included."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pulse_core.errors import ConfigError

# The UI loads its scripts from files only, so no inline script is allowed. Inline styles
# stay allowed because chart and layout code sets style attributes.
_CSP_BASE = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
REFERRER_POLICY = "no-referrer"
HSTS = "max-age=31536000"

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:*]+$")


def validate_origins(origins: Iterable[str]) -> list[str]:
    """Check ``server.embedding_origins``: each must be a scheme and host, e.g. https://home.example.com."""
    result = []
    problems = []
    for index, origin in enumerate(origins):
        value = str(origin).strip().rstrip("/")
        if not _ORIGIN.match(value):
            problems.append(
                f"server.embedding_origins.{index}: {origin!r} is not an origin "
                "(expected scheme and host, e.g. https://dashboard.example.com)"
            )
        else:
            result.append(value)
    if problems:
        raise ConfigError(problems)
    return result


class SecurityHeaders:
    """The header set for this server's embedding configuration."""

    def __init__(self, allow_embedding: bool, embedding_origins: Iterable[str]) -> None:
        origins = validate_origins(embedding_origins)
        if allow_embedding:
            ancestors = " ".join(["'self'", *origins])
        else:
            ancestors = "'none'"
        self.csp = "; ".join([*_CSP_BASE, f"frame-ancestors {ancestors}"])
        self.frame_options = None if allow_embedding else "DENY"

    def apply(self, headers: dict[str, str] | object, *, https: bool, api: bool) -> None:
        set_header = headers.__setitem__  # type: ignore[attr-defined]
        set_header("Content-Security-Policy", self.csp)
        if self.frame_options:
            set_header("X-Frame-Options", self.frame_options)
        set_header("X-Content-Type-Options", "nosniff")
        set_header("Referrer-Policy", REFERRER_POLICY)
        set_header("Permissions-Policy", PERMISSIONS_POLICY)
        if https:
            set_header("Strict-Transport-Security", HSTS)
        if api:
            # API responses may carry tokens or settings, so shared caches must not keep them.
            set_header("Cache-Control", "no-store")
