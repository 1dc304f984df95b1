"""HTTP routes for the delivery queue: what is pending, what was dead-lettered, retrying by hand."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify

from pulse_core.web.app import error_response


def create_blueprint(daemon: Any) -> Blueprint:
    blueprint = Blueprint("pulse_notify_queue", __name__)

    @blueprint.get("/api/notifications/queue")
    async def queue() -> Response:
        return jsonify(await daemon.dispatcher.queue_snapshot())

    @blueprint.get("/api/notifications/dead-letters")
    async def dead_letters() -> Response:
        snapshot = await daemon.dispatcher.queue_snapshot()
        return jsonify(snapshot["deadLetters"])

    @blueprint.post("/api/notifications/dead-letters/<delivery_id>/retry")
    async def retry(delivery_id: str) -> Response:
        delivery = await daemon.dispatcher.retry_dead(delivery_id)
        if delivery is None:
            return error_response(f"dead letter {delivery_id!r} not found", 404)
        await daemon.audit("notification.retry", delivery=delivery_id, channel=delivery.channel_id)
        return jsonify({"id": delivery.id, "status": delivery.status})

    return blueprint
