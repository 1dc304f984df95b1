"""Errors of the SQLite backend, all below ``pulse_core.StorageError``."""

from __future__ import annotations

from pulse_core import StorageError


class CorruptBlockError(StorageError):
    """A stored metric blob does not decode; the database was changed outside Pulse or damaged."""
