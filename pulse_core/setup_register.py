"""Auto-registration of a node sent by a setup script: validate, test, pin, merge and store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import trio

from pulse_core.daemon import NODES_SECTION, node_settings_from_dict
from pulse_core.model import ConnectionReport, slugify
from pulse_core.web.errors import ApiError

log = logging.getLogger(__name__)

KNOWN_FIELDS = ("type", "host", "name", "username", "tokenId", "tokenValue", "fingerprint")


@dataclass(slots=True)
class Registration:
    node: dict[str, Any]
    action: str  # "created" or "updated"
    fingerprint_source: str  # "node" (read on the node by the script) or "observed" (presented to Pulse)
    report: ConnectionReport

    def to_api(self, context: Any) -> dict[str, Any]:
        from pulse_core.web.routes.nodes import node_to_api

        return {
            "success": True,
            "action": self.action,
            "node": node_to_api(context, self.node),
            "fingerprint": self.node.get("fingerprint") or "",
            "fingerprintSource": self.fingerprint_source,
            "message": self.report.message,
        }


def _text(body: dict[str, Any], name: str, required: bool = False, limit: int = 500) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{name}: required field is missing")
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"{name}: must be a string")
    if len(value) > limit:
        raise ApiError(400, f"{name}: too long; use at most {limit} characters")
    return value.strip()


def _credentials(body: dict[str, Any]) -> tuple[str, str, str]:
    """Return ``(user, token_name, token_value)`` from the body's username and tokenId."""
    username = _text(body, "username", limit=200)
    token_id = _text(body, "tokenId", required=True, limit=300)
    token_value = _text(body, "tokenValue", required=True, limit=1000)
    if "!" in token_id:
        token_user, token_name = token_id.split("!", 1)
        if username and username != token_user:
            raise ApiError(400, f"tokenId: the token belongs to {token_user!r} but username is {username!r}")
        username = token_user
    else:
        token_name = token_id
    if not username:
        raise ApiError(400, "username: required when tokenId does not name its user (user@realm!name)")
    return username, token_name, token_value


async def _test(context: Any, node: dict[str, Any]) -> ConnectionReport:
    from pulse_core.web.routes.nodes import run_connection_test

    return await run_connection_test(context, node)


def _cluster_of(context: Any, stored: dict[str, Any]) -> str | None:
    """Return the cluster name of a stored node: recorded at registration, else seen in the last poll."""
    if stored.get("cluster_name"):
        return str(stored["cluster_name"])
    for node in context.state.all("nodes"):
        if getattr(node, "instance", None) == stored.get("id") and getattr(node, "cluster_name", None):
            return str(node.cluster_name)
    return None


def _find_existing(context: Any, nodes: list[dict[str, Any]], kind: str, host: str, cluster: str | None) -> int | None:
    for index, stored in enumerate(nodes):
        if stored.get("type") == kind and str(stored.get("host", "")).rstrip("/").lower() == host.lower():
            return index
    if kind == "pve" and cluster:
        for index, stored in enumerate(nodes):
            if stored.get("type") == "pve" and _cluster_of(context, stored) == cluster:
                return index
    return None


def _unique_id(nodes: list[dict[str, Any]], name: str) -> str:
    base = slugify(name)
    taken = {str(node.get("id")) for node in nodes}
    candidate, counter = base, 2
    while candidate in taken:
        candidate = f"{base}-{counter}"
        counter += 1
    return candidate


async def register_node(context: Any, lock: trio.Lock, pending: Any, body: dict[str, Any]) -> Registration:
    """Test and store the node a setup script sent; raise ``ApiError`` (400) with the reason on failure."""
    from pulse_core.setup_script import normalize_host

    unknown = sorted(set(body) - set(KNOWN_FIELDS))
    if unknown:
        raise ApiError(400, "; ".join(f"{name}: unknown field (known fields: {', '.join(KNOWN_FIELDS)})"
                                      for name in unknown))
    kind = _text(body, "type", required=True)
    if kind != pending.kind:
        raise ApiError(400, f"type: the setup code was issued for a {pending.kind} node, not {kind!r}")
    source_type = context.source_types.get(kind)
    if source_type is None:
        raise ApiError(400, f"type: no installed plugin provides {kind!r} nodes")
    host = normalize_host(body.get("host"), source_type.default_port)
    if host != pending.host:
        raise ApiError(400, f"host: the setup code was issued for {pending.host}, not {host}")
    user, token_name, token_value = _credentials(body)
    fingerprint = _text(body, "fingerprint", limit=200)
    name = _text(body, "name", limit=100) or host.split("//", 1)[1].rsplit(":", 1)[0]

    node: dict[str, Any] = {
        "id": "auto-register-test", "type": kind, "name": name, "host": host, "user": user,
        "password": None, "token_name": token_name, "token_value": token_value,
        # Without a fingerprint from the node, connect once without verification to learn the presented one.
        "verify_ssl": bool(fingerprint), "fingerprint": fingerprint or None, "enabled": True, "options": {},
    }
    problems = context.validate_node(node_settings_from_dict(node))
    if problems:
        raise ApiError(400, "; ".join(problems))
    report = await _test(context, node)
    if not report.ok:
        raise ApiError(400, f"connection test failed: {report.message}")
    if not fingerprint:
        if not report.fingerprint:
            raise ApiError(400, "connection test succeeded but reported no certificate fingerprint to pin; "
                                "send the fingerprint read on the node")
        node["fingerprint"] = report.fingerprint
        node["verify_ssl"] = True
    source = "node" if fingerprint else "observed"

    async with lock:
        nodes = list(context.settings.get(NODES_SECTION, []))
        index = _find_existing(context, nodes, kind, host, report.cluster_name)
        if index is None:
            node["id"] = _unique_id(nodes, report.cluster_name or name)
            node["name"] = report.cluster_name or name
            if report.cluster_name:
                node["cluster_name"] = report.cluster_name
            nodes.append(node)
            action = "created"
            stored = node
        else:
            stored = dict(nodes[index])
            same_host = str(stored.get("host", "")).rstrip("/").lower() == host.lower()
            # PVE tokens are cluster-wide, so a cluster entry keeps its host and pinned certificate
            # and takes only the new credentials. An entry of the same host also takes the new fingerprint.
            stored.update({"user": user, "token_name": token_name, "token_value": token_value,
                           "password": None, "enabled": True})
            if same_host:
                stored.update({"fingerprint": node["fingerprint"], "verify_ssl": True})
            if report.cluster_name:
                stored["cluster_name"] = report.cluster_name
            nodes[index] = stored
            action = "updated"
        await context.settings.set(NODES_SECTION, nodes)
    log.info("Auto-registration %s node %s (%s, %s); fingerprint from the %s", action, stored["id"], kind, host,
             "node" if source == "node" else "server's certificate")
    return Registration(node=stored, action=action, fingerprint_source=source, report=report)
