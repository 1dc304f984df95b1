"""Hands notifications to notifier channels through a persistent delivery queue.

Every notification becomes one queued delivery per channel, stored before any
attempt, so pending deliveries survive a restart. The ``run`` loop delivers
what is due, one task per channel so a slow service delays only itself.
Failures that may pass (network errors, HTTP 5xx, 429, SMTP 4xx) are retried
with exponential backoff, honouring ``Retry-After``. After ``max_attempts``, or
at once for a failure that retrying cannot fix, the delivery is dead-lettered.
It stays visible in the API until someone retries it by hand.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from pulse_core.errors import NotifyError
from pulse_core.model import DeliveryResult, Notification
from pulse_core.notify import redact
from pulse_core.notify.codec import notification_from_dict, notification_to_dict
from pulse_core.protocols import Notifier, QueuedDelivery

log = logging.getLogger(__name__)

# Storage key (per alert id) of the channels that were sent the firing notification.
CHANNELS_KEY_PREFIX = "notify.channels."


@dataclass(slots=True)
class RetryPolicy:
    """When to retry a failed delivery and when to give up."""

    max_attempts: int = 8
    base_delay: float = 10.0  # seconds before the first retry; doubled on each later one
    max_delay: float = 3600.0  # seconds; also caps a server's Retry-After

    def delay(self, attempts: int, retry_after: float | None) -> float:
        """Return the seconds to wait after ``attempts`` failed attempts."""
        if retry_after is not None and retry_after >= 0:
            return min(max(retry_after, 1.0), self.max_delay)
        return min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay)


@dataclass(slots=True)
class DispatcherStats:
    """Counters for the metrics endpoint; ``queue_depth`` is refreshed by the run loop."""

    queue_depth: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0


def notification_for_event(event: Any, now: float) -> Notification:
    """Wrap one alert-engine event (with ``.event`` and ``.alert``) into a notification."""
    alert = event.alert
    kind = event.event if event.event in ("alert", "resolved", "flapping") else "alert"
    if kind == "resolved":
        title = f"Resolved: {alert.resource_name} {alert.type}"
    elif kind == "flapping":
        title = f"Flapping: {alert.resource_name} {alert.type}"
    else:
        title = f"{alert.level.capitalize()}: {alert.resource_name} {alert.type}"
    return Notification(id=f"{alert.id}:{kind}:{int(now * 1000)}", event=kind, alerts=[alert], title=title, created=now)


def describe_delivery(delivery: QueuedDelivery) -> dict[str, Any]:
    """Return the API form of a queued delivery (no secrets are stored in it)."""
    payload = delivery.payload or {}
    return {
        "id": delivery.id,
        "channelId": delivery.channel_id,
        "notificationId": payload.get("id"),
        "event": payload.get("event"),
        "title": payload.get("title"),
        "alertIds": [alert.get("id") for alert in payload.get("alerts", [])],
        "attempts": delivery.attempts,
        "nextAttempt": delivery.next_attempt,
        "status": delivery.status,
        "lastError": delivery.last_error,
        "created": delivery.created,
    }


class NotificationDispatcher:
    """Queues notifications per channel and delivers them with retries.

    ``daemon`` provides the plugin host (``daemon.plugins.notifier_types()``);
    channels are built from it on first use and again on ``reload_channels()``.
    """

    def __init__(
        self,
        storage: Any,
        settings: Any,
        daemon: Any,
        *,
        clock: Callable[[], float] = time.time,
        policy: RetryPolicy | None = None,
        send_timeout: float = 60.0,
        idle_interval: float = 1.0,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.daemon = daemon
        self.clock = clock
        self.policy = policy or RetryPolicy()
        # Upper bound on one send() call; notifiers have shorter timeouts of their own.
        self.send_timeout = send_timeout
        self.idle_interval = idle_interval
        self.channels: dict[str, Notifier] = {}
        self._channels_loaded = False
        self._busy_channels: set[str] = set()
        self._wake = trio.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self.stats = DispatcherStats()
        self._depth_stale = True
        redact.install_log_filters()
        subscribe = getattr(settings, "subscribe", None)
        if subscribe is not None:
            subscribe(self._on_settings_saved)

    def _on_settings_saved(self, section: str, value: Any) -> None:
        # Notifier sections are named "notifications_*"; an import or another
        # writer may change them without calling reload_channels() itself.
        if section.startswith("notifications") and self._token is not None:
            self._token.run_sync_soon(self.reload_channels)

    def wake(self) -> None:
        """Make the run loop look at the queue now instead of after its idle interval."""
        self._wake.set()

    # --- channels ----------------------------------------------------------------------------

    def reload_channels(self) -> None:
        """Rebuild every channel from the notifier plugins and the current settings."""
        plugins = getattr(self.daemon, "plugins", None)
        types = plugins.notifier_types() if plugins is not None else {}
        channels: dict[str, Notifier] = {}
        for name in sorted(types):
            try:
                built = types[name].channels(self.settings)
            except Exception as exc:  # a broken notifier plugin must not stop the others
                log.error("Notifier %s could not build its channels: %s", name, redact.redact_urls_in_text(str(exc)))
                continue
            for channel in built:
                if channel.id in channels:
                    log.error("Notifier %s built a second channel with the id %s; ignoring it", name, channel.id)
                    continue
                channels[channel.id] = channel
        if sorted(channels) != sorted(self.channels) or not self._channels_loaded:
            log.info("Notification channels: %s", ", ".join(sorted(channels)) or "none")
        self.channels = channels
        self._channels_loaded = True
        self._wake.set()

    def _ensure_channels(self) -> None:
        if not self._channels_loaded:
            self.reload_channels()

    # --- queueing ----------------------------------------------------------------------------

    async def submit(self, events: Sequence[Any]) -> None:
        """Queue one notification for each alert-engine event (``.event`` and ``.alert``)."""
        now = self.clock()
        for event in events:
            await self.send_notification(notification_for_event(event, now))

    async def send_notification(self, notification: Notification) -> list[str]:
        """Queue ``notification`` for its channels and return the queued delivery ids.

        A firing notification goes to every channel, which is remembered per
        alert. A resolved one goes only to the channels that were sent the
        firing one, each channel receiving only the alerts it was sent.
        """
        self._ensure_channels()
        if notification.event == "resolved":
            targets = await self._resolved_targets(notification)
        else:
            targets = {channel_id: notification for channel_id in self.channels}
            if notification.event != "test":
                await self._remember_channels(notification, list(targets))
        queued: list[str] = []
        now = self.clock()
        for channel_id, item in targets.items():
            delivery = QueuedDelivery(
                id=uuid.uuid4().hex,
                channel_id=channel_id,
                payload=notification_to_dict(item),
                attempts=0,
                next_attempt=now,
                status="pending",
                created=now,
            )
            await self.storage.enqueue_delivery(delivery)
            queued.append(delivery.id)
            self._depth_stale = True
        if not targets:
            log.debug("Notification %s (%s) has no channel to go to", notification.id, notification.event)
        self._wake.set()
        return queued

    async def _remember_channels(self, notification: Notification, channel_ids: list[str]) -> None:
        for alert in notification.alerts:
            key = CHANNELS_KEY_PREFIX + alert.id
            known = await self.storage.get_value(key) or []
            merged = sorted(set(known) | set(channel_ids))
            if merged != known:
                await self.storage.set_value(key, merged)

    async def _resolved_targets(self, notification: Notification) -> dict[str, Notification]:
        per_channel: dict[str, list[Any]] = {}
        for alert in notification.alerts:
            key = CHANNELS_KEY_PREFIX + alert.id
            for channel_id in await self.storage.get_value(key) or []:
                per_channel.setdefault(channel_id, []).append(alert)
            await self.storage.set_value(key, None)
        targets: dict[str, Notification] = {}
        for channel_id, alerts in per_channel.items():
            if channel_id not in self.channels:
                log.info("Channel %s was removed; its resolved notification %s is dropped", channel_id, notification.id)
                continue
            if len(alerts) == len(notification.alerts):
                targets[channel_id] = notification
            else:
                targets[channel_id] = Notification(
                    id=f"{notification.id}:{channel_id}",
                    event=notification.event,
                    alerts=alerts,
                    title=notification.title,
                    created=notification.created,
                )
        return targets

    # --- delivering --------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver due items until cancelled; started once the channels are built."""
        self._token = trio.lowlevel.current_trio_token()
        self._ensure_channels()
        async with trio.open_nursery() as nursery:
            task_status.started()
            while True:
                self._wake = trio.Event()
                try:
                    await self._start_due(nursery)
                    await self.refresh_stats()
                except Exception as exc:  # storage trouble: keep the loop alive and try again
                    log.error("Cannot read the notification queue: %s", exc)
                with trio.move_on_after(self.idle_interval):
                    await self._wake.wait()

    async def refresh_stats(self) -> None:
        """Recount pending deliveries for ``stats.queue_depth`` when the queue changed since the last count."""
        if self._depth_stale:
            self._depth_stale = False
            self.stats.queue_depth = len(await self.storage.list_deliveries("pending", limit=100_000))

    async def process_due(self) -> int:
        """Attempt every delivery that is due now and wait for the attempts; return how many ran."""
        self._ensure_channels()
        async with trio.open_nursery() as nursery:
            count = await self._start_due(nursery)
        return count

    async def _start_due(self, nursery: trio.Nursery) -> int:
        due = await self.storage.due_deliveries(self.clock(), limit=100)
        by_channel: dict[str, list[QueuedDelivery]] = {}
        for delivery in due:
            if delivery.channel_id in self._busy_channels:
                continue
            by_channel.setdefault(delivery.channel_id, []).append(delivery)
        for channel_id, items in by_channel.items():
            items.sort(key=lambda item: (item.next_attempt, item.created))
            self._busy_channels.add(channel_id)
            nursery.start_soon(self._deliver_channel, channel_id, items)
        return sum(len(items) for items in by_channel.values())

    async def _deliver_channel(self, channel_id: str, items: list[QueuedDelivery]) -> None:
        try:
            for delivery in items:
                await self.attempt(delivery)
        finally:
            self._busy_channels.discard(channel_id)

    async def attempt(self, delivery: QueuedDelivery) -> DeliveryResult:
        """Make one delivery attempt and store the outcome (delivered, retry later or dead)."""
        channel = self.channels.get(delivery.channel_id)
        if channel is None:
            result = DeliveryResult(ok=False, error=f"channel {delivery.channel_id} no longer exists", retryable=False)
        else:
            result = await self._send(channel, notification_from_dict(delivery.payload))
        now = self.clock()
        delivery.attempts += 1
        self._depth_stale = True
        if result.ok:
            self.stats.sent += 1
            delivery.status = "delivered"
            delivery.last_error = None
            log.info("Delivered notification %s to %s (attempt %d)", delivery.payload.get("id"), delivery.channel_id, delivery.attempts)
        else:
            self.stats.failed += 1
            delivery.last_error = _describe_failure(result)
            if not result.retryable or delivery.attempts >= self.policy.max_attempts:
                self.stats.dead += 1
                delivery.status = "dead"
                log.error(
                    "Gave up delivering notification %s to %s after %d attempts: %s",
                    delivery.payload.get("id"), delivery.channel_id, delivery.attempts, delivery.last_error,
                )
            else:
                wait = self.policy.delay(delivery.attempts, result.retry_after)
                delivery.next_attempt = now + wait
                log.warning(
                    "Delivering notification %s to %s failed (attempt %d of %d), retrying in %.0f s: %s",
                    delivery.payload.get("id"), delivery.channel_id, delivery.attempts,
                    self.policy.max_attempts, wait, delivery.last_error,
                )
        await self.storage.update_delivery(delivery)
        return result

    async def _send(self, channel: Notifier, notification: Notification) -> DeliveryResult:
        try:
            with trio.fail_after(self.send_timeout):
                return await channel.send(notification)
        except trio.TooSlowError:
            return DeliveryResult(ok=False, error=f"no result within {self.send_timeout:.0f} s")
        except NotifyError as exc:
            return DeliveryResult(ok=False, error=redact.redact_urls_in_text(str(exc)))
        except Exception as exc:  # a notifier bug must not stop the queue; the attempt counts as failed
            message = redact.redact_urls_in_text(f"{type(exc).__name__}: {exc}")
            log.error("Notifier channel %s raised %s", channel.id, message)
            return DeliveryResult(ok=False, error=message)

    # --- inspection --------------------------------------------------------------------------

    async def queue_snapshot(self, limit: int = 200) -> dict[str, Any]:
        """Return pending and dead-lettered deliveries in their API form."""
        pending = await self.storage.list_deliveries("pending", limit=limit)
        dead = await self.storage.list_deliveries("dead", limit=limit)
        return {
            "pending": [describe_delivery(item) for item in pending],
            "deadLetters": [describe_delivery(item) for item in dead],
            "channels": sorted(self.channels),
            "maxAttempts": self.policy.max_attempts,
        }

    async def retry_dead(self, delivery_id: str) -> QueuedDelivery | None:
        """Put a dead-lettered delivery back in the queue with a fresh attempt count."""
        for delivery in await self.storage.list_deliveries("dead", limit=10_000):
            if delivery.id == delivery_id:
                delivery.status = "pending"
                delivery.attempts = 0
                delivery.next_attempt = self.clock()
                await self.storage.update_delivery(delivery)
                self._depth_stale = True
                self._wake.set()
                return delivery
        return None


def _describe_failure(result: DeliveryResult) -> str:
    if result.error:
        return result.error
    if result.status_code is not None:
        body = result.response.strip().replace("\n", " ")[:300]
        return f"status {result.status_code}: {body}" if body else f"status {result.status_code}"
    return "delivery failed"
