"""The state machine of one (resource, metric) pair.

    ok ──value ≥ trigger──▶ pending ──held for the delay and enough polls──▶ firing
    ▲                          │                                               │ value < clear
    └──value < trigger─────────┘                                               ▼
    ▲                                                    firing ◀──value ≥ clear── clearing
    └──────────────────── resolved ◀──held below clear for the delay───────────┘

An unknown value (``None``) changes nothing: it neither starts, fires, clears
nor resolves, and it does not count as a poll. The machine stores no settings.
Each step receives the effective ``Rule``, so saving settings never changes an
alert whose rule did not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pulse_core.alerts.settings import Rule

Phase = Literal["ok", "pending", "firing", "clearing"]
Transition = Literal["fired", "resolved"]


@dataclass(slots=True)
class MetricMachine:
    phase: Phase = "ok"
    # When the current pending or clearing phase started.
    since: float = 0.0
    # Consecutive polls with a bad value in the pending phase.
    bad_polls: int = 0
    last_marker: Any = None

    @property
    def active(self) -> bool:
        """True while an alert exists (firing, or firing and waiting to clear)."""
        return self.phase in ("firing", "clearing")

    def restore_firing(self) -> None:
        """Continue an alert loaded from storage after a restart."""
        self.phase = "firing"
        self.bad_polls = 0

    def observe(self, value: float | None, rule: Rule, now: float, marker: Any = None) -> Transition | None:
        """Feed one observation; return the transition it caused, if any."""
        if not rule.enabled:
            return self.reset()
        if value is None:
            return None
        new_poll = marker is None or marker != self.last_marker
        self.last_marker = marker

        if self.phase == "ok":
            if value < rule.trigger:
                return None
            self.phase, self.since, self.bad_polls = "pending", now, 1
        elif self.phase == "pending":
            if value < rule.trigger:
                self.phase, self.bad_polls = "ok", 0
                return None
            if new_poll:
                self.bad_polls += 1
        elif self.phase == "firing":
            if value >= rule.clear:
                return None
            self.phase, self.since = "clearing", now
        elif self.phase == "clearing" and value >= rule.clear:
            self.phase = "firing"
            return None

        if self.phase == "pending" and self.bad_polls >= rule.polls and now - self.since >= rule.delay:
            self.phase, self.bad_polls = "firing", 0
            return "fired"
        if self.phase == "clearing" and now - self.since >= rule.delay:
            self.phase = "ok"
            return "resolved"
        return None

    def reset(self) -> Transition | None:
        """Return to ok at once (metric disabled, resource gone); "resolved" when an alert was active."""
        was_active = self.active
        self.phase, self.bad_polls = "ok", 0
        return "resolved" if was_active else None
