"""Notification dispatch: grouping, the persistent delivery queue and retries."""

from pulse_core.notify.dispatcher import NotificationDispatcher

__all__ = ["NotificationDispatcher"]
