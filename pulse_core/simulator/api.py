"""Routing, authentication and error envelopes shared by the simulated PVE and PBS APIs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import trio

from pulse_core.simulator.auth import Authenticator, AuthError, Principal
from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.server import API_PREFIX, Request, Response

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An API error with its HTTP status, message and optional per-parameter errors."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None, *, empty_body: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.empty_body = empty_body


class Raw:
    """A handler result that is sent as-is instead of wrapped in ``{"data": ...}``."""

    def __init__(self, body: bytes) -> None:
        self.body = body


@dataclass
class Context:
    request: Request
    principal: Principal
    params: dict[str, Any]
    now: float


RouteHandler = Callable[..., Any]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    public: bool = False
    token_allowed: bool = True


def task_state(status: str | None, *, running_name: str = "running") -> str:
    """Classify a task status for ``statusfilter``: running, ok, warning or error."""
    if status is None:
        return running_name
    if status == "OK":
        return "ok"
    if status.startswith("WARNINGS"):
        return "warning"
    return "error"


def param_error(name: str, message: str) -> ApiError:
    return ApiError(400, "Parameter verification failed.", {name: message})


class ApiApp:
    """Base of the PVE and PBS request handlers."""

    product = "PVE"

    def __init__(self, auth: Authenticator, clock: SimClock, auth_failure_delay: float = 0.0) -> None:
        self.auth = auth
        self.clock = clock
        self.auth_failure_delay = auth_failure_delay
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: RouteHandler, *, public: bool = False, token_allowed: bool = True) -> None:
        """Register ``handler`` for ``template`` ("/nodes/{node}/status"); placeholders match one segment."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "/?$"
        self.routes.append(Route(method, re.compile(regex), handler, public, token_allowed))

    async def handle(self, request: Request) -> Response:
        if not request.path.startswith(API_PREFIX + "/") and request.path != API_PREFIX:
            return self.not_found(request.method, request.path)
        path = request.path[len(API_PREFIX):] or "/"
        if request.method == "HEAD":
            return self.error_response(ApiError(501, "method 'HEAD' not available"))
        route, groups = self.match(request.method, path)
        if route is None:
            return self.not_found(request.method, path)
        now = self.clock.server_now()
        try:
            principal = self.authenticate(request, route, now)
        except AuthError as exc:
            logger.debug("simulated %s rejected credentials for %s: %s", self.product, path, exc)
            if self.auth_failure_delay:
                await trio.sleep(self.auth_failure_delay)
            return self.error_response(ApiError(401, self.auth_failure_message(str(exc))))
        except ApiError as exc:
            return self.error_response(exc)
        context = Context(request, principal, request.params, now)
        self.before_request()
        try:
            result = route.handler(context, **groups)
        except ApiError as exc:
            return self.error_response(exc)
        if isinstance(result, Response):
            return result
        if isinstance(result, Raw):
            return Response(body=result.body, reason="OK")
        return Response(body=orjson.dumps({"data": result}), reason="OK")

    def before_request(self) -> None:
        """Hook run after authentication and before the handler (metric catch-up)."""

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def authenticate(self, request: Request, route: Route, now: float) -> Principal:
        auth = self.auth
        cookie = request.headers.get("cookie", "")
        authorization = request.headers.get("authorization", "")
        token_prefix = f"{auth.product}APIToken"
        if route.public:
            if not route.token_allowed and authorization.startswith(token_prefix):
                raise ApiError(403, self.token_not_allowed_message(request.path))
            return Principal("anonymous")
        ticket = None
        if cookie:
            from pulse_core.simulator.auth import parse_cookie

            ticket = parse_cookie(cookie, auth.cookie_name)
        if ticket is None and authorization.startswith(auth.cookie_name + "="):
            ticket = authorization[len(auth.cookie_name) + 1:]
        if ticket:
            principal = auth.verify_ticket(ticket, now)
            if request.method != "GET" and not auth.verify_csrf(
                principal.userid, request.headers.get("csrfpreventiontoken"), now
            ):
                raise ApiError(401, self.csrf_message())
            return principal
        if authorization.startswith((token_prefix + "=", token_prefix + " ")):
            principal = auth.verify_token_header(authorization)
            if not route.token_allowed:
                raise ApiError(403, self.token_not_allowed_message(request.path))
            return principal
        raise AuthError("No ticket")

    # -- product-specific wording ------------------------------------------------

    def auth_failure_message(self, detail: str) -> str:
        if detail in ("authentication failure", "No ticket"):
            return detail
        return "Authentication failed!"

    def csrf_message(self) -> str:
        return "Permission denied - invalid csrf token"

    def token_not_allowed_message(self, uri: str) -> str:
        return f"Permission check failed (URI '{uri}' not available with API token, need proper ticket.)"

    def permission_error(self, path: str, *privileges: str) -> ApiError:
        return ApiError(403, f"Permission check failed ({path}, {'|'.join(privileges)})")

    def require(self, context: Context, path: str, *privileges: str) -> None:
        if not context.principal.has(path, *privileges):
            raise self.permission_error(path, *privileges)

    def not_found(self, method: str, path: str) -> Response:
        return self.error_response(ApiError(501, f"Method '{method} {path}' not implemented"))

    def error_response(self, error: ApiError) -> Response:
        if error.empty_body:
            return Response(status=error.status, body=b"", reason=error.message)
        payload: dict[str, Any] = {"data": None, "message": error.message.rstrip("\n") + "\n"}
        if error.errors:
            payload["errors"] = error.errors
        return Response(status=error.status, body=orjson.dumps(payload), reason=error.message.rstrip("\n"))


async def replay_response(app: ApiApp, request: Request, status: int, body: bytes, reason: str) -> Response:
    """Authenticate ``request`` like a live call, then send a recorded body."""
    route = Route(request.method, re.compile(""), lambda context: None)
    try:
        app.authenticate(request, route, app.clock.server_now())
    except AuthError:
        if app.auth_failure_delay:
            await trio.sleep(app.auth_failure_delay)
        return app.error_response(ApiError(401, app.auth_failure_message("invalid")))
    except ApiError as exc:
        return app.error_response(exc)
    return Response(status=status, body=body, reason=reason)
