"""Notification delivery: the persistent queue with retries, payload templates and URL redaction."""

from pulse_core.notify.dispatcher import NotificationDispatcher

__all__ = ["NotificationDispatcher"]
