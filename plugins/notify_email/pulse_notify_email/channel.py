"""The email notifier channel: one SMTP account, several recipients."""

from __future__ import annotations

from typing import Any

from pulse_core.model import DeliveryResult, Notification

from pulse_notify_email import smtp
from pulse_notify_email.config import EmailConfig, load_email_config
from pulse_notify_email.message import build_message


class EmailNotifier:
    """Delivers each notification as one email to every configured recipient."""

    id = "email"

    def __init__(self, config: EmailConfig, *, timeout: float = smtp.TIMEOUT_SECONDS) -> None:
        self.config = config
        self.timeout = timeout

    async def send(self, notification: Notification, recipients: list[str] | None = None) -> DeliveryResult:
        targets = recipients or self.config.to
        message = build_message(self.config, notification, targets)
        return await smtp.send(self.config, message, targets, self.timeout)


class EmailNotifierType:
    name = "email"

    def channels(self, settings: Any) -> list[EmailNotifier]:
        config = load_email_config(settings)
        if not config.enabled or not config.complete:
            return []
        return [EmailNotifier(config)]
