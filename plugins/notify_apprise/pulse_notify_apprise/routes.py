"""HTTP routes for apprise targets: list, create, update, delete and test."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import trio
from quart import Blueprint, Response

from pulse_core.errors import ConfigError
from pulse_core.model import Notification
from pulse_core.notify.templates import sample_alert
from pulse_core.web.app import error_response
from pulse_core.web.jsonio import json_response, read_json_object, reject_unknown_fields

from pulse_notify_apprise.channel import AppriseNotifier
from pulse_notify_apprise.config import KNOWN_FIELDS, SECTION, AppriseTarget, load_targets, parse_target

log = logging.getLogger(__name__)


def build_test_notification(now: float) -> Notification:
    alert = sample_alert(message="Test notification from Pulse: if you can read this, the apprise target works.",
                         start_time=now, last_seen=now)
    return Notification(f"test-{uuid.uuid4().hex[:12]}", "test", [alert], "Pulse test notification", now)


def openapi_paths() -> dict[str, Any]:
    """Return the OpenAPI path items of this plugin's routes."""
    from pulse_core.web.openapi import ANY_OBJECT, BOOLEAN, STRING, array, obj, operation, path_param

    target = obj({"id": STRING, "name": STRING, "url": STRING, "enabled": BOOLEAN})
    body = obj({"name": STRING, "url": STRING, "enabled": BOOLEAN}, required=[])
    return {
        "/api/notifications/apprise": {
            "get": operation("List apprise targets (URLs in privacy form)", "notifications", array(target)),
            "post": operation("Add an apprise target", "notifications", target, status=201, body=body),
        },
        "/api/notifications/apprise/{targetId}": {
            "parameters": [path_param("targetId", "apprise target id")],
            "put": operation("Change an apprise target", "notifications", target, errors=(404,), body=body),
            "delete": operation("Remove an apprise target", "notifications", ANY_OBJECT, errors=(404,)),
        },
        "/api/notifications/apprise/test": {
            "post": operation("Send a test notification through an apprise URL or a saved target", "notifications",
                              ANY_OBJECT, errors=(404, 502), body=body),
        },
    }


def create_blueprint(context: Any) -> Blueprint:
    blueprint = Blueprint("pulse_notify_apprise", __name__)
    blueprint.openapi_paths = openapi_paths()  # type: ignore[attr-defined]
    lock = trio.Lock()  # serializes read-modify-write of the settings section

    async def save(targets: list[AppriseTarget]) -> None:
        await context.settings.set(SECTION, [item.to_stored() for item in targets])
        context.reload_channels()

    @blueprint.get("/api/notifications/apprise")
    async def list_targets() -> Response:
        return json_response([item.to_api() for item in load_targets(context.settings)])

    @blueprint.post("/api/notifications/apprise")
    async def create_target() -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, KNOWN_FIELDS)
        try:
            target = parse_target(data)
        except ConfigError as exc:
            return error_response("; ".join(exc.problems), 400)
        async with lock:
            await save([*load_targets(context.settings), target])
        await context.audit("apprise.create", target=target.id, name=target.name)
        return json_response(target.to_api(), 201)

    @blueprint.put("/api/notifications/apprise/<target_id>")
    async def update_target(target_id: str) -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, KNOWN_FIELDS)
        async with lock:
            targets = load_targets(context.settings)
            index = next((i for i, item in enumerate(targets) if item.id == target_id), None)
            if index is None:
                return error_response(f"apprise target {target_id!r} not found", 404)
            try:
                targets[index] = parse_target(data, targets[index])
            except ConfigError as exc:
                return error_response("; ".join(exc.problems), 400)
            await save(targets)
        await context.audit("apprise.update", target=target_id)
        return json_response(targets[index].to_api())

    @blueprint.delete("/api/notifications/apprise/<target_id>")
    async def delete_target(target_id: str) -> Response:
        async with lock:
            targets = load_targets(context.settings)
            remaining = [item for item in targets if item.id != target_id]
            if len(remaining) == len(targets):
                return error_response(f"apprise target {target_id!r} not found", 404)
            await save(remaining)
        await context.audit("apprise.delete", target=target_id)
        return json_response({"deleted": target_id})

    @blueprint.post("/api/notifications/apprise/test")
    async def test_target() -> Response:
        data = await read_json_object()
        reject_unknown_fields(data, KNOWN_FIELDS)
        existing = None
        if data.get("id"):
            existing = next((item for item in load_targets(context.settings) if item.id == data["id"]), None)
            if existing is None:
                return error_response(f"id: apprise target {data['id']!r} not found", 404)
        elif not data.get("name"):
            data = {**data, "name": "Test"}
        try:
            target = parse_target(data, existing)
        except ConfigError as exc:
            return error_response("; ".join(exc.problems), 400)
        result = await AppriseNotifier(target).send(build_test_notification(time.time()))
        await context.audit("apprise.test", target=target.id, ok=result.ok)
        body = {"success": result.ok, "response": result.response}
        if result.ok:
            return json_response(body)
        log.warning("Apprise test for %s failed: %s", target.name, result.error)
        return json_response({"error": result.error or "delivery failed", **body}, 502)

    return blueprint
