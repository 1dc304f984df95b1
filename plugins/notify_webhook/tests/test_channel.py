"""Deliveries to a real receiver on 127.0.0.1: headers, signing, status handling, limits."""

from __future__ import annotations

import hashlib
import hmac

import trio

from pulse_core.model import Notification
from pulse_core.notify.templates import sample_alert
from pulse_notify_webhook.channel import MAX_REPORTED_CHARS, RateLimiter, WebhookNotifier, parse_retry_after
from pulse_notify_webhook.config import WebhookConfig


def notification(event="alert"):
    return Notification("event-123", event, [sample_alert()], "Warning: web-01 cpu", 1_700_000_300.0)


def notifier(url, **fields):
    config = WebhookConfig(id="w1", name="ops", url=url, **fields)
    return WebhookNotifier(config, timeout=0.5, clock=lambda: 1_700_000_000.0)


async def test_delivery_sends_event_id_and_json(receiver):
    result = await notifier(receiver.url + "/hook", headers={"Authorization": "Bearer abc"}).send(notification())
    assert result.ok
    assert result.status_code == 200
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["x-pulse-event-id"] == "event-123"
    assert request.headers["authorization"] == "Bearer abc"
    assert request.headers["content-type"] == "application/json"
    assert request.json()["resourceName"] == "web-01"
    assert "x-pulse-signature" not in request.headers


async def test_hmac_signature_with_timestamp(receiver):
    await notifier(receiver.url, hmac_secret="s3cret-key").send(notification())
    [request] = receiver.requests
    timestamp = request.headers["x-pulse-timestamp"]
    assert timestamp == "1700000000"
    expected = hmac.new(b"s3cret-key", timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-pulse-signature"] == f"sha256={expected}"


async def test_400_is_final_with_body(receiver):
    receiver.reply(400, '{"error":"bad"}')
    result = await notifier(receiver.url).send(notification())
    assert not result.ok
    assert not result.retryable
    assert result.status_code == 400
    assert result.response == '{"error":"bad"}'
    assert "HTTP 400" in result.error


async def test_429_retry_after_is_read(receiver):
    receiver.reply(429, "slow down", headers={"Retry-After": "7"})
    result = await notifier(receiver.url).send(notification())
    assert result.retryable
    assert result.retry_after == 7.0


async def test_500_is_retryable(receiver):
    receiver.reply(500, "oops")
    result = await notifier(receiver.url).send(notification())
    assert result.retryable
    assert result.status_code == 500


async def test_hanging_service_times_out(receiver):
    receiver.hang()
    result = await notifier(receiver.url).send(notification())
    assert not result.ok
    assert result.retryable
    assert "timed out after 0.5 s" in result.error


async def test_closed_port_is_retryable_network_error():
    async with trio.open_nursery():
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()
    result = await notifier(f"http://127.0.0.1:{port}/x").send(notification())
    assert not result.ok
    assert result.retryable
    assert "ConnectError" in result.error


async def test_error_masks_path_and_query_every_shape(receiver):
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    closed_port = listener.getsockname()[1]
    listener.close()
    cases = [
        (f"http://127.0.0.1:{closed_port}/closed", f"http://127.0.0.1:{closed_port}/***", "closed"),
        (receiver.url + "/api/webhooks/1/SECRETPATH0000", receiver.url + "/***", "SECRETPATH0000"),
        (receiver.url + "/alerts-topic", receiver.url + "/***", "alerts-topic"),
        (receiver.url + "/message?token=QUERYTOKEN1", receiver.url + "/***?token=***", "QUERYTOKEN1"),
        (f"http://127.0.0.1:{closed_port}/?key=QUERYTOKEN2", f"http://127.0.0.1:{closed_port}/?key=***", "QUERYTOKEN2"),
    ]
    for url, expected, secret in cases:
        if url.startswith(receiver.url):
            receiver.reply(500, "failed")
        result = await notifier(url).send(notification())
        assert not result.ok
        assert f"({expected})" in result.error
        assert secret not in result.error


async def test_response_body_is_capped(receiver):
    receiver.reply(500, "x" * 200_000)
    result = await notifier(receiver.url).send(notification())
    assert len(result.response) == MAX_REPORTED_CHARS


async def test_custom_template_used_as_payload(receiver):
    template = '{"text": "{{.Level}} on {{.ResourceName}}", "value": {{.Value}}}'
    await notifier(receiver.url, template=template).send(notification())
    assert receiver.requests[0].json() == {"text": "warning on web-01", "value": 92.0}


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0 - 60) == 60.0
    assert parse_retry_after("garbage", 0.0) is None
    assert parse_retry_after(None, 0.0) is None


async def test_rate_limiter_spaces_bursts(autojump_clock):
    limiter = RateLimiter(per_minute=2)
    start = trio.current_time()
    for _ in range(3):
        await limiter.acquire()
    assert trio.current_time() - start == 30.0


async def test_configured_method_is_used(receiver):
    await notifier(receiver.url + "/put", method="PUT").send(notification("resolved"))
    [request] = receiver.requests
    assert request.method == "PUT"
    assert request.json()["event"] == "resolved"
