"""Builds the Quart (quart-trio) application served by Hypercorn."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from quart import Response, jsonify, request, websocket
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

import pulse_core
from pulse_core.errors import PulseError

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static" / "dist"


def error_response(message: str, status: int) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def create_app(daemon: Any) -> QuartTrio:
    app = QuartTrio(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = daemon.config.server.max_body_bytes
    app.extensions["pulse_daemon"] = daemon

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Response:
        return error_response(exc.description or exc.name, exc.code or 500)

    @app.errorhandler(Exception)
    async def _internal_error(exc: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response("internal server error", 500)

    @app.get("/api/health")
    async def health() -> Response:
        return jsonify({"status": "healthy", "timestamp": int(time.time()), "uptime": time.time() - daemon.started_at})

    @app.get("/api/version")
    async def version() -> Response:
        return jsonify({
            "version": f"v{pulse_core.__version__}",
            "build": "release",
            "runtime": "python",
            "channel": daemon.config.updates.channel,
            "isDocker": Path("/.dockerenv").exists() or os.environ.get("PULSE_DOCKER") == "true",
            "isDevelopment": os.environ.get("PULSE_DEV") == "true",
        })

    @app.get("/api/state")
    async def state() -> Response:
        return Response(daemon.state.serialized(), content_type="application/json")

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send(daemon.state.serialized().decode())

    @app.get("/")
    async def index() -> Response:
        index_file = STATIC_DIR / "index.html"
        if not index_file.is_file():
            return error_response("web UI is not built; run `make build-ui`", 503)
        return Response(index_file.read_bytes(), content_type="text/html; charset=utf-8")

    from pulse_core.web import guard

    guard.install(app, daemon)
    for blueprint in daemon.plugins.blueprints(daemon):
        app.register_blueprint(blueprint)
    return app
