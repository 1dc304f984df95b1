"""The alerts engine: thresholds, hysteresis, delays, overrides, acknowledgement, noise control."""

from pulse_core.alerts.engine import AlertEngine, AlertEvent

__all__ = ["AlertEngine", "AlertEvent"]
