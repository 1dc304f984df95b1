"""The one place every request passes: authentication, CSRF, rate limits and security headers."""

from __future__ import annotations

from typing import Any


def install(app: Any, daemon: Any) -> None:
    """Attach the request guard to ``app``.

    TODO: authentication, CSRF, rate limits, lockout and security headers are being built.
    """
