"""JSON responses (orjson) and request bodies parsed into pydantic models with field-named errors."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
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


def model_field_names(model: type[BaseModel]) -> list[str]:
    """Return the field names ``model`` accepts in API form (aliases where set), sorted."""
    return sorted(field.alias or name for name, field in model.model_fields.items())


def format_known_fields(known: Iterable[str]) -> str:
    """Return the " (known fields: ...)" suffix that follows an unknown-field error."""
    return f" (known fields: {', '.join(sorted(known))})"


def reject_unknown_fields(data: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise a 400 ``ApiError`` naming every key of ``data`` that is not in ``known``.

    The message has the same form as a pydantic model with ``extra="forbid"`` gives
    through ``parse_model``: ``colour: unknown field (known fields: a, b)``.
    """
    known = set(known)
    unknown = [str(key) for key in data if key not in known]
    if unknown:
        message = "; ".join(f"{name}: unknown field" for name in unknown)
        raise ApiError(400, message + format_known_fields(known))


def _unwrap_container(annotation: Any) -> tuple[Any, bool]:
    """Return the item type of an optional, dict or list annotation and whether a key or index is skipped."""
    origin = typing.get_origin(annotation)
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _unwrap_container(args[0])
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1], True
    if origin in (list, Sequence) and len(args) == 1:
        return args[0], True
    return annotation, False


def nested_field_names(model: type[BaseModel], location: Sequence[Any]) -> list[str] | None:
    """Return the field names of the model found at ``location`` (a pydantic error ``loc``) inside ``model``.

    Dict keys and list indexes in ``location`` are stepped over. Returns ``None`` when
    the location does not lead to a model, e.g. a field of a plain type.
    """
    current: Any = model
    steps = list(location)
    while steps:
        current, skips_key = _unwrap_container(current)
        if skips_key:
            steps.pop(0)
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        step = str(steps.pop(0))
        field = next((item for name, item in current.model_fields.items() if step in (name, item.alias)), None)
        if field is None:
            return None
        current = field.annotation
    current, _ = _unwrap_container(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return model_field_names(current)
    return None


def parse_model(model: type[ModelT], data: Mapping[str, Any], known_fields_hint: bool = True) -> ModelT:
    """Validate ``data`` with ``model``; a failure becomes a 400 naming each bad field and why."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(exc)
        if known_fields_hint and any(error["type"] == "extra_forbidden" for error in exc.errors()):
            message += format_known_fields(model_field_names(model))
        raise ApiError(400, message) from None


def current_daemon() -> Any:
    """Return the daemon the running app serves (set by ``create_app``)."""
    from quart import current_app

    return current_app.extensions["pulse_daemon"]
