"""Builds the Quart (quart-trio) application served by Hypercorn.

Order matters: the error envelope first, then the request guard (auth, CSRF,
rate limits, headers), then the core's routes, the plugins' blueprints, and
last the web UI, whose SPA fallback serves only paths nothing else claimed.
"""

from __future__ import annotations

import logging
from typing import Any

import trio
from quart_trio import QuartTrio

from pulse_core.web.errors import ApiError, error_response
from pulse_core.web.static import STATIC_DIR

log = logging.getLogger(__name__)

__all__ = ["ApiError", "STATIC_DIR", "create_app", "error_response"]


def create_app(daemon: Any) -> QuartTrio:
    """Return the web application for ``daemon``; also subscribes the WebSocket hub to polls."""
    from pulse_core.web import guard, openapi, static
    from pulse_core.web.errors import install_error_handlers
    from pulse_core.web.routes import core_blueprints, system
    from pulse_core.web.routes.core import StateBody
    from pulse_core.web.ws import WebSocketHub
    from pulse_core.web.ws import blueprint as ws_blueprint

    app = QuartTrio(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = daemon.config.server.max_body_bytes
    app.extensions["pulse_daemon"] = daemon
    app.extensions["pulse_state_body"] = StateBody(daemon.state)
    app.extensions["pulse_nodes_lock"] = trio.Lock()
    app.extensions["pulse_settings_lock"] = trio.Lock()
    hub = WebSocketHub(daemon.state)
    app.extensions["pulse_ws_hub"] = hub
    daemon.poll_listeners.append(hub.on_poll)

    install_error_handlers(app)
    guard.install(app, daemon)
    for blueprint in core_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(ws_blueprint)
    app.register_blueprint(openapi.blueprint)
    for blueprint in daemon.plugins.blueprints(daemon):
        app.register_blueprint(blueprint)
        openapi.add_paths(getattr(blueprint, "openapi_paths", None) or {})
    app.register_blueprint(static.blueprint)
    system.install(app, daemon)
    return app
