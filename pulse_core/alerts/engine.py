"""Evaluates the merged state after every poll and emits alert events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pulse_core.model import Alert

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AlertEvent:
    """A change the notification dispatcher may deliver."""

    event: Literal["alert", "resolved", "flapping", "escalated"]
    alert: Alert


class AlertEngine:
    """Holds active alerts and turns state changes into ``AlertEvent``s."""

    def __init__(self, settings: Any, storage: Any, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.storage = storage
        self.clock = clock
        self.active: dict[str, Alert] = {}

    async def start(self) -> None:
        self.active = {alert.id: alert for alert in await self.storage.load_active_alerts()}

    def evaluate(self, state: Any) -> list[AlertEvent]:
        # TODO: thresholds, hysteresis and delays are being built; nothing fires yet.
        return []
