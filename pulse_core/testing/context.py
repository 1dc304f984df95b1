"""A stand-in ``DaemonContext`` for testing a plugin's routes without a running daemon."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pulse_core.config.store import SettingsStore


def recording_context(settings: SettingsStore) -> Any:
    """Return a context whose ``audit()`` calls land in ``audit_log`` and reloads in ``reloads``."""
    audit: list[tuple[str, dict[str, Any]]] = []
    reloads: list[int] = []

    async def record_audit(action: str, **fields: Any) -> None:
        audit.append((action, fields))

    return SimpleNamespace(settings=settings, audit=record_audit, audit_log=audit,
                           reload_channels=lambda: reloads.append(1), reloads=reloads)
