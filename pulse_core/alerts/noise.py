"""Noise control between alert transitions and notifications.

Decides which firing and resolved alerts become notifications, and when:

* cooldown: a key (resource and metric) that was notified is not notified again
  for ``cooldown_minutes``;
* rate cap: at most ``max_notifications_per_hour`` firing notifications per resource;
* flapping: ``changes`` transitions of one key inside ``window_minutes`` send one
  "flapping" notice, then the key stays quiet for ``quiet_minutes``. When the
  quiet time ends, the receivers get the key's current state;
* grouping: everything queued within ``grouping_window_seconds`` of the first
  item goes out together, one ``Notification`` per event kind;
* quiet hours: warnings, and criticals of categories marked in ``hold_critical``,
  are held and queued when the quiet hours end;
* escalation: an alert still firing and unacknowledged after ``after_minutes``
  is notified once more;
* level rise: a notified warning that becomes critical within its episode is
  notified again at once, past the cooldown, because the level is news. A warning
  still held for quiet hours is released when its new level is not held.

A "resolved" is only ever sent for an alert whose firing notification was sent
(``metadata["notified"]``), so receivers never see a resolve without its firing.
Acknowledged alerts are never notified again, apart from their "resolved".
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time as time_of_day
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pulse_core.alerts.settings import METRICS, NoiseSettings, QuietHours
from pulse_core.model import Alert, Notification

log = logging.getLogger(__name__)

HOUR = 3600.0
# Seconds between sweeps of the per-key timing maps (cooldowns, hourly counts, flapping changes).
PRUNE_INTERVAL = 60.0
SNAPSHOT_VERSION = 1
OutgoingEvent = Literal["alert", "resolved", "flapping", "escalated"]


@dataclass(slots=True)
class _Item:
    event: OutgoingEvent
    alert: Alert


def alert_key_of(alert: Alert) -> str:
    return str(alert.metadata.get("key") or alert.id)


def category_of(alert: Alert) -> str:
    spec = METRICS.get((alert.resource_type, alert.type))
    return spec.category if spec is not None else "performance"


def in_quiet_hours(quiet: QuietHours, now: float) -> bool:
    if not quiet.enabled:
        return False
    local = datetime.fromtimestamp(now, ZoneInfo(quiet.timezone)).time()
    start = time_of_day.fromisoformat(quiet.start)
    end = time_of_day.fromisoformat(quiet.end)
    if start < end:
        return start <= local < end
    return local >= start or local < end


class NoiseControl:
    """Turns fired/resolved alerts into grouped notifications; all times are epoch seconds passed in.

    Cooldowns, hourly counts, flapping counters and queued or held notifications
    are plain data: ``snapshot()`` returns them and ``restore()`` takes them back,
    so the engine keeps them across restarts; ``dirty`` is set when they change.
    """

    def __init__(self) -> None:
        self.settings = NoiseSettings()
        self._buffer: list[_Item] = []
        self._window_opened: float | None = None
        self._held: list[_Item] = []
        self._last_notified: dict[str, float] = {}
        self._sent_per_resource: dict[str, deque[float]] = {}
        self._changes: dict[str, deque[float]] = {}
        self._flapping_until: dict[str, float] = {}
        # Notified alerts whose "resolved" fell into their key's flapping quiet time.
        self._unsent_resolved: dict[str, Alert] = {}
        self._last_prune: float | None = None
        self.dirty = False

    # --- input ---------------------------------------------------------------------------------

    def fired(self, alert: Alert, now: float) -> None:
        key = alert_key_of(alert)
        self.dirty = True
        if self._record_change(key, alert, now):
            return
        last = self._last_notified.get(key)
        if last is not None and now - last < self.settings.cooldown_minutes * 60:
            alert.metadata["suppressed"] = "cooldown"
            log.info("Alert %s fired within the cooldown of its last notification; not notifying", alert.id)
            return
        sent = self._sent_per_resource.setdefault(alert.resource_id, deque())
        while sent and now - sent[0] >= HOUR:
            sent.popleft()
        if len(sent) >= self.settings.max_notifications_per_hour:
            alert.metadata["suppressed"] = "rate_limit"
            log.warning(
                "Resource %s reached %d notifications in the last hour; alert %s is not notified",
                alert.resource_id, len(sent), alert.id,
            )
            return
        sent.append(now)
        self._last_notified[key] = now
        self._queue(_Item("alert", alert), now)

    def resolved(self, alert: Alert, now: float) -> None:
        key = alert_key_of(alert)
        self.dirty = True
        if self._drop_unsent_firing(alert):
            self._record_change(key, alert, now)
            return
        if not alert.metadata.get("notified"):
            self._record_change(key, alert, now)
            return
        if self._record_change(key, alert, now):
            self._unsent_resolved[key] = alert
            return
        self._queue(_Item("resolved", alert), now)

    def raised(self, alert: Alert, now: float) -> None:
        """Tell receivers that ``alert`` (already critical) rose from warning within its episode."""
        key = alert_key_of(alert)
        self.dirty = True
        if alert.acknowledged or alert.resolved_time is not None:
            return
        flapping_until = self._flapping_until.get(key)
        if flapping_until is not None and now < flapping_until:
            return
        held = [item for item in self._held if item.alert.id == alert.id]
        if held:
            # The warning never went out; the held firing now carries the critical level.
            if not self._must_hold(alert, now):
                self._held = [item for item in self._held if item.alert.id != alert.id]
                self._queue(_Item("alert", alert), now)
            return
        if not alert.metadata.get("notified"):
            return  # still in the grouping window (it goes out as critical) or suppressed
        alert.metadata["raised"] = now
        self._last_notified[key] = now
        self._queue(_Item("alert", alert), now)

    def _drop_unsent_firing(self, alert: Alert) -> bool:
        """Remove a firing of ``alert`` still waiting in the window or in quiet hours."""
        found = False
        for items in (self._buffer, self._held):
            for item in list(items):
                if item.alert.id == alert.id and item.event in ("alert", "escalated"):
                    items.remove(item)
                    found = True
        return found and not alert.metadata.get("notified")

    def _record_change(self, key: str, alert: Alert, now: float) -> bool:
        """Count one transition; return True when the key is (now) flapping and must stay quiet."""
        flapping = self.settings.flapping
        if not flapping.enabled:
            return False
        until = self._flapping_until.get(key)
        if until is not None and now < until:
            return True
        changes = self._changes.setdefault(key, deque())
        changes.append(now)
        while changes and now - changes[0] > flapping.window_minutes * 60:
            changes.popleft()
        if len(changes) < flapping.changes:
            return False
        self._flapping_until[key] = now + flapping.quiet_minutes * 60
        changes.clear()
        log.warning("Alert %s is flapping; notifications paused for %.0f minutes", key, flapping.quiet_minutes)
        self._queue(_Item("flapping", alert), now)
        return True

    # --- output --------------------------------------------------------------------------------

    def _queue(self, item: _Item, now: float) -> None:
        self.dirty = True
        if self._must_hold(item.alert, now):
            self._held.append(item)
            return
        if not self._buffer:
            self._window_opened = now
        self._buffer.append(item)

    def _must_hold(self, alert: Alert, now: float) -> bool:
        quiet = self.settings.quiet_hours
        if not in_quiet_hours(quiet, now):
            return False
        if alert.level == "warning":
            return True
        return bool(getattr(quiet.hold_critical, category_of(alert), False))

    def due(self, now: float, active: Iterable[Alert]) -> list[Notification]:
        """Return the notifications due at ``now``; ``active`` is every active alert."""
        active = list(active)
        self._prune(now)
        self._release_held(now)
        self._end_flapping(now, active)
        self._escalate(now, active)
        if not self._buffer or self._window_opened is None:
            return []
        if now - self._window_opened < self.settings.grouping_window_seconds:
            return []
        items, self._buffer, self._window_opened = self._buffer, [], None
        self.dirty = True
        return self._build(items, now)

    def flush_all(self, now: float) -> list[Notification]:
        """Return everything in the grouping window at once (shutdown); held items stay held."""
        items, self._buffer, self._window_opened = self._buffer, [], None
        self.dirty = True
        return self._build(items, now)

    def _release_held(self, now: float) -> None:
        if not self._held or in_quiet_hours(self.settings.quiet_hours, now):
            return
        held, self._held = self._held, []
        log.info("Quiet hours ended; queueing %d held notifications", len(held))
        for item in held:
            self._queue(item, now)

    def _end_flapping(self, now: float, active: list[Alert]) -> None:
        ended = [key for key, until in self._flapping_until.items() if now >= until]
        for key in ended:
            self.dirty = True
            del self._flapping_until[key]
            resolved = self._unsent_resolved.pop(key, None)
            if resolved is not None:
                self._queue(_Item("resolved", resolved), now)
            for alert in active:
                if alert_key_of(alert) == key and not alert.metadata.get("notified") and not alert.acknowledged:
                    alert.metadata.pop("suppressed", None)
                    self._last_notified[key] = now
                    self._queue(_Item("alert", alert), now)

    def _prune(self, now: float) -> None:
        """Drop timings that can no longer suppress anything, so these maps hold only recent keys.

        Entries go once they are older than the current cooldown, the hour of the
        rate cap or the flapping window. NOTE: a cooldown raised later does not
        bring back the entries pruned under the shorter one.
        """
        if self._last_prune is not None and now - self._last_prune < PRUNE_INTERVAL:
            return
        self._last_prune = now
        self.dirty = True
        cooldown = self.settings.cooldown_minutes * 60
        self._last_notified = {key: at for key, at in self._last_notified.items() if now - at < cooldown}
        for resource, sent in list(self._sent_per_resource.items()):
            while sent and now - sent[0] >= HOUR:
                sent.popleft()
            if not sent:
                del self._sent_per_resource[resource]
        window = self.settings.flapping.window_minutes * 60
        for key, changes in list(self._changes.items()):
            while changes and now - changes[0] > window:
                changes.popleft()
            if not changes:
                del self._changes[key]

    def _escalate(self, now: float, active: list[Alert]) -> None:
        escalation = self.settings.escalation
        if not escalation.enabled:
            return
        for alert in active:
            if alert.acknowledged or not alert.metadata.get("notified") or alert.metadata.get("escalated"):
                continue
            if now - alert.start_time < escalation.after_minutes * 60:
                continue
            alert.metadata["escalated"] = now
            self._queue(_Item("escalated", alert), now)

    def _build(self, items: list[_Item], now: float) -> list[Notification]:
        by_event: dict[OutgoingEvent, list[Alert]] = {}
        for item in items:
            alert = item.alert
            if item.event in ("alert", "escalated"):
                # Acknowledged or already resolved before the window closed: nothing to tell.
                if alert.acknowledged or alert.resolved_time is not None:
                    continue
                alert.metadata["notified"] = True
            elif item.event == "resolved":
                if not alert.metadata.get("notified"):
                    continue
                alert.metadata["notified"] = False
            bucket = by_event.setdefault(item.event, [])
            if all(existing.id != alert.id for existing in bucket):
                bucket.append(alert)
        notifications = []
        for event, alerts in by_event.items():
            notifications.append(Notification(
                id=uuid.uuid4().hex,
                # Escalations go out as firing alerts, marked by ``metadata["escalated"]``.
                event="alert" if event == "escalated" else event,
                alerts=alerts,
                title=_title(event, alerts),
                created=now,
            ))
        return notifications

    # --- persistence ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return the timing maps and pending notifications as JSON-ready data."""
        return {
            "version": SNAPSHOT_VERSION,
            "buffer": [_item_to_dict(item) for item in self._buffer],
            "windowOpened": self._window_opened,
            "held": [_item_to_dict(item) for item in self._held],
            "lastNotified": dict(self._last_notified),
            "sentPerResource": {resource: list(times) for resource, times in self._sent_per_resource.items()},
            "changes": {key: list(times) for key, times in self._changes.items()},
            "flappingUntil": dict(self._flapping_until),
            "unsentResolved": {key: dataclasses.asdict(alert) for key, alert in self._unsent_resolved.items()},
        }

    def restore(self, data: Any, active: Mapping[str, Alert]) -> None:
        """Take back a ``snapshot()``; queued items of still-active alerts share those alert objects.

        A snapshot of another version or shape is ignored with a warning. Without
        it a notification may repeat or a held one is lost, but alerting starts.
        """
        if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
            if data is not None:
                log.warning("Ignoring stored alert notification timings of an unknown format")
            return
        try:
            buffer = [_item_from_dict(item, active) for item in data.get("buffer", [])]
            held = [_item_from_dict(item, active) for item in data.get("held", [])]
            last_notified = {str(key): float(at) for key, at in data.get("lastNotified", {}).items()}
            sent = {str(res): deque(float(at) for at in times) for res, times in data.get("sentPerResource", {}).items()}
            changes = {str(key): deque(float(at) for at in times) for key, times in data.get("changes", {}).items()}
            flapping = {str(key): float(until) for key, until in data.get("flappingUntil", {}).items()}
            unsent = {str(key): _alert_from_dict(value) for key, value in data.get("unsentResolved", {}).items()}
            window = data.get("windowOpened")
            window_opened = float(window) if window is not None else None
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            log.warning("Ignoring stored alert notification timings: %s", exc)
            return
        self._buffer, self._held = buffer, held
        self._window_opened = window_opened if buffer else None
        self._last_notified, self._sent_per_resource, self._changes = last_notified, sent, changes
        self._flapping_until, self._unsent_resolved = flapping, unsent
        self.dirty = False
        if buffer or held:
            log.info("Restored %d queued and %d held alert notifications", len(buffer), len(held))

    def statistics(self) -> dict[str, int]:
        return {
            "buffered": len(self._buffer),
            "held": len(self._held),
            "flapping": len(self._flapping_until),
            "tracked_keys": len(self._last_notified) + len(self._changes),
            "tracked_resources": len(self._sent_per_resource),
        }


def _alert_from_dict(data: Mapping[str, Any]) -> Alert:
    known = {item.name for item in dataclasses.fields(Alert)}
    return Alert(**{key: value for key, value in data.items() if key in known})


def _item_to_dict(item: _Item) -> dict[str, Any]:
    return {"event": item.event, "alert": dataclasses.asdict(item.alert)}


def _item_from_dict(data: Mapping[str, Any], active: Mapping[str, Alert]) -> _Item:
    event = data["event"]
    if event not in ("alert", "resolved", "flapping", "escalated"):
        raise ValueError(f"unknown notification event {event!r}")
    stored = data["alert"]
    # An alert still active is the same object the engine updates, so notified flags stay in step.
    alert = active.get(stored["id"]) or _alert_from_dict(stored)
    return _Item(event, alert)


def _title(event: OutgoingEvent, alerts: list[Alert]) -> str:
    if len(alerts) == 1:
        alert = alerts[0]
        prefix = {"alert": "", "resolved": "Resolved: ", "flapping": "Flapping: ", "escalated": "Escalated: "}[event]
        return f"{prefix}{alert.message}"
    verb = {"alert": "firing", "resolved": "resolved", "flapping": "flapping", "escalated": "escalated"}[event]
    return f"{len(alerts)} alerts {verb}"
