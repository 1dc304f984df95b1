"""Per-guest metadata set by users (a custom console URL), kept in the "guest_metadata" settings section.

The section maps a guest id (``<instance>-<vmid>``, stable across migration)
to ``{"custom_url": "..."}``. Routes: ``GET /api/guests/metadata`` lists all,
``GET``/``PUT``/``DELETE /api/guests/<id>/metadata`` read, set and remove one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import trio
from quart import Blueprint, Response

from pulse_core.web.errors import ApiError
from pulse_core.web.jsonio import json_response, read_json_object

log = logging.getLogger(__name__)

SECTION = "guest_metadata"
MAX_URL_LENGTH = 2000
GUEST_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
STORED_FIELDS = frozenset({"custom_url"})


def url_problem(value: Any) -> str | None:
    """Return why ``value`` is not a usable console URL, or None when it is."""
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > MAX_URL_LENGTH:
        return f"too long; use at most {MAX_URL_LENGTH} characters"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{value!r} is not an absolute http:// or https:// URL"
    return None


def section_problems(section: Any) -> list[str]:
    """Return one "guest_metadata.<id>.<field>: reason" line per problem in a stored section."""
    if not isinstance(section, Mapping):
        return ["guest_metadata: expected an object keyed by guest id"]
    problems = []
    for guest_id, entry in section.items():
        where = f"guest_metadata.{guest_id}"
        if not GUEST_ID_RE.match(str(guest_id)):
            problems.append(f"{where}: invalid guest id")
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: expected an object")
            continue
        for name in sorted(set(entry) - STORED_FIELDS):
            problems.append(f"{where}.{name}: unknown field")
        if "custom_url" in entry:
            reason = url_problem(entry["custom_url"])
            if reason:
                problems.append(f"{where}.custom_url: {reason}")
    return problems


def to_api(guest_id: str, entry: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"id": guest_id, "customUrl": (entry or {}).get("custom_url", "")}


def _check_id(guest_id: str) -> None:
    if not GUEST_ID_RE.match(guest_id):
        raise ApiError(400, f"id: invalid guest id {guest_id!r}; use the guest's id from /api/state, e.g. pve1-100")


def create_blueprint(context: Any) -> Blueprint:
    """Build the guest metadata routes for the daemon ``context``."""
    blueprint = Blueprint("pulse_guest_metadata", __name__)
    lock = trio.Lock()  # serializes read-modify-write of the section

    @blueprint.get("/api/guests/metadata")
    async def list_metadata() -> Response:
        section = context.settings.get(SECTION, {}) or {}
        return json_response({"guests": [to_api(guest_id, entry) for guest_id, entry in sorted(section.items())]})

    @blueprint.get("/api/guests/<guest_id>/metadata")
    async def get_metadata(guest_id: str) -> Response:
        _check_id(guest_id)
        section = context.settings.get(SECTION, {}) or {}
        return json_response(to_api(guest_id, section.get(guest_id)))

    @blueprint.put("/api/guests/<guest_id>/metadata")
    async def put_metadata(guest_id: str) -> Response:
        _check_id(guest_id)
        body = await read_json_object()
        unknown = sorted(set(body) - {"customUrl"})
        if unknown:
            raise ApiError(400, "; ".join(f"{name}: unknown field (known fields: customUrl)" for name in unknown))
        custom_url = body.get("customUrl")
        if custom_url is None:
            raise ApiError(400, "customUrl: required field is missing; DELETE the metadata to remove it")
        custom_url = custom_url.strip() if isinstance(custom_url, str) else custom_url
        reason = url_problem(custom_url)
        if reason:
            raise ApiError(400, f"customUrl: {reason}")
        async with lock:
            section = context.settings.get(SECTION, {}) or {}
            section[guest_id] = {"custom_url": custom_url}
            await context.settings.set(SECTION, section)
        log.info("Console URL of guest %s changed through the API", guest_id)
        return json_response(to_api(guest_id, section[guest_id]))

    @blueprint.delete("/api/guests/<guest_id>/metadata")
    async def delete_metadata(guest_id: str) -> Response:
        _check_id(guest_id)
        async with lock:
            section = context.settings.get(SECTION, {}) or {}
            if guest_id not in section:
                raise ApiError(404, f"no metadata stored for guest {guest_id!r}")
            del section[guest_id]
            await context.settings.set(SECTION, section)
        log.info("Metadata of guest %s removed through the API", guest_id)
        return Response(b"", status=204)

    return blueprint


def openapi_paths() -> dict[str, Any]:
    from pulse_core.web.openapi import STRING, array, obj, operation, path_param

    metadata = obj({"id": STRING, "customUrl": {"type": "string", "description": "console URL; empty when unset"}})
    body = obj({"customUrl": {"type": "string", "description": "absolute http(s) URL"}}, additional=False)
    return {
        "/api/guests/metadata": {
            "get": operation("Metadata of every guest that has any", "guests", obj({"guests": array(metadata)})),
        },
        "/api/guests/{guestId}/metadata": {
            "parameters": [path_param("guestId", "guest id from /api/state (instance-vmid)")],
            "get": operation("Metadata of one guest (empty values when none is stored)", "guests", metadata,
                             errors=(400,)),
            "put": operation("Set a guest's custom console URL", "guests", metadata, body=body),
            "delete": operation("Remove a guest's metadata", "guests", None, status=204, errors=(400, 404)),
        },
    }
