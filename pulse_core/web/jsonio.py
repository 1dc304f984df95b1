"""JSON responses (orjson) and request bodies parsed into pydantic models with field-named errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from quart import Response, request

from pulse_core.web.errors import ApiError

ModelT = TypeVar("ModelT", bound=BaseModel)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Serialize ``data`` with orjson into a response; API data is never cached by the browser."""
    response = Response(orjson.dumps(data), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


async def read_json_object() -> dict[str, Any]:
    """Return the request body as a JSON object, or raise a 400 ``ApiError`` saying what is wrong."""
    body = await request.get_data(cache=True)
    if not body:
        raise ApiError(400, "request body: missing; send a JSON object with Content-Type: application/json")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"request body: invalid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"request body: expected a JSON object, got {type(data).__name__}")
    return data


def format_validation_error(exc: ValidationError) -> str:
    """Turn pydantic errors into "field: reason" parts joined by "; " (field names as the client sent them)."""
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(item) for item in error["loc"]) or "request body"
        if error["type"] == "extra_forbidden":
            parts.append(f"{location}: unknown field")
        elif error["type"] == "missing":
            parts.append(f"{location}: required field is missing")
        else:
            parts.append(f"{location}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse_model(model: type[ModelT], data: Mapping[str, Any], known_fields_hint: bool = True) -> ModelT:
    """Validate ``data`` with ``model``; a failure becomes a 400 naming each bad field and why."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(exc)
        if known_fields_hint and any(error["type"] == "extra_forbidden" for error in exc.errors()):
            known = ", ".join(sorted(field.alias or name for name, field in model.model_fields.items()))
            message += f" (known fields: {known})"
        raise ApiError(400, message) from None


def current_daemon() -> Any:
    """Return the daemon the running app serves (set by ``create_app``)."""
    from quart import current_app

    return current_app.extensions["pulse_daemon"]
