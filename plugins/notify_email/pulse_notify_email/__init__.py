"""Pulse plugin pulse_notify_email: alert emails over SMTP (STARTTLS, implicit TLS or a plain relay).

Settings live in the settings-store section ``notifications_email``; the
password is encrypted at rest and never returned by the API.
"""

from __future__ import annotations

from typing import Any

from pulse_core import hookimpl

from pulse_notify_email.channel import EmailNotifier, EmailNotifierType

__all__ = ["EmailNotifier", "EmailNotifierType"]


@hookimpl
def pulse_notifier_types() -> list[Any]:
    return [EmailNotifierType()]


@hookimpl
def pulse_blueprints(context: Any) -> list[Any]:
    from pulse_notify_email.routes import create_blueprint

    return [create_blueprint(context)]
