"""Conversion of notifications to and from the JSON-safe form stored in the delivery queue."""

from __future__ import annotations

import dataclasses
from typing import Any

from pulse_core.model import Alert, Notification

_ALERT_FIELDS = {item.name for item in dataclasses.fields(Alert)}


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "event": notification.event,
        "title": notification.title,
        "created": notification.created,
        "alerts": [dataclasses.asdict(alert) for alert in notification.alerts],
    }


def notification_from_dict(data: dict[str, Any]) -> Notification:
    """Rebuild a notification; alert keys unknown to this version are ignored."""
    alerts = [Alert(**{key: value for key, value in item.items() if key in _ALERT_FIELDS}) for item in data.get("alerts", [])]
    return Notification(
        id=str(data["id"]),
        event=data["event"],
        alerts=alerts,
        title=str(data.get("title", "")),
        created=float(data.get("created", 0.0)),
    )
