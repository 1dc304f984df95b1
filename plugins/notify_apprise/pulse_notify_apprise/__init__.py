"""Pulse plugin pulse_notify_apprise: notifications to any service apprise supports, by URL.

Settings live in the settings-store section ``notifications_apprise`` (a list
of targets; each ``url`` is encrypted at rest and shown redacted by the API).
"""

from __future__ import annotations

from typing import Any

from pulse_core import hookimpl
from pulse_core.notify.redact import install_log_filters

from pulse_notify_apprise.channel import AppriseNotifier, AppriseNotifierType

__all__ = ["AppriseNotifier", "AppriseNotifierType"]

# apprise and the requests/urllib3 stack below it log request targets.
install_log_filters()


@hookimpl
def pulse_notifier_types() -> list[Any]:
    return [AppriseNotifierType()]


@hookimpl
def pulse_blueprints(context: Any) -> list[Any]:
    from pulse_notify_apprise.routes import create_blueprint

    return [create_blueprint(context)]
