"""One apprise URL as a notifier channel."""

from __future__ import annotations

import logging
from typing import Any

import apprise
import trio

from pulse_core.model import DeliveryResult, Notification
from pulse_core.notify.redact import scrub

from pulse_notify_apprise.config import AppriseTarget, load_targets, private_url, url_secrets

log = logging.getLogger(__name__)

MAX_REPORTED_CHARS = 2000


def notify_type(notification: Notification) -> Any:
    if notification.event == "resolved":
        return apprise.NotifyType.SUCCESS
    if notification.event == "test":
        return apprise.NotifyType.INFO
    if any(alert.level == "critical" for alert in notification.alerts):
        return apprise.NotifyType.FAILURE
    return apprise.NotifyType.WARNING


def body_text(notification: Notification) -> str:
    lines = []
    for alert in notification.alerts:
        state = "RESOLVED" if notification.event == "resolved" else alert.level.upper()
        where = ", ".join(dict.fromkeys(part for part in (alert.node, alert.instance) if part))
        lines.append(f"[{state}] {alert.resource_name}{f' ({where})' if where else ''}: {alert.message}")
    return "\n".join(lines) or notification.title


class AppriseNotifier:
    """Sends through apprise in a worker thread; apprise reports only success or failure."""

    def __init__(self, target: AppriseTarget) -> None:
        self.target = target
        self.id = f"apprise:{target.id}"
        self._secrets = url_secrets(target.url)

    def _send_sync(self, notification: Notification) -> DeliveryResult:
        client = apprise.Apprise()
        if not client.add(self.target.url):
            return DeliveryResult(ok=False, error=f"apprise cannot use the URL of {self.target.name}", retryable=False)
        # apprise logs why a delivery failed (status code, service reply); capture that for the result.
        with apprise.LogCapture(level=logging.INFO) as captured:
            ok = client.notify(body=body_text(notification), title=notification.title, notify_type=notify_type(notification))
            output = captured.getvalue()
        text = scrub(output.strip(), self._secrets)[-MAX_REPORTED_CHARS:]
        if ok:
            return DeliveryResult(ok=True, response=text)
        last_line = text.splitlines()[-1] if text else "apprise reported a failure without details"
        # apprise does not say whether the failure may pass, so the dispatcher retries it.
        shown_url = scrub(private_url(self.target.url), self._secrets)
        return DeliveryResult(ok=False, response=text, error=f"apprise target {self.target.name} ({shown_url}) failed: {last_line}")

    async def send(self, notification: Notification) -> DeliveryResult:
        return await trio.to_thread.run_sync(self._send_sync, notification, abandon_on_cancel=True)


class AppriseNotifierType:
    name = "apprise"

    def channels(self, settings: Any) -> list[AppriseNotifier]:
        return [AppriseNotifier(target) for target in load_targets(settings) if target.enabled]
