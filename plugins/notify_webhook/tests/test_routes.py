"""Webhook routes: validation, redaction, the test button and the handed secret-URL cases."""

from __future__ import annotations

import json
import logging

import pytest

from pulse_core.notify.redact import redact_url
from pulse_core.testing.webhook_receiver import Reply

GOTIFY_ERROR = '{"error":"Bad Request","errorCode":400,"errorDescription":"Field \'message\' is required"}'

SECRET_TARGETS = [
    ("pushover", "/1/messages.json?token=APPTOKEN0000&user=USERKEY0000", {}, ["APPTOKEN0000", "USERKEY0000"]),
    ("telegram", "/bot123456:SECRETPART0000/sendMessage", {"chat_id": "42"}, ["SECRETPART0000"]),
    ("discord", "/api/webhooks/111111/SECRETPATH0000", {}, ["SECRETPATH0000"]),
    ("gotify", "/message?token=GOTIFY0000", {}, ["GOTIFY0000"]),
]


def gotify_like(request):
    body = request.json()
    if "message" not in body:
        return Reply(400, GOTIFY_ERROR.encode())
    return Reply(200, b'{"id": 1}')


async def create(client, **fields):
    response = await client.post("/api/notifications/webhooks", json=fields)
    return response, await response.get_json()


async def test_gotify_preset_accepted_custom_without_message_reported(client, receiver):
    receiver.handler = gotify_like
    url = receiver.url + "/message?token=abcd1234"

    response = await client.post("/api/notifications/webhooks/test", json={"url": url, "service": "gotify"})
    body = await response.get_json()
    assert response.status_code == 200
    assert body["success"] is True
    assert body["status"] == 200
    assert "message" in receiver.requests[0].json()

    custom = {"url": url, "service": "generic", "template": '{"title": "{{.Level}}", "text": "{{.Message}}"}'}
    response = await client.post("/api/notifications/webhooks/test", json=custom)
    body = await response.get_json()
    assert response.status_code == 502
    assert body["success"] is False
    assert body["status"] == 400
    assert body["response"] == GOTIFY_ERROR
    assert "HTTP 400" in body["error"]


async def test_create_list_update_delete(client, receiver, context, settings):
    response, created = await create(client, name="Ops", url=receiver.url + "/api/webhooks/1/SECRETPATH0000",
                                     service="discord", headers={"X-Key": "header-secret"})
    assert response.status_code == 201
    assert created["url"] == receiver.url + "/***"
    assert created["headers"] == {"X-Key": "***"}
    assert context.reloads == [1]

    listed = await (await client.get("/api/notifications/webhooks")).get_json()
    assert [item["id"] for item in listed] == [created["id"]]

    # Sending back what the UI was shown keeps the stored URL and header.
    response = await client.put(f"/api/notifications/webhooks/{created['id']}", json={**created, "name": "Ops 2"})
    assert response.status_code == 200
    [stored] = settings.get("notifications_webhooks")
    assert stored["name"] == "Ops 2"
    assert stored["url"].endswith("/SECRETPATH0000")
    assert stored["headers"] == {"X-Key": "header-secret"}

    on_disk = settings.path.read_text()
    assert "SECRETPATH0000" not in on_disk
    assert "header-secret" not in on_disk

    response = await client.delete(f"/api/notifications/webhooks/{created['id']}")
    assert response.status_code == 200
    assert settings.get("notifications_webhooks") == []
    response = await client.delete(f"/api/notifications/webhooks/{created['id']}")
    assert response.status_code == 404
    assert "not found" in (await response.get_json())["error"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "https://x.invalid/h"}, "name: missing"),
        ({"name": "a"}, "url: missing"),
        ({"name": "a", "url": "ftp://x.invalid/h"}, "url: must be an absolute http"),
        ({"name": "a", "url": "https://x.invalid/h", "service": "carrier-pigeon"}, "service: unknown service 'carrier-pigeon'"),
        ({"name": "a", "url": "https://x.invalid/h", "method": "GET"}, "method: must be one of POST, PUT, PATCH"),
        ({"name": "a", "url": "https://x.invalid/bot1:a/sendMessage", "service": "telegram"}, "customFields.chat_id: required"),
        ({"name": "a", "url": "https://x.invalid/h", "service": "pagerduty"}, "customFields.routing_key: required"),
        ({"name": "a", "url": "https://x.invalid/h", "headers": {"X-Pulse-Event-ID": "1"}}, "headers.X-Pulse-Event-ID: set by Pulse"),
        ({"name": "a", "url": "https://x.invalid/h", "rateLimitPerMinute": 0}, "rateLimitPerMinute: must be a whole number"),
        ({"name": "a", "url": "https://x.invalid/h", "template": '{"a": "{{.Level}}" "b": 1}'},
         "template: line 1, column 20: the rendered payload is not valid JSON"),
        ({"name": "a", "url": "https://x.invalid/h", "template": '{"a": "{{.Password}}"}'}, "template: line 1, column 10: unknown variable .Password"),
        ({"name": "a", "url": "https://x.invalid/h", "service": "discord", "customFields": {"link_url": "/alerts"}},
         "customFields.link_url: must be an absolute http"),
    ],
)
async def test_invalid_webhook_rejected_naming_field(client, fields, message):
    response, body = await create(client, **fields)
    assert response.status_code == 400
    assert message in body["error"]


async def test_unknown_webhook_update_is_404(client):
    response = await client.put("/api/notifications/webhooks/nope", json={"name": "x"})
    assert response.status_code == 404


async def test_templates_list_every_preset(client):
    presets = await (await client.get("/api/notifications/webhook-templates")).get_json()
    services = {item["service"] for item in presets}
    assert {"discord", "slack", "teams", "teams_legacy", "telegram", "gotify", "ntfy", "pushover",
            "pagerduty", "mattermost", "generic"} <= services
    pushover = next(item for item in presets if item["service"] == "pushover")
    assert {field["name"] for field in pushover["customFields"] if field["secret"]} == {"token", "user_key"}


@pytest.mark.parametrize(("service", "target", "custom", "secrets"), SECRET_TARGETS)
async def test_secret_urls_never_shown(client, receiver, caplog, service, target, custom, secrets):
    caplog.set_level(logging.DEBUG)
    url = receiver.url + target
    response, created = await create(client, name=service, url=url, service=service, customFields=custom)
    assert response.status_code == 201

    # Success: the request reaches the receiver with the same path and query.
    response = await client.post("/api/notifications/webhooks/test", json={"id": created["id"]})
    assert response.status_code == 200
    request = receiver.requests[-1]
    assert request.target == target.replace(":", "%3A") or request.target == target

    # Failure whose body echoes the URL: the error and response are scrubbed.
    receiver.reply(500, f"upstream failed for {url}")
    response = await client.post("/api/notifications/webhooks/test", json={"id": created["id"]})
    failed = await response.get_json()
    assert response.status_code == 502

    listed = await (await client.get("/api/notifications/webhooks")).get_data(as_text=True)
    shown = [json.dumps(created), json.dumps(failed), listed, caplog.text]
    for secret in secrets:
        for text in shown:
            assert secret not in text


def test_public_secret_urls_redacted_without_sending():
    assert redact_url("https://api.pushover.net/1/messages.json?token=APPTOKEN0000&user=USERKEY0000") == \
        "https://api.pushover.net/***?token=***&user=***"
    assert redact_url("https://api.telegram.org/bot123456:SECRETPART0000/sendMessage") == \
        "https://api.telegram.org/***"
    assert redact_url("https://discord.com/api/webhooks/111111/SECRETPATH0000") == "https://discord.com/***"
    assert redact_url("https://gotify.example/message?token=GOTIFY0000") == "https://gotify.example/***?token=***"
