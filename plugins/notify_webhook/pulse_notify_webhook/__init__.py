"""Pulse plugin pulse_notify_webhook: webhooks with service presets, templates and signing.

Settings live in the settings-store section ``notifications_webhooks`` (a list
of webhooks; URLs, headers and tokens are encrypted at rest).
"""

from __future__ import annotations

from typing import Any

from pulse_core import hookimpl
from pulse_core.notify.redact import install_log_filters

from pulse_notify_webhook.channel import WebhookNotifier, WebhookNotifierType

__all__ = ["WebhookNotifier", "WebhookNotifierType"]

# httpx logs each request URL at INFO; webhook URLs carry secrets.
install_log_filters()


@hookimpl
def pulse_notifier_types() -> list[Any]:
    return [WebhookNotifierType()]


@hookimpl
def pulse_blueprints(context: Any) -> list[Any]:
    from pulse_notify_webhook.routes import create_blueprint

    return [create_blueprint(context)]
