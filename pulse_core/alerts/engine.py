"""The alert engine: evaluates the merged state after every poll and keeps the active alerts.

``evaluate(state)`` runs the state machine of every (resource, metric) pair,
persists what changed (active alerts, resolved alerts into history) and hands
due notifications to the dispatcher's ``send_notification``. ``run()`` ticks
between polls so grouping windows close and held notifications go out when
quiet hours end even when no poll arrives.

Settings are read from the settings store section ``alerts`` and re-read when
it is saved. Machines hold no settings, so saving settings changes nothing
for an alert whose effective rule stayed the same, and acknowledgements stay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import trio
from pydantic import ValidationError

from pulse_core.alerts.machine import MetricMachine
from pulse_core.alerts.noise import NoiseControl, alert_key_of
from pulse_core.alerts.rules import Observation, StateReader
from pulse_core.alerts.settings import (
    METRICS,
    SETTINGS_SECTION,
    AlertSettings,
    MetricSpec,
    Rule,
    RuleResolver,
    load_settings,
    validation_problems,
)
from pulse_core.errors import PulseError
from pulse_core.model import Alert, Notification

log = logging.getLogger(__name__)

DAY = 86_400.0
TICK_SECONDS = 1.0
# Upper bound on handing the last grouped notifications to the dispatcher at shutdown.
SHUTDOWN_FLUSH_SECONDS = 5.0
# Storage key of the noise control's timings and queued notifications.
NOISE_STATE_KEY = "alerts.noise"
_RESOURCE_LABELS = {
    "guest": "Guest", "node": "Node", "storage": "Storage", "datastore": "Datastore", "pbs": "PBS",
    "physical_disk": "Disk", "ceph": "Ceph cluster", "replication": "Replication job",
}


@dataclass(slots=True)
class AlertEvent:
    """A transition of one alert: it fired or resolved."""

    event: Literal["alert", "resolved", "flapping", "escalated"]
    alert: Alert


class AlertEngine:
    """Keeps the active alerts and turns state changes into ``AlertEvent``s and notifications."""

    def __init__(self, settings: Any, storage: Any, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.storage = storage
        self.clock = clock
        self.active: dict[str, Alert] = {}
        self.config: AlertSettings = self._read_settings(settings.get(SETTINGS_SECTION, {}))
        self.noise = NoiseControl()
        self.noise.settings = self.config.noise
        self._machines: dict[str, MetricMachine] = {}
        self._resolver: RuleResolver | None = None
        self._by_key: dict[str, Alert] = {}
        self._first_seen: dict[str, float] = {}
        self._lock = trio.Lock()
        self._active_dirty = False
        self._history_queue: list[Alert] = []
        self._send: Callable[[Notification], Any] | None = None
        settings.subscribe(self._on_settings_saved, SETTINGS_SECTION)

    # --- settings ------------------------------------------------------------------------------

    @staticmethod
    def _read_settings(raw: Any) -> AlertSettings:
        try:
            return load_settings(raw)
        except ValidationError as exc:
            log.error(
                "Stored alert settings are invalid, using defaults until they are saved again: %s",
                "; ".join(validation_problems(exc)),
            )
            return AlertSettings()

    def _on_settings_saved(self, section: str, value: Any) -> None:
        # Runs in the thread that saved the settings; replacing the reference is atomic.
        self.config = self._read_settings(value)
        self.noise.settings = self.config.noise

    def attach_dispatcher(self, dispatcher: Any) -> None:
        """Send notifications through ``dispatcher.send_notification(notification)``."""
        self._send = dispatcher.send_notification

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the alerts that were active when Pulse stopped; they continue as they were."""
        alerts = await self.storage.load_active_alerts()
        self.active = {alert.id: alert for alert in alerts}
        self._by_key = {alert_key_of(alert): alert for alert in alerts}
        for key in self._by_key:
            machine = MetricMachine()
            machine.restore_firing()
            self._machines[key] = machine
        if alerts:
            log.info("Restored %d active alerts", len(alerts))
        try:
            self.noise.restore(await self.storage.get_value(NOISE_STATE_KEY), self.active)
        except PulseError:
            log.exception("Failed to load the alert notification timings; starting without them")

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Close grouping windows and release held notifications between polls.

        On cancellation (shutdown) the open grouping window is sent at once, so
        its notifications reach the dispatcher's persistent queue.
        """
        task_status.started()
        try:
            while True:
                await trio.sleep(TICK_SECONDS)
                await self.tick()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(SHUTDOWN_FLUSH_SECONDS):
                async with self._lock:
                    for notification in self.noise.flush_all(self.clock()):
                        await self._deliver(notification)
                    await self._flush(self.clock())

    async def tick(self) -> None:
        async with self._lock:
            await self._flush(self.clock())

    # --- evaluation ----------------------------------------------------------------------------

    async def evaluate(self, state: Any) -> list[AlertEvent]:
        """Evaluate every rule against ``state``, persist changes and send due notifications."""
        async with self._lock:
            now = self.clock()
            events = self._evaluate(state, now)
            await self._flush(now)
            return events

    def _evaluate(self, state: Any, now: float) -> list[AlertEvent]:
        if self._resolver is None or self._resolver.settings is not self.config:
            self._resolver = RuleResolver(self.config)
        resolver = self._resolver
        self.noise.settings = self.config.noise
        events: list[AlertEvent] = []
        seen: set[str] = set()
        for observation in StateReader(now, self._first_seen).observations(state):
            seen.add(observation.key)
            if observation.value is None and observation.key not in self._machines:
                continue  # unknown and nothing in progress: no rule can start from it
            spec = METRICS[(observation.resource_type, observation.metric)]
            rule = resolver.rule(
                observation.resource_type, observation.metric, observation.resource_id, observation.tags
            )
            event = self._observe(observation, spec, rule, now)
            if event is not None:
                events.append(event)
        events.extend(self._resolve_vanished(state, seen, now))
        self._forget_vanished_guests(state)
        return events

    def _forget_vanished_guests(self, state: Any) -> None:
        """Drop first-seen times of guests no longer in the state, so guest churn cannot grow the map."""
        guests = state.all("guests")
        if len(self._first_seen) <= len(guests):
            return
        present = {guest.id for guest in guests}
        self._first_seen = {guest: seen for guest, seen in self._first_seen.items() if guest in present}

    def _observe(self, observation: Observation, spec: MetricSpec, rule: Rule, now: float) -> AlertEvent | None:
        key = observation.key
        machine = self._machines.get(key)
        if machine is None:
            if not rule.enabled or observation.value is None or observation.value < rule.trigger:
                return None
            machine = self._machines[key] = MetricMachine()
        transition = machine.observe(observation.value, rule, now, observation.poll_marker)
        event: AlertEvent | None = None
        if transition == "fired":
            alert = self._new_alert(observation, spec, rule, now)
            self.active[alert.id] = alert
            self._by_key[key] = alert
            self._active_dirty = True
            self.noise.fired(alert, now)
            event = AlertEvent("alert", alert)
            log.info("Alert fired: %s", alert.message)
        elif transition == "resolved":
            event = self._resolve(key, now, "cleared" if rule.enabled else "disabled")
        elif observation.value is not None and (alert := self._by_key.get(key)) is not None:
            self._update_alert(alert, observation, spec, rule, now)
        if machine.phase == "ok":
            del self._machines[key]
        return event

    def _resolve_vanished(self, state: Any, seen: set[str], now: float) -> list[AlertEvent]:
        """Resolve alerts of resources that a healthy connection no longer reports (deleted guests)."""
        events = []
        for key in [key for key in self._machines if key not in seen]:
            alert = self._by_key.get(key)
            if alert is None:
                del self._machines[key]  # pending only: start over if it comes back
                continue
            current = state.instances.get(alert.instance) if alert.instance else None
            health = getattr(current, "health", None)
            if current is None or health is None or not health.healthy:
                continue  # not polled yet or unreachable: unknown, so keep the alert
            del self._machines[key]
            event = self._resolve(key, now, "resource removed")
            if event is not None:
                events.append(event)
        return events

    def _resolve(self, key: str, now: float, reason: str) -> AlertEvent | None:
        alert = self._by_key.pop(key, None)
        if alert is None:
            return None
        self.active.pop(alert.id, None)
        alert.resolved_time = now
        alert.metadata["resolvedReason"] = reason
        self._active_dirty = True
        self._history_queue.append(alert)
        self.noise.resolved(alert, now)
        log.info("Alert resolved (%s): %s", reason, alert.message)
        return AlertEvent("resolved", alert)

    def _new_alert(self, observation: Observation, spec: MetricSpec, rule: Rule, now: float) -> Alert:
        value = observation.value if observation.value is not None else 0.0
        start_ms = int(now * 1000)
        return Alert(
            id=f"{observation.key.replace('/', '-')}-{start_ms}",
            type=observation.metric,
            level=rule.level_for(value),
            resource_id=observation.resource_id,
            resource_name=observation.resource_name,
            resource_type=observation.resource_type,
            node=observation.node,
            instance=observation.instance,
            message=_message(observation, spec, rule, value),
            value=None if spec.kind == "condition" else round(value, 2),
            threshold=None if spec.kind == "condition" else rule.trigger,
            start_time=now,
            last_seen=now,
            metadata={"key": observation.key, "category": spec.category, **observation.detail},
        )

    def _update_alert(self, alert: Alert, observation: Observation, spec: MetricSpec, rule: Rule, now: float) -> None:
        value = observation.value if observation.value is not None else 0.0
        alert.last_seen = now
        alert.node = observation.node
        alert.resource_name = observation.resource_name
        if spec.kind != "condition":
            alert.value = round(value, 2)
        # The level only rises within an episode: warning to critical keeps the alert (same id and
        # start) and is notified as news, while falling back to warning changes nothing.
        if alert.level == "warning" and rule.level_for(value) == "critical":
            alert.level = "critical"
            alert.message = _message(observation, spec, rule, value)
            self._active_dirty = True
            self.noise.raised(alert, now)
            log.info("Alert raised to critical: %s", alert.message)

    # --- persistence and delivery --------------------------------------------------------------

    async def _flush(self, now: float) -> None:
        for notification in self.noise.due(now, self.active.values()):
            await self._deliver(notification)
        if self.noise.dirty:
            self.noise.dirty = False
            try:
                await self.storage.set_value(NOISE_STATE_KEY, self.noise.snapshot())
            except PulseError:
                self.noise.dirty = True
                log.exception("Failed to save the alert notification timings; retrying after the next poll")
        if self._active_dirty:
            try:
                await self.storage.save_active_alerts(list(self.active.values()))
                self._active_dirty = False
            except PulseError:
                log.exception("Failed to save %d active alerts; retrying after the next poll", len(self.active))
        while self._history_queue:
            alert = self._history_queue[0]
            try:
                await self.storage.append_alert_history(alert)
            except PulseError:
                log.exception("Failed to write alert %s to the history; retrying after the next poll", alert.id)
                break
            self._history_queue.pop(0)

    async def _deliver(self, notification: Notification) -> None:
        if self._send is None:
            log.warning("No notification dispatcher attached; dropping notification %r", notification.title)
            return
        try:
            await self._send(notification)
        except PulseError:
            log.exception("Failed to hand notification %r to the dispatcher", notification.title)
        # Notified flags live in alert metadata, so they must be persisted with the alerts.
        self._active_dirty = True

    # --- acknowledgement -----------------------------------------------------------------------

    async def acknowledge(self, ids: Iterable[str], user: str | None = None) -> list[str]:
        """Acknowledge active alerts by id; return the ids that are not active."""
        async with self._lock:
            now = self.clock()
            missing = []
            for alert_id in ids:
                alert = self.active.get(alert_id)
                if alert is None:
                    missing.append(alert_id)
                    continue
                if not alert.acknowledged:
                    alert.acknowledged, alert.ack_user, alert.ack_time = True, user, now
                    self._active_dirty = True
            await self._flush(now)
            return missing

    async def unacknowledge(self, ids: Iterable[str]) -> list[str]:
        """Clear the acknowledgement of active alerts by id; return the ids that are not active."""
        async with self._lock:
            missing = []
            for alert_id in ids:
                alert = self.active.get(alert_id)
                if alert is None:
                    missing.append(alert_id)
                    continue
                if alert.acknowledged:
                    alert.acknowledged, alert.ack_user, alert.ack_time = False, None, None
                    self._active_dirty = True
            await self._flush(self.clock())
            return missing

    # --- history -------------------------------------------------------------------------------

    async def history(self, limit: int = 1000) -> list[Alert]:
        """Return resolved alerts inside the retention window, newest first as storage returns them."""
        since = self.clock() - self.config.history_days * DAY
        # NOTE: older entries are only hidden here; deleting them is up to the storage backend's prune().
        return await self.storage.query_alert_history(since=since, limit=limit)

    async def clear_history(self) -> None:
        async with self._lock:
            self._history_queue.clear()
            await self.storage.clear_alert_history()

    def statistics(self) -> dict[str, int]:
        return {"active": len(self.active), "tracked": len(self._machines), **self.noise.statistics()}


def _message(observation: Observation, spec: MetricSpec, rule: Rule, value: float) -> str:
    subject = f"{_RESOURCE_LABELS.get(observation.resource_type, observation.resource_type)} {observation.resource_name}"
    if spec.kind == "condition":
        job = observation.detail.get("job")
        reason = observation.detail.get("reason")
        if job:
            suffix = f" (job {job}: {observation.detail.get('lastResult')})"
        elif reason:
            suffix = f" ({reason})"
        else:
            suffix = ""
        return f"{subject}: {spec.label}{suffix}"
    if spec.kind == "age":
        return f"{subject}: {spec.label} {value:.1f} days (limit {rule.trigger:g} days)"
    return f"{subject}: {spec.label} at {value:.1f}% (threshold {rule.trigger:g}%)"
