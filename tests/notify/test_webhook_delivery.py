"""The dispatcher delivering to real webhook channels on a loopback receiver."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from pulse_core.model import Notification
from pulse_core.notify.dispatcher import NotificationDispatcher
from pulse_core.notify.templates import sample_alert
from pulse_core.testing.webhook_receiver import open_webhook_receiver
from pulse_notify_webhook.channel import WebhookNotifier
from pulse_notify_webhook.config import WebhookConfig


class Channels:
    name = "webhook"

    def __init__(self, notifiers):
        self.notifiers = notifiers

    def channels(self, settings):
        return self.notifiers


def dispatcher_for(storage, clock, notifiers):
    notifier_type = Channels(notifiers)
    daemon = SimpleNamespace(plugins=SimpleNamespace(notifier_types=lambda: {"webhook": notifier_type}))
    return NotificationDispatcher(storage, None, daemon, clock=clock)


async def test_429_then_success_same_event_id(memory_storage, fake_clock, caplog):
    caplog.set_level(logging.DEBUG)
    async with open_webhook_receiver() as receiver:
        receiver.reply(429, "slow down", headers={"Retry-After": "7"})
        config = WebhookConfig(id="tg", name="tg", url=receiver.url + "/bot123456:SECRETPART0000/sendMessage",
                               service="telegram", custom_fields={"chat_id": "42"})
        dispatcher = dispatcher_for(memory_storage, fake_clock, [WebhookNotifier(config, timeout=2.0)])
        notification = Notification("a1:alert:1", "alert", [sample_alert(id="a1")], "Warning: web-01 cpu", fake_clock.now)
        await dispatcher.send_notification(notification)

        await dispatcher.process_due()
        [item] = await memory_storage.list_deliveries()
        assert item.status == "pending"
        assert item.next_attempt == fake_clock.now + 7

        fake_clock.advance(7)
        await dispatcher.process_due()
        [item] = await memory_storage.list_deliveries()
        assert item.status == "delivered"

    ids = [request.headers["x-pulse-event-id"] for request in receiver.requests]
    assert ids == ["a1:alert:1", "a1:alert:1"]
    assert receiver.requests[1].json()["chat_id"] == "42"
    assert "HTTP Request" in caplog.text
    assert "SECRETPART0000" not in caplog.text
    assert "/***" in caplog.text


async def test_hang_then_dead_letter(memory_storage, fake_clock):
    async with open_webhook_receiver() as receiver:
        receiver.hang(times=2)
        config = WebhookConfig(id="g", name="gotify", url=receiver.url + "/message?token=GOTIFY0000", service="gotify")
        dispatcher = dispatcher_for(memory_storage, fake_clock, [WebhookNotifier(config, timeout=0.2)])
        dispatcher.policy.max_attempts = 2
        await dispatcher.send_notification(Notification("n", "alert", [sample_alert()], "t", fake_clock.now))
        await dispatcher.process_due()
        fake_clock.advance(10)
        await dispatcher.process_due()
    [item] = await memory_storage.list_deliveries()
    assert item.status == "dead"
    assert "timed out" in item.last_error
    assert "GOTIFY0000" not in item.last_error
    snapshot = await dispatcher.queue_snapshot()
    assert snapshot["deadLetters"][0]["lastError"] == item.last_error


SECRET_TARGETS = [
    ("pushover", "/1/messages.json?token=APPTOKEN0000&user=USERKEY0000", {}, ["APPTOKEN0000", "USERKEY0000"]),
    ("telegram", "/bot123456:SECRETPART0000/sendMessage", {"chat_id": "42"}, ["SECRETPART0000"]),
    ("discord", "/api/webhooks/111111/SECRETPATH0000", {}, ["SECRETPATH0000"]),
    ("gotify", "/message?token=GOTIFY0000", {}, ["GOTIFY0000"]),
]


@pytest.mark.parametrize(("service", "target", "custom", "secrets"), SECRET_TARGETS)
async def test_queued_secret_targets_stay_private(memory_storage, fake_clock, caplog, service, target, custom, secrets):
    caplog.set_level(logging.DEBUG)
    async with open_webhook_receiver() as receiver:
        url = receiver.url + target
        receiver.reply(500, f"cannot handle {url}")
        config = WebhookConfig(id=service, name=service, url=url, service=service, custom_fields=custom)
        dispatcher = dispatcher_for(memory_storage, fake_clock, [WebhookNotifier(config, timeout=2.0)])
        await dispatcher.send_notification(Notification("n", "alert", [sample_alert()], "t", fake_clock.now))
        await dispatcher.process_due()
        snapshot = str(await dispatcher.queue_snapshot())
        fake_clock.advance(10)
        await dispatcher.process_due()
    assert [request.target.replace("%3A", ":") for request in receiver.requests] == [target, target]
    [item] = await memory_storage.list_deliveries()
    assert item.status == "delivered"
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in snapshot
    assert "HTTP 500" in snapshot
