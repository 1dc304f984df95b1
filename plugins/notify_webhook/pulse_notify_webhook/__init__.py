"""Pulse plugin pulse_notify_webhook: hook implementations; the work lives in the modules beside this one."""

from __future__ import annotations
