"""HTTP routes for webhooks: list, create, update, delete, test and the service presets."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import trio
from quart import Blueprint, Response

from pulse_core.errors import ConfigError
from pulse_core.model import Notification
from pulse_core.notify.templates import render, sample_alert, sample_contexts
from pulse_core.web.app import error_response
from pulse_core.web.jsonio import json_response, read_json_object, reject_unknown_fields

from pulse_notify_webhook.channel import WebhookNotifier
from pulse_notify_webhook.config import KNOWN_FIELDS, SECTION, WebhookConfig, load_webhooks, parse_webhook
from pulse_notify_webhook.presets import PRESETS

log = logging.getLogger(__name__)


def build_test_notification(now: float) -> Notification:
    """Return the notification the test button sends: one sample warning, marked as a test."""
    alert = sample_alert(message="Test notification from Pulse: if you can read this, the webhook works.",
                         start_time=now, last_seen=now)
    return Notification(f"test-{uuid.uuid4().hex[:12]}", "test", [alert], "Pulse test notification", now)


def describe_presets() -> list[dict[str, Any]]:
    example = Notification("example", "alert", [sample_alert()], "Warning: web-01 cpu", 1_700_000_300.0)
    presets = []
    for preset in PRESETS.values():
        presets.append({
            "service": preset.service,
            "name": preset.name,
            "urlPattern": preset.url_pattern,
            "method": "POST",
            "instructions": preset.instructions,
            "customFields": [
                {"name": item.name, "label": item.label, "required": item.required, "secret": item.secret, "help": item.help}
                for item in preset.custom_fields
            ],
            "examplePayload": preset.build(example, preset.url_pattern, {})[0].payload,
        })
    return presets


def _problems_response(exc: ConfigError) -> Response:
    return error_response("; ".join(exc.problems), 400)


def openapi_paths() -> dict[str, Any]:
    """Return the OpenAPI operations whose status codes differ from the core's entries (201, 502)."""
    from pulse_core.web.openapi import ANY_OBJECT, BOOLEAN, STRING, obj, operation

    body = obj({"name": STRING, "url": STRING, "method": STRING, "service": STRING, "enabled": BOOLEAN,
                "template": STRING, "headers": ANY_OBJECT, "customFields": ANY_OBJECT, "hmacSecret": STRING}, required=[])
    return {
        "/api/notifications/webhooks": {
            "post": operation("Create a webhook", "notifications", ANY_OBJECT, status=201, body=body),
        },
        "/api/notifications/webhooks/test": {
            "post": operation("Send a test notification to a webhook; a non-2xx reply is a 502 with the service's "
                              "status and body", "notifications", ANY_OBJECT, errors=(404, 502), body=body),
        },
    }


def create_blueprint(context: Any) -> Blueprint:
    blueprint = Blueprint("pulse_notify_webhook", __name__)
    blueprint.openapi_paths = openapi_paths()  # type: ignore[attr-defined]
    lock = trio.Lock()  # serializes read-modify-write of the settings section

    async def save(webhooks: list[WebhookConfig]) -> None:
        await context.settings.set(SECTION, [item.to_stored() for item in webhooks])
        context.reload_channels()

    @blueprint.get("/api/notifications/webhooks")
    async def list_webhooks() -> Response:
        return json_response([item.to_api() for item in load_webhooks(context.settings)])

    @blueprint.post("/api/notifications/webhooks")
    async def create_webhook() -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, KNOWN_FIELDS)
        try:
            webhook = parse_webhook(data)
        except ConfigError as exc:
            return _problems_response(exc)
        async with lock:
            webhooks = load_webhooks(context.settings)
            webhooks.append(webhook)
            await save(webhooks)
        await context.audit("webhook.create", webhook=webhook.id, name=webhook.name, service=webhook.service)
        log.info("Webhook %s (%s, %s) created", webhook.id, webhook.name, webhook.service)
        return json_response(webhook.to_api(), 201)

    @blueprint.put("/api/notifications/webhooks/<webhook_id>")
    async def update_webhook(webhook_id: str) -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, KNOWN_FIELDS)
        async with lock:
            webhooks = load_webhooks(context.settings)
            index = next((i for i, item in enumerate(webhooks) if item.id == webhook_id), None)
            if index is None:
                return error_response(f"webhook {webhook_id!r} not found", 404)
            try:
                webhook = parse_webhook(data, webhooks[index])
            except ConfigError as exc:
                return _problems_response(exc)
            webhooks[index] = webhook
            await save(webhooks)
        await context.audit("webhook.update", webhook=webhook.id, name=webhook.name, service=webhook.service)
        return json_response(webhook.to_api())

    @blueprint.delete("/api/notifications/webhooks/<webhook_id>")
    async def delete_webhook(webhook_id: str) -> Response:
        async with lock:
            webhooks = load_webhooks(context.settings)
            remaining = [item for item in webhooks if item.id != webhook_id]
            if len(remaining) == len(webhooks):
                return error_response(f"webhook {webhook_id!r} not found", 404)
            await save(remaining)
        await context.audit("webhook.delete", webhook=webhook_id)
        return json_response({"deleted": webhook_id})

    @blueprint.post("/api/notifications/webhooks/test")
    async def test_webhook() -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, KNOWN_FIELDS)
        existing = None
        if data.get("id"):
            existing = next((item for item in load_webhooks(context.settings) if item.id == data["id"]), None)
            if existing is None:
                return error_response(f"id: webhook {data['id']!r} not found", 404)
        elif not data.get("name"):
            data = {**data, "name": "Test"}
        try:
            webhook = parse_webhook(data, existing)
        except ConfigError as exc:
            return _problems_response(exc)
        notifier = WebhookNotifier(webhook)
        result = await notifier.send(build_test_notification(time.time()), rate_limited=False)
        await context.audit("webhook.test", webhook=webhook.id, ok=result.ok, status=result.status_code)
        body = {"success": result.ok, "status": result.status_code, "response": result.response}
        if result.ok:
            return json_response(body)
        log.warning("Webhook test for %s failed: %s", webhook.name, result.error)
        return json_response({"error": result.error or "delivery failed", **body}, 502)

    @blueprint.get("/api/notifications/webhook-templates")
    async def webhook_templates() -> Response:
        return json_response(describe_presets())

    @blueprint.post("/api/notifications/webhook-templates/preview")
    async def preview_template() -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, ("template",))
        template = data.get("template")
        if not isinstance(template, str) or not template.strip():
            return error_response("template: missing; send the template text to preview", 400)
        try:
            webhook = parse_webhook({"name": "preview", "url": "https://example.invalid/", "template": template})
        except ConfigError as exc:
            return _problems_response(exc)
        return json_response({"rendered": render(webhook.template, sample_contexts()[0], json_mode=True)})

    return blueprint
