"""Health, version, the full state document and the plugin list."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path
from typing import Any

import trio
from quart import Blueprint, Response, current_app, request

import pulse_core
from pulse_core.web.jsonio import current_daemon, json_response

blueprint = Blueprint("core", __name__)

# gzip level 5 compresses the state document about 10:1 in a few milliseconds per megabyte.
GZIP_LEVEL = 5


class StateBody:
    """The /api/state body for the current state version, plain and gzip-compressed.

    The plain bytes are the state's own cache (serialized once per version). The
    gzip variant is compressed at most once per version, in a worker thread, so
    the event loop keeps serving while it runs.
    """

    def __init__(self, state: Any) -> None:
        self.state = state
        self._gzip_version = -1
        self._gzip_body = b""
        self._lock = trio.Lock()

    def etag(self, version: int, encoding: str) -> str:
        """Return the unquoted entity tag; it changes with the state version and on restart."""
        return f"{int(self.state.started)}-{version}-{encoding}"

    async def get(self, use_gzip: bool) -> tuple[bytes, str]:
        """Return ``(body, etag)`` for the latest version."""
        raw = self.state.serialized()
        version = self.state.version
        if not use_gzip:
            return raw, self.etag(version, "identity")
        if self._gzip_version != version:
            async with self._lock:
                if self._gzip_version != version:
                    self._gzip_body = await trio.to_thread.run_sync(gzip.compress, raw, GZIP_LEVEL)
                    self._gzip_version = version
        return self._gzip_body, self.etag(version, "gzip")


def _accepts_gzip() -> bool:
    header = request.headers.get("Accept-Encoding", "")
    # Checking the raw header first skips werkzeug's parser for clients that never send gzip.
    return "gzip" in header and request.accept_encodings["gzip"] > 0


@blueprint.get("/api/health")
async def health() -> Response:
    daemon = current_daemon()
    hub = current_app.extensions["pulse_ws_hub"]
    return json_response({
        "status": "healthy",
        "timestamp": int(time.time()),
        "uptime": time.time() - daemon.started_at,
        "websocket": hub.stats(),
    })


@blueprint.get("/api/version")
async def version() -> Response:
    from pulse_core.web.routes.system import effective_system_settings

    daemon = current_daemon()
    return json_response({
        "version": f"v{pulse_core.__version__}",
        "build": "release",
        "runtime": "python",
        "channel": effective_system_settings(daemon)["updateChannel"],
        "isDocker": Path("/.dockerenv").exists() or os.environ.get("PULSE_DOCKER") == "true",
        "isDevelopment": os.environ.get("PULSE_DEV") == "true",
    })


@blueprint.get("/api/state")
async def state() -> Response:
    body_cache: StateBody = current_app.extensions["pulse_state_body"]
    use_gzip = _accepts_gzip()
    body, etag = await body_cache.get(use_gzip)
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.if_none_match.contains_weak(etag):
        return Response(b"", status=304, headers=headers)
    response = Response(body, content_type="application/json", headers=headers)
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    return response


@blueprint.get("/api/plugins")
async def plugins() -> Response:
    return json_response({"plugins": current_daemon().plugins.describe()})
