"""HTTP routes for email: the settings, a test email and the provider presets."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import trio
from quart import Blueprint, Response, request

from pulse_core.errors import ConfigError
from pulse_core.model import Notification
from pulse_core.notify.templates import sample_alert
from pulse_core.web.app import error_response
from pulse_core.web.jsonio import json_response, read_json_object, reject_unknown_fields

from pulse_notify_email.channel import EmailNotifier
from pulse_notify_email.config import KNOWN_FIELDS, SECTION, load_email_config, parse_email_config
from pulse_notify_email.providers import PROVIDERS

log = logging.getLogger(__name__)


def build_test_notification(now: float) -> Notification:
    alert = sample_alert(message="Test email from Pulse: if you can read this, email notifications work.",
                         start_time=now, last_seen=now)
    return Notification(f"test-{uuid.uuid4().hex[:12]}", "test", [alert], "Test email", now)


def openapi_paths() -> dict[str, Any]:
    """Return the OpenAPI entry of the test route, which returns 502 when the SMTP server rejects the email."""
    from pulse_core.web.openapi import ANY_OBJECT, operation

    return {
        "/api/notifications/email/test": {
            "post": operation("Send a test email; a failure is a 502 with the SMTP server's reply code and text",
                              "notifications", ANY_OBJECT, errors=(502,), body=ANY_OBJECT, body_required=False),
        },
    }


def create_blueprint(context: Any) -> Blueprint:
    blueprint = Blueprint("pulse_notify_email", __name__)
    blueprint.openapi_paths = openapi_paths()  # type: ignore[attr-defined]
    lock = trio.Lock()  # serializes read-modify-write of the settings section

    @blueprint.get("/api/notifications/email")
    async def get_email() -> Response:
        return json_response(load_email_config(context.settings).to_api())

    @blueprint.post("/api/notifications/email")
    async def save_email() -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, KNOWN_FIELDS)
        async with lock:
            try:
                config = parse_email_config(data, load_email_config(context.settings))
            except ConfigError as exc:
                return error_response("; ".join(exc.problems), 400)
            await context.settings.set(SECTION, config.to_stored())
        context.reload_channels()
        await context.audit("email.update", enabled=config.enabled, server=config.server, port=config.port)
        log.info("Email settings saved (server %s:%s, %s, %d recipients)", config.server, config.port,
                 config.security, len(config.to))
        return json_response(config.to_api())

    @blueprint.post("/api/notifications/email/test")
    async def test_email() -> Response:
        # Without a body the saved settings are tested.
        data = await read_json_object() if await request.get_data(cache=True) else {}
        reject_unknown_fields(data, KNOWN_FIELDS)
        try:
            config = parse_email_config({**data, "enabled": True}, load_email_config(context.settings))
        except ConfigError as exc:
            return error_response("; ".join(exc.problems), 400)
        result = await EmailNotifier(config).send(build_test_notification(time.time()))
        await context.audit("email.test", ok=result.ok, server=config.server, status=result.status_code)
        body = {"success": result.ok, "status": result.status_code, "response": result.response}
        if result.ok:
            return json_response(body)
        log.warning("Test email through %s:%s failed: %s", config.server, config.port, result.error)
        return json_response({"error": result.error or "sending failed", **body}, 502)

    @blueprint.get("/api/notifications/email-providers")
    async def providers() -> Response:
        return json_response(PROVIDERS)

    return blueprint
