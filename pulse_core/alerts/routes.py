"""REST routes for alert thresholds, overrides, active alerts, history and acknowledgement.

Bodies and responses use camelCase; snake_case field names are accepted too.
Every invalid input gets a 400 ``{"error": "field.path: reason"}``.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from quart import Blueprint, Response, g, jsonify, request

from pulse_core.alerts.settings import (
    SETTINGS_SECTION,
    AlertSettings,
    ThresholdDocument,
    load_settings,
    validation_problems,
)
from pulse_core.state import alert_to_api
from pulse_core.web.app import error_response
from pulse_core.web.jsonio import format_known_fields, nested_field_names

log = logging.getLogger(__name__)

MAX_HISTORY_LIMIT = 5000
DEFAULT_HISTORY_LIMIT = 500
MAX_BULK_IDS = 1000


class BadRequest(Exception):
    """A request the client must fix; the message names the field."""


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel(str(key)): _camel_keys(item) for key, item in value.items()}
    return value


def _merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _problems(exc: ValidationError, model: type[BaseModel]) -> str:
    """Join the validation problems; an unknown field also lists the fields known at its place in ``model``."""
    lines = []
    for line, error in zip(validation_problems(exc), exc.errors(), strict=True):
        if error["type"] == "extra_forbidden":
            line = line.replace(error["msg"], "unknown field")
            known = nested_field_names(model, error["loc"][:-1])
            if known:
                line += format_known_fields(known)
        lines.append(line)
    return "; ".join(lines)


async def _json_object() -> dict[str, Any]:
    data = await request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise BadRequest("request body: expected a JSON object")
    return data


def _ids_from(body: dict[str, Any]) -> list[str]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise BadRequest('ids: expected a non-empty list of alert ids, e.g. {"ids": ["..."]}')
    if len(ids) > MAX_BULK_IDS:
        raise BadRequest(f"ids: at most {MAX_BULK_IDS} ids per request, got {len(ids)}")
    for index, alert_id in enumerate(ids):
        if not isinstance(alert_id, str) or not alert_id:
            raise BadRequest(f"ids.{index}: expected a non-empty string")
    return ids


def _actor() -> str | None:
    principal = g.get("pulse_principal")
    return getattr(principal, "name", None)


def thresholds_document(settings: AlertSettings) -> dict[str, Any]:
    return ThresholdDocument.model_validate(settings.model_dump(exclude={"overrides"})).model_dump(by_alias=True)


def overrides_document(settings: AlertSettings) -> dict[str, Any]:
    overrides = {}
    for key, override in settings.overrides.items():
        document = override.model_dump(by_alias=True, exclude={"metrics"})
        document["metrics"] = {
            to_camel(metric): change.model_dump(by_alias=True, exclude_none=True)
            for metric, change in override.metrics.items()
        }
        overrides[key] = document
    return {"overrides": overrides}


def create_blueprint(context: Any) -> Blueprint:
    """Build the blueprint for the daemon ``context`` (its ``alerts`` engine, ``settings`` and ``state``)."""
    blueprint = Blueprint("pulse_alerts", __name__)

    def engine() -> Any:
        return context.alerts

    def publish() -> None:
        # Acknowledgements change /api/state: refresh it and wake WebSocket listeners.
        context.state.set_active_alerts(list(engine().active.values()))
        for listener in list(getattr(context, "poll_listeners", ())):
            listener()

    async def save(settings: AlertSettings, action: str) -> None:
        await context.settings.set(SETTINGS_SECTION, settings.model_dump())
        await context.audit(action, actor=_actor())

    @blueprint.errorhandler(BadRequest)
    async def _bad_request(exc: BadRequest) -> Response:
        return error_response(str(exc), 400)

    @blueprint.get("/api/notifications/thresholds")
    async def get_thresholds() -> Response:
        return jsonify(thresholds_document(engine().config))

    @blueprint.post("/api/notifications/thresholds")
    async def set_thresholds() -> Response:
        body = _camel_keys(await _json_object())
        if "overrides" in body:
            raise BadRequest("overrides: not part of the thresholds; POST them to /api/notifications/thresholds/overrides")
        current = engine().config
        merged = _merge(thresholds_document(current), body)
        try:
            document = ThresholdDocument.model_validate(merged)
            settings = load_settings({**document.model_dump(), "overrides": current.model_dump()["overrides"]})
        except ValidationError as exc:
            raise BadRequest(_problems(exc, ThresholdDocument)) from None
        await save(settings, "alerts.thresholds.update")
        return jsonify(thresholds_document(settings))

    @blueprint.get("/api/notifications/thresholds/overrides")
    async def get_overrides() -> Response:
        return jsonify(overrides_document(engine().config))

    @blueprint.post("/api/notifications/thresholds/overrides")
    async def set_overrides() -> Response:
        body = await _json_object()
        overrides = body.get("overrides")
        if not isinstance(overrides, dict):
            raise BadRequest('overrides: expected an object keyed by resource id or "tag:<name>"')
        current = engine().config.model_dump(exclude={"overrides"})
        try:
            settings = load_settings({**current, "overrides": overrides})
        except ValidationError as exc:
            raise BadRequest(_problems(exc, AlertSettings)) from None
        await save(settings, "alerts.overrides.update")
        return jsonify(overrides_document(settings))

    @blueprint.get("/api/notifications/alerts")
    async def get_alerts() -> Response:
        raw_limit = request.args.get("limit", str(DEFAULT_HISTORY_LIMIT))
        try:
            limit = int(raw_limit)
        except ValueError:
            raise BadRequest(f"limit: expected an integer, got {raw_limit!r}") from None
        if not 1 <= limit <= MAX_HISTORY_LIMIT:
            raise BadRequest(f"limit: must be between 1 and {MAX_HISTORY_LIMIT}, got {limit}")
        active = sorted(engine().active.values(), key=lambda alert: alert.start_time, reverse=True)
        history = await engine().history(limit)
        return jsonify({
            "active": [alert_to_api(alert) for alert in active],
            "history": [alert_to_api(alert) for alert in history],
        })

    @blueprint.post("/api/notifications/alerts/clear")
    async def clear_history() -> Response:
        await engine().clear_history()
        await context.audit("alerts.history.clear", actor=_actor())
        return jsonify({"cleared": True})

    async def change_ack(ids: list[str], acknowledge: bool) -> tuple[list[str], list[str]]:
        if acknowledge:
            missing = await engine().acknowledge(ids, user=_actor())
        else:
            missing = await engine().unacknowledge(ids)
        done = [alert_id for alert_id in ids if alert_id not in missing]
        if done:
            publish()
            action = "alerts.acknowledge" if acknowledge else "alerts.unacknowledge"
            await context.audit(action, actor=_actor(), ids=done)
        return done, missing

    async def bulk(acknowledge: bool) -> Response:
        ids = _ids_from(await _json_object())
        done, missing = await change_ack(ids, acknowledge)
        if not done:
            return error_response(f"ids: no active alert has any of the ids {', '.join(missing)}", 404)
        key = "acknowledged" if acknowledge else "unacknowledged"
        return jsonify({key: done, "notFound": missing})

    async def single(alert_id: str, acknowledge: bool) -> Response:
        done, _ = await change_ack([alert_id], acknowledge)
        if not done:
            return error_response(f"no active alert with id {alert_id!r}; it may have resolved", 404)
        alert = engine().active.get(alert_id)
        if alert is None:  # resolved right after the change
            return error_response(f"no active alert with id {alert_id!r}; it has resolved", 404)
        return jsonify(alert_to_api(alert))

    @blueprint.post("/api/notifications/alerts/acknowledge")
    async def acknowledge_many() -> Response:
        return await bulk(True)

    @blueprint.post("/api/notifications/alerts/unacknowledge")
    async def unacknowledge_many() -> Response:
        return await bulk(False)

    @blueprint.post("/api/notifications/alerts/<path:alert_id>/acknowledge")
    async def acknowledge_one(alert_id: str) -> Response:
        return await single(alert_id, True)

    @blueprint.post("/api/notifications/alerts/<path:alert_id>/unacknowledge")
    async def unacknowledge_one(alert_id: str) -> Response:
        return await single(alert_id, False)

    return blueprint
