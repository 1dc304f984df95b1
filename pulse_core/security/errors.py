"""Errors raised by the security services."""

from __future__ import annotations

from pulse_core.errors import PulseError


class SecurityError(PulseError):
    """A security operation was rejected; ``status`` is the HTTP status the API returns."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
