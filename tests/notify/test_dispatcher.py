"""The dispatcher: queueing per channel, resolved routing, retries, dead letters and restarts."""

from __future__ import annotations

from types import SimpleNamespace

import trio

from pulse_core.alerts.engine import AlertEvent
from pulse_core.errors import NotifyError
from pulse_core.model import DeliveryResult, Notification
from pulse_core.notify.dispatcher import NotificationDispatcher, RetryPolicy
from pulse_core.notify.templates import sample_alert


class RecordingChannel:
    def __init__(self, channel_id: str, results: list[DeliveryResult | Exception] | None = None) -> None:
        self.id = channel_id
        self.results = list(results or [])
        self.sent: list[Notification] = []

    async def send(self, notification: Notification) -> DeliveryResult:
        self.sent.append(notification)
        result = self.results.pop(0) if self.results else DeliveryResult(ok=True, status_code=200)
        if isinstance(result, Exception):
            raise result
        return result


class StaticNotifierType:
    name = "static"

    def __init__(self, channels: list[RecordingChannel]) -> None:
        self.list = channels

    def channels(self, settings):
        return list(self.list)


def make_dispatcher(storage, clock, channels, **kwargs):
    notifier_type = StaticNotifierType(channels)
    daemon = SimpleNamespace(plugins=SimpleNamespace(notifier_types=lambda: {"static": notifier_type}))
    return NotificationDispatcher(storage, None, daemon, clock=clock, **kwargs), notifier_type


def firing(alert_id="a1", created=1_800_000_000.0):
    return Notification(f"{alert_id}:alert", "alert", [sample_alert(id=alert_id)], "Warning: web-01 cpu", created)


def resolved(*alert_ids, created=1_800_000_100.0):
    alerts = [sample_alert(id=alert_id, resolved_time=created) for alert_id in alert_ids]
    return Notification("r:" + ",".join(alert_ids), "resolved", alerts, "Resolved", created)


async def test_firing_goes_to_every_channel(memory_storage, fake_clock):
    mail, hook = RecordingChannel("email"), RecordingChannel("webhook:ops")
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [mail, hook])
    queued = await dispatcher.send_notification(firing())
    assert len(queued) == 2
    assert await dispatcher.process_due() == 2
    assert [n.id for n in mail.sent] == ["a1:alert"]
    assert [n.id for n in hook.sent] == ["a1:alert"]
    statuses = {item.status for item in await memory_storage.list_deliveries()}
    assert statuses == {"delivered"}


async def test_resolved_only_to_channels_that_fired(memory_storage, fake_clock):
    mail, hook, late = RecordingChannel("email"), RecordingChannel("webhook:ops"), RecordingChannel("webhook:late")
    dispatcher, notifier_type = make_dispatcher(memory_storage, fake_clock, [mail])
    await dispatcher.send_notification(firing("a1"))
    notifier_type.list = [mail, hook]
    dispatcher.reload_channels()
    await dispatcher.send_notification(firing("a2"))
    notifier_type.list = [mail, hook, late]
    dispatcher.reload_channels()
    await dispatcher.send_notification(resolved("a1", "a2"))
    await dispatcher.process_due()
    assert [n.event for n in mail.sent] == ["alert", "alert", "resolved"]
    assert [a.id for a in mail.sent[-1].alerts] == ["a1", "a2"]
    assert [a.id for a in hook.sent[-1].alerts] == ["a2"]
    assert hook.sent[-1].event == "resolved"
    assert late.sent == []
    assert await memory_storage.get_value("notify.channels.a1") is None


async def test_resolved_without_firing_is_not_sent(memory_storage, fake_clock):
    mail = RecordingChannel("email")
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [mail])
    assert await dispatcher.send_notification(resolved("never-fired")) == []


async def test_backoff_doubles_until_dead_letter(memory_storage, fake_clock):
    failures = [DeliveryResult(ok=False, status_code=500, response="boom") for _ in range(4)]
    hook = RecordingChannel("webhook:ops", failures)
    policy = RetryPolicy(max_attempts=4, base_delay=10.0, max_delay=3600.0)
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook], policy=policy)
    await dispatcher.send_notification(firing())
    start = fake_clock.now

    assert await dispatcher.process_due() == 1
    [item] = await memory_storage.list_deliveries()
    assert item.next_attempt == start + 10
    assert item.last_error == "status 500: boom"

    fake_clock.advance(9)
    assert await dispatcher.process_due() == 0
    fake_clock.advance(1)
    assert await dispatcher.process_due() == 1
    [item] = await memory_storage.list_deliveries()
    assert item.next_attempt == fake_clock.now + 20

    fake_clock.advance(20)
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.next_attempt == fake_clock.now + 40

    fake_clock.advance(40)
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.status == "dead"
    assert item.attempts == 4
    snapshot = await dispatcher.queue_snapshot()
    assert [dead["id"] for dead in snapshot["deadLetters"]] == [item.id]
    assert snapshot["pending"] == []


async def test_retry_after_is_honoured(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops", [DeliveryResult(ok=False, status_code=429, retry_after=7.0)])
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook])
    await dispatcher.send_notification(firing())
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.next_attempt == fake_clock.now + 7.0
    fake_clock.advance(7)
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.status == "delivered"
    assert item.attempts == 2


async def test_non_retryable_failure_dead_at_once(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops", [DeliveryResult(ok=False, status_code=400, response="bad", retryable=False)])
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook])
    await dispatcher.send_notification(firing())
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.status == "dead"
    assert item.attempts == 1


async def test_notifier_exception_counts_as_failure(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops", [NotifyError("connect failed"), RuntimeError("bug")])
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook])
    await dispatcher.send_notification(firing())
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.last_error == "connect failed"
    fake_clock.advance(10)
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.last_error == "RuntimeError: bug"
    assert item.status == "pending"


async def test_removed_channel_dead_letters(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops")
    dispatcher, notifier_type = make_dispatcher(memory_storage, fake_clock, [hook])
    await dispatcher.send_notification(firing())
    notifier_type.list = []
    dispatcher.reload_channels()
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.status == "dead"
    assert "no longer exists" in item.last_error


async def test_pending_survives_restart(memory_storage, fake_clock):
    first = RecordingChannel("webhook:ops", [DeliveryResult(ok=False, status_code=503)])
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [first])
    await dispatcher.send_notification(firing())
    await dispatcher.process_due()

    second = RecordingChannel("webhook:ops")
    restarted, _ = make_dispatcher(memory_storage, fake_clock, [second])
    fake_clock.advance(10)
    await restarted.process_due()
    assert [n.id for n in second.sent] == ["a1:alert"]
    assert second.sent[0].alerts[0].resource_name == "web-01"


async def test_dead_letter_retry_by_hand(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops", [DeliveryResult(ok=False, status_code=401, retryable=False)])
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook])
    await dispatcher.send_notification(firing())
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries("dead")
    assert await dispatcher.retry_dead("missing") is None
    assert (await dispatcher.retry_dead(item.id)).status == "pending"
    await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.status == "delivered"


async def test_submit_wraps_alert_events(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops")
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook])
    alert = sample_alert(id="a9", level="critical")
    await dispatcher.submit([AlertEvent("alert", alert)])
    await dispatcher.submit([AlertEvent("resolved", alert)])
    await dispatcher.process_due()
    assert [n.event for n in hook.sent] == ["alert", "resolved"]
    assert hook.sent[0].title == "Critical: web-01 cpu"


async def test_run_loop_delivers_when_woken(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops")
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook], idle_interval=3600)
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        await dispatcher.send_notification(firing())
        while not hook.sent:
            await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert len(hook.sent) == 1


async def test_stats_count_outcomes(memory_storage, fake_clock):
    hook = RecordingChannel("webhook:ops", [DeliveryResult(ok=False, status_code=500), DeliveryResult(ok=True)])
    dispatcher, _ = make_dispatcher(memory_storage, fake_clock, [hook], idle_interval=3600)
    await dispatcher.send_notification(firing())
    await dispatcher.refresh_stats()
    assert dispatcher.stats.queue_depth == 1
    await dispatcher.process_due()
    fake_clock.advance(10)
    await dispatcher.process_due()
    await dispatcher.refresh_stats()
    assert dispatcher.stats.failed == 1
    assert dispatcher.stats.sent == 1
    assert dispatcher.stats.queue_depth == 0
