"""Serves the built web UI from ``static/dist``: index.html, hashed assets and the SPA fallback.

Vite writes content-hashed file names under ``assets/``, so those can be cached
for a year. ``index.html`` names the current hashes and must be revalidated on
every load, so it is sent with ``no-cache``.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, request, send_from_directory
from werkzeug.exceptions import NotFound

from pulse_core.web.errors import error_response

STATIC_DIR = Path(__file__).parent / "static" / "dist"
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
INDEX_CACHE_CONTROL = "no-cache"
# Paths that never fall back to index.html: a missing API route or asset must be a real 404.
_NO_FALLBACK_PREFIXES = ("/api/", "/assets/", "/ws")

blueprint = Blueprint("ui", __name__)


async def _index_response() -> Response:
    index_file = STATIC_DIR / "index.html"
    if not index_file.is_file():
        return error_response("web UI is not built; run `make build-ui`", 503)
    response = Response(index_file.read_bytes(), content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = INDEX_CACHE_CONTROL
    return response


@blueprint.get("/")
async def index() -> Response:
    return await _index_response()


@blueprint.get("/assets/<path:filename>")
async def asset(filename: str) -> Response:
    response = await send_from_directory(STATIC_DIR / "assets", filename)
    response.headers["Cache-Control"] = ASSET_CACHE_CONTROL
    return response


async def spa_fallback() -> Response | None:
    """Return the UI for a non-API GET path that no route matched, or None when a 404 is right.

    Files at the top of ``dist`` (favicon, robots.txt) are sent as they are. Any
    other path gets index.html, so the browser's client-side router can handle it.
    """
    path = request.path
    if request.method not in ("GET", "HEAD") or path == "/api" or path.startswith(_NO_FALLBACK_PREFIXES):
        return None
    name = path.lstrip("/")
    if name and "/" not in name and (STATIC_DIR / name).is_file():
        try:
            response = await send_from_directory(STATIC_DIR, name)
        except NotFound:
            return None
        response.headers["Cache-Control"] = INDEX_CACHE_CONTROL
        return response
    return await _index_response()
