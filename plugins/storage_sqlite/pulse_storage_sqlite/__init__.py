"""Pulse plugin pulse_storage_sqlite: hook implementations; the work lives in the modules beside this one."""

from __future__ import annotations
