"""``/api/config/nodes``: list, add, update, remove and test Proxmox VE and PBS connections.

Nodes are stored as snake_case dicts in the "nodes" settings section. The
daemon subscribes to that section, so a saved change starts, restarts or stops
polling without a restart. Secrets are write-only: responses carry
``hasPassword`` and ``hasToken``, never the values. The request guard writes
the audit event for each successful change.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import trio
from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, current_app, request

from pulse_core.daemon import NODES_SECTION, node_settings_from_dict
from pulse_core.errors import PulseError
from pulse_core.model import ConnectionReport, slugify
from pulse_core.security import audit
from pulse_core.security.context import current_actor, current_client
from pulse_core.web.errors import ApiError
from pulse_core.web.jsonio import current_daemon, json_response, parse_model, read_json_object

log = logging.getLogger(__name__)

blueprint = Blueprint("nodes", __name__)

# Stored (snake_case) field names as the API spells them, for messages from plugin validators.
API_FIELD_NAMES = {"token_name": "tokenName", "token_value": "tokenValue", "verify_ssl": "verifySSL"}
_FIELD_PREFIX_RE = re.compile(r"^(token_name|token_value|verify_ssl)\b")


class NodeRequest(BaseModel):
    """A node as clients send it; every field is optional here and required ones are checked per route."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: str | None = None
    name: str | None = Field(None, min_length=1, max_length=100)
    host: str | None = Field(None, min_length=1, max_length=500)
    user: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=1000)
    token_name: str | None = Field(None, alias="tokenName", max_length=300)
    # Accepted as the full "user@realm!name" form, as Proxmox shows it.
    token_id: str | None = Field(None, alias="tokenId", max_length=300)
    token_value: str | None = Field(None, alias="tokenValue", max_length=1000)
    verify_ssl: bool | None = Field(None, alias="verifySSL")
    fingerprint: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    options: dict[str, Any] | None = None


class TestConnectionRequest(NodeRequest):
    """A node to test; ``id`` names a saved node whose stored secrets fill in omitted ones."""

    id: str | None = Field(None, max_length=100)


def _lock() -> trio.Lock:
    return current_app.extensions["pulse_nodes_lock"]


def _stored_nodes(daemon: Any) -> list[dict[str, Any]]:
    return list(daemon.settings.get(NODES_SECTION, []))


_TEST_CONNECTION = "test-connection"


def _find(nodes: list[dict[str, Any]], node_id: str) -> int:
    for index, node in enumerate(nodes):
        if node.get("id") == node_id:
            return index
    if node_id == _TEST_CONNECTION and request.method != "POST":
        # The node routes' converter also matches the connection test's path, so without a node of
        # that id a GET, PUT or DELETE there would read as "node not found" instead of a wrong method.
        raise ApiError(
            405,
            f"method {request.method} is not allowed on {request.path}; allowed methods: POST",
            {"Allow": "POST"},
        )
    raise ApiError(404, f"node not found: {node_id!r}; GET /api/config/nodes lists the configured nodes")


def node_status(daemon: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """Return the connection status fields of one stored node from the last poll."""
    if not stored.get("enabled", True):
        return {"status": "disabled", "statusMessage": "", "lastSuccess": None}
    instance = daemon.state.instances.get(stored["id"])
    health = instance.health if instance is not None else None
    if health is None:
        return {"status": "pending", "statusMessage": "not polled yet", "lastSuccess": None}
    return {
        "status": "connected" if health.healthy else "error",
        "statusMessage": health.message,
        "lastSuccess": health.last_success,
    }


def node_to_api(daemon: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """Return a stored node in API form, with secrets replaced by ``hasPassword``/``hasToken``."""
    return {
        "id": stored["id"],
        "type": stored["type"],
        "name": stored.get("name") or stored["id"],
        "host": stored["host"],
        "user": stored.get("user") or "",
        "tokenName": stored.get("token_name") or "",
        "hasPassword": bool(stored.get("password")),
        "hasToken": bool(stored.get("token_value")),
        "verifySSL": bool(stored.get("verify_ssl", True)),
        "fingerprint": stored.get("fingerprint") or "",
        "enabled": bool(stored.get("enabled", True)),
        "options": dict(stored.get("options") or {}),
        **node_status(daemon, stored),
    }


def _split_token_id(body: NodeRequest, user: str | None) -> tuple[str | None, str | None]:
    """Return ``(user, token_name)`` after folding a full ``tokenId`` into them."""
    if body.token_id is None:
        return user, body.token_name
    if body.token_name is not None and body.token_name != body.token_id:
        raise ApiError(400, "tokenId: give either tokenId or tokenName, not both with different values")
    if "!" not in body.token_id:
        return user, body.token_id
    token_user, token_name = body.token_id.split("!", 1)
    if user and user != token_user:
        raise ApiError(400, f"tokenId: the token belongs to {token_user!r} but user is {user!r}; make them match")
    return token_user, token_name


def _merge(body: NodeRequest, stored: dict[str, Any]) -> dict[str, Any]:
    """Apply the fields the client sent to a stored node dict and return the result.

    An omitted or empty secret keeps the stored one, because clients never see
    secrets and cannot send them back. Sending a password without token fields
    switches the node to password login (the stored token is dropped), and the
    other way round.
    """
    node = dict(stored)
    sent = body.model_fields_set
    for field in ("type", "name", "host", "fingerprint", "enabled", "options"):
        if field in sent and getattr(body, field) is not None:
            node[field] = getattr(body, field)
    if "verify_ssl" in sent and body.verify_ssl is not None:
        node["verify_ssl"] = body.verify_ssl
    user = body.user if "user" in sent else node.get("user")
    user, token_name = _split_token_id(body, user)
    node["user"] = user or None
    if token_name is not None:
        node["token_name"] = token_name or None
    if body.password:
        node["password"] = body.password
        if not body.token_value and body.token_name is None and body.token_id is None:
            node["token_name"] = None
            node["token_value"] = None
    if body.token_value:
        node["token_value"] = body.token_value
        if not body.password:
            node["password"] = None
    node["host"] = str(node.get("host") or "").rstrip("/")
    return node


def _validate(daemon: Any, node: dict[str, Any]) -> None:
    """Raise a 400 naming every field the node's source type rejects."""
    for required in ("type", "host"):
        if not node.get(required):
            raise ApiError(400, f"{required}: required field is missing")
    problems = daemon.validate_node(node_settings_from_dict(node))
    if problems:
        named = [_FIELD_PREFIX_RE.sub(lambda match: API_FIELD_NAMES[match.group(1)], line) for line in problems]
        raise ApiError(400, "; ".join(named))


def report_to_api(report: ConnectionReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "message": report.message,
        "reachable": report.reachable,
        "authenticated": report.authenticated,
        "fingerprint": report.fingerprint,
        "version": report.version,
        "clusterName": report.cluster_name,
        "members": list(report.members),
        "missingPrivileges": list(report.missing_privileges),
        "details": dict(report.details),
    }


@blueprint.get("/api/config/nodes")
async def list_nodes() -> Response:
    daemon = current_daemon()
    return json_response([node_to_api(daemon, node) for node in _stored_nodes(daemon)])


@blueprint.get("/api/config/nodes/<node_id>")
async def get_node(node_id: str) -> Response:
    daemon = current_daemon()
    nodes = _stored_nodes(daemon)
    return json_response(node_to_api(daemon, nodes[_find(nodes, node_id)]))


@blueprint.post("/api/config/nodes")
async def add_node() -> Response:
    daemon = current_daemon()
    body = parse_model(NodeRequest, await read_json_object())
    for required in ("type", "name", "host"):
        if not getattr(body, required):
            raise ApiError(400, f"{required}: required field is missing")
    async with _lock():
        nodes = _stored_nodes(daemon)
        node_id = slugify(body.name or "")
        if any(item.get("id") == node_id for item in nodes):
            raise ApiError(
                409,
                f"name: a node with id {node_id!r} already exists; choose another name "
                f"or change that node with PUT /api/config/nodes/{node_id}",
            )
        node = _merge(body, {"id": node_id, "verify_ssl": True, "enabled": True, "options": {}})
        _validate(daemon, node)
        nodes.append(node)
        await daemon.settings.set(NODES_SECTION, nodes)
    log.info("Node %s (%s, %s) added through the API", node_id, node["type"], node["host"])
    return json_response(node_to_api(daemon, node), status=201)


@blueprint.put("/api/config/nodes/<node_id>")
async def update_node(node_id: str) -> Response:
    daemon = current_daemon()
    body = parse_model(NodeRequest, await read_json_object())
    async with _lock():
        nodes = _stored_nodes(daemon)
        index = _find(nodes, node_id)
        # The id stays when the name changes, so history and alerts keep following the node.
        node = _merge(body, nodes[index])
        _validate(daemon, node)
        nodes[index] = node
        await daemon.settings.set(NODES_SECTION, nodes)
    log.info("Node %s changed through the API", node_id)
    return json_response(node_to_api(daemon, node))


@blueprint.delete("/api/config/nodes/<node_id>")
async def delete_node(node_id: str) -> Response:
    daemon = current_daemon()
    async with _lock():
        nodes = _stored_nodes(daemon)
        del nodes[_find(nodes, node_id)]
        await daemon.settings.set(NODES_SECTION, nodes)
    log.info("Node %s removed through the API", node_id)
    return Response(b"", status=204)


@blueprint.post("/api/config/nodes/test-connection")
async def test_connection() -> Response:
    daemon = current_daemon()
    body = parse_model(TestConnectionRequest, await read_json_object())
    base: dict[str, Any] = {"id": "connection-test", "verify_ssl": True, "enabled": True, "options": {}}
    if body.id is not None:
        nodes = _stored_nodes(daemon)
        base = nodes[_find(nodes, body.id)]
    node = _merge(body, base)
    node["name"] = node.get("name") or node["id"]
    _validate(daemon, node)
    report = await run_connection_test(daemon, node)
    # A test changes no setting, so it gets its own action rather than config.change.
    await audit.record(
        daemon, audit.TEST_CONNECTION, actor=current_actor(), client=current_client().address,
        node=node["id"], type=node["type"], host=node["host"], ok=report.ok,
    )
    return json_response(report_to_api(report))


async def run_connection_test(daemon: Any, node: dict[str, Any]) -> ConnectionReport:
    """Connect with a throwaway source and return its report; failures become ``ok: false``."""
    timeout = daemon.config.polling.timeout_seconds
    try:
        source = daemon.create_source(node_settings_from_dict(node))
    except PulseError as exc:
        return ConnectionReport(ok=False, message=str(exc))
    try:
        with trio.move_on_after(timeout) as scope:
            report = await source.test_connection()
        if scope.cancelled_caught:
            return ConnectionReport(ok=False, message=f"connection test timed out after {timeout:g} s")
        return report
    except PulseError as exc:
        return ConnectionReport(ok=False, message=str(exc))
    finally:
        with trio.CancelScope(shield=True):
            try:
                await source.aclose()
            except PulseError:
                log.warning("Closing the test connection to %s failed", node.get("host"), exc_info=True)
