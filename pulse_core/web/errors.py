"""The error envelope every HTTP route returns: ``{"error": "..."}`` with the status code.

Routes raise ``ApiError`` (or let werkzeug's ``HTTPException`` propagate, as
Quart does for 404, 405 and 413); ``install_error_handlers`` turns both into
the envelope. Unexpected exceptions become a 500 whose body never carries the
exception text, so internals (paths, hosts, secrets in messages) stay in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from quart import Response, request
from werkzeug.exceptions import HTTPException

from pulse_core.errors import PulseError

log = logging.getLogger(__name__)

# Headers a werkzeug exception may carry that the envelope must keep.
_KEPT_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})


class ApiError(PulseError):
    """A request failed in a way the client can act on; ``message`` is sent as the error text."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(message: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """Build the ``{"error": message}`` response with ``status``."""
    response = Response(orjson.dumps({"error": message}), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    # Errors describe one request at one moment, so they must not be cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def _http_error_message(exc: HTTPException) -> str:
    code = exc.code or 500
    path = request.path
    if code == 404:
        if path == "/api" or path.startswith("/api/"):
            return f"not found: no API endpoint at {path}; /api/openapi.json lists every endpoint"
        return f"not found: {path}"
    if code == 405:
        allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or []))
        return f"method {request.method} is not allowed on {path}; allowed methods: {allowed}"
    if code == 413:
        limit = request.max_content_length
        return f"request body too large: the limit is {limit} bytes (server.max_body_bytes)"
    return exc.description or exc.name


def http_exception_response(exc: HTTPException) -> Response:
    """Wrap a werkzeug HTTP exception in the envelope, keeping Allow and Retry-After."""
    headers = {name: value for name, value in exc.get_headers() if name.lower() in _KEPT_HEADERS}
    return error_response(_http_error_message(exc), exc.code or 500, headers)


def install_error_handlers(app: object) -> None:
    """Register the envelope handlers on ``app`` (a Quart application)."""

    @app.errorhandler(ApiError)  # type: ignore[attr-defined]
    async def _api_error(exc: ApiError) -> Response:
        return error_response(exc.message, exc.status, exc.headers)

    @app.errorhandler(HTTPException)  # type: ignore[attr-defined]
    async def _http_error(exc: HTTPException) -> Response:
        if exc.code == 404:
            from pulse_core.web.static import spa_fallback

            fallback = await spa_fallback()
            if fallback is not None:
                return fallback
        return http_exception_response(exc)

    @app.after_request  # type: ignore[attr-defined]
    async def _close_after_error_with_body(response: Response) -> Response:
        # An error can be sent before the client finished sending its body. Hypercorn 0.18 then
        # sometimes left the next request on that keep-alive connection hanging, even when the rest
        # of the body was read first (seen after a 405 to a request with a JSON body). So the
        # connection is closed instead, and the client reconnects for its next request.
        if response.status_code >= 400 and request.content_length:
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(Exception)  # type: ignore[attr-defined]
    async def _internal_error(exc: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response("internal server error; the server log has the details", 500)
