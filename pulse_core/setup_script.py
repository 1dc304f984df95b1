"""``POST /api/setup-script`` and ``POST /api/auto-register``: add a Proxmox node by running one script on it.

An authenticated user requests a script for one node. The response contains the
script and a one-time setup code: random, kept only as its SHA-256 hash,
valid for 5 minutes and for one successful registration. The script creates a
monitoring user and token on the node and sends them to ``/api/auto-register``
with the code in the ``X-Pulse-Setup-Code`` header, never in a URL. The request
guard lets that route through without a session because the code is its
credential.

Registration tests the connection with the node's source type, pins the TLS
certificate fingerprint (the one the script read on the node, or else the one
the server presents), and merges with an existing entry of the same host or,
for PVE, of the same cluster, instead of adding a duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, request

from pulse_core.model import slugify
from pulse_core.security.context import current_actor, current_client
from pulse_core.setup_templates import SETUP_CODE_HEADER, ScriptParams, render
from pulse_core.web.errors import ApiError
from pulse_core.web.jsonio import json_response, read_json_object

log = logging.getLogger(__name__)

CODE_TTL_SECONDS = 300.0
# A code survives this many failed registrations (wrong token, unreachable host) before it is dropped.
MAX_CODE_FAILURES = 3
MAX_PENDING_CODES = 100
NODE_TYPES = ("pve", "pbs")
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")


@dataclass(slots=True)
class PendingCode:
    kind: str
    host: str
    expires: float
    issued_by: str
    failures: int = 0


class SetupCodes:
    """One-time setup codes, stored by SHA-256 hash; ``clock`` returns Unix seconds."""

    def __init__(self, clock: Any = time.time) -> None:
        self.clock = clock
        self._pending: dict[str, PendingCode] = {}

    @staticmethod
    def _digest(code: str) -> str:
        return hashlib.sha256(code.encode("utf-8")).hexdigest()

    def issue(self, kind: str, host: str, issued_by: str) -> tuple[str, float]:
        """Return a new code and its expiry time."""
        self._prune()
        if len(self._pending) >= MAX_PENDING_CODES:
            oldest = min(self._pending, key=lambda key: self._pending[key].expires)
            del self._pending[oldest]
        code = secrets.token_urlsafe(32)
        expires = self.clock() + CODE_TTL_SECONDS
        self._pending[self._digest(code)] = PendingCode(kind, host, expires, issued_by)
        return code, expires

    def claim(self, code: str) -> tuple[str, PendingCode]:
        """Take a code out of the store, so no concurrent request can use it; raise ApiError if unusable."""
        self._prune()
        digest = self._digest(code)
        for key in list(self._pending):
            if hmac.compare_digest(key, digest):
                return key, self._pending.pop(key)
        raise ApiError(401, "setup code invalid, expired or already used; generate a new setup script in Pulse")

    def peek(self, code: str) -> PendingCode:
        """Return a code's entry without using it up; raise ApiError if unusable."""
        key, pending = self.claim(code)
        self._pending[key] = pending
        return pending

    def release(self, key: str, pending: PendingCode) -> None:
        """Put a claimed code back after a failed registration, until it failed too often."""
        pending.failures += 1
        if pending.failures < MAX_CODE_FAILURES and pending.expires > self.clock():
            self._pending[key] = pending

    def _prune(self) -> None:
        now = self.clock()
        for key in [key for key, item in self._pending.items() if item.expires <= now]:
            del self._pending[key]


def normalize_host(text: Any, default_port: int) -> str:
    """Return ``https://host:port`` for a node address given as a URL or ``host[:port]``."""
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "host: required, the node's address such as https://pve1.example.com:8006")
    value = text.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    try:
        port = parts.port or default_port
    except ValueError:
        raise ApiError(400, f"host: invalid port in {text!r}") from None
    hostname = parts.hostname or ""
    if parts.scheme != "https" or not hostname or parts.path or parts.query or parts.username:
        raise ApiError(400, f"host: {text!r} is not a node address; use https://host:port or host[:port]")
    if ":" in hostname:
        return f"https://[{hostname}]:{port}"
    if not _HOSTNAME_RE.match(hostname):
        raise ApiError(400, f"host: {hostname!r} is not a valid host name or IP address")
    return f"https://{hostname.lower()}:{port}"


def _check_url(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{field}: must be a non-empty string")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ApiError(400, f"{field}: {value!r} is not an http(s) URL such as http://pulse.example.com:7655")
    if any(char in value for char in "'\"\\ \n\r\t"):
        raise ApiError(400, f"{field}: must not contain quotes, backslashes or white space")
    return value.strip().rstrip("/")


def token_name_for(pulse_url: str) -> str:
    """Return the token name this Pulse uses on every node: "pulse-" and its host, as PVE/PBS allow."""
    host = urlsplit(pulse_url).hostname or "pulse"
    return ("pulse-" + slugify(host))[:60]


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pulse_url(context: Any, body: dict[str, Any]) -> str:
    if body.get("pulseUrl") is not None:
        return _check_url(body["pulseUrl"], "pulseUrl")
    saved = (context.settings.get("system", {}) or {}).get("public_url") or context.config.server.public_url
    if saved:
        return _check_url(saved, "publicUrl")
    return _check_url(request.host_url, "pulseUrl")


def check_code(pending: PendingCode, body: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer a script's check before it changes anything: is the code usable for this node?"""
    unknown = sorted(set(body) - {"type", "host", "checkOnly"})
    if unknown:
        raise ApiError(400, "; ".join(f"{name}: unknown field in a check (known fields: type, host, checkOnly)"
                                      for name in unknown))
    if body.get("type") != pending.kind:
        raise ApiError(400, f"type: the setup code was issued for a {pending.kind} node, not {body.get('type')!r}")
    host = normalize_host(body.get("host"), context.source_types[pending.kind].default_port)
    if host != pending.host:
        raise ApiError(400, f"host: the setup code was issued for {pending.host}, not {host}")
    return {"valid": True, "type": pending.kind, "host": pending.host, "expiresAt": pending.expires}


def create_blueprint(context: Any) -> Blueprint:
    """Build the setup-script and auto-register routes for the daemon ``context``."""
    from pulse_core.setup_register import register_node

    blueprint = Blueprint("pulse_setup", __name__)
    codes = SetupCodes(clock=getattr(context, "clock", time.time))

    @blueprint.post("/api/setup-script")
    async def setup_script() -> Response:
        body = await read_json_object()
        unknown = sorted(set(body) - {"type", "host", "backupAccess", "pulseUrl"})
        if unknown:
            raise ApiError(400, "; ".join(
                f"{name}: unknown field (known fields: type, host, backupAccess, pulseUrl)" for name in unknown))
        kind = body.get("type")
        if kind not in NODE_TYPES:
            raise ApiError(400, f"type: must be 'pve' or 'pbs', got {kind!r}")
        source_type = context.source_types.get(kind)
        if source_type is None:
            raise ApiError(400, f"type: no installed plugin provides {kind!r} nodes")
        host = normalize_host(body.get("host"), source_type.default_port)

        backup_access = body.get("backupAccess", False)
        if not isinstance(backup_access, bool):
            raise ApiError(400, "backupAccess: must be true or false")
        if backup_access and kind != "pve":
            raise ApiError(400, "backupAccess: applies only to Proxmox VE nodes")
        pulse_url = _pulse_url(context, body)

        code, expires = codes.issue(kind, host, current_actor())
        now = codes.clock()
        params = ScriptParams(
            kind=kind, host=host, pulse_url=pulse_url, setup_code=code, token_name=token_name_for(pulse_url),
            generated=_iso(now), expires=_iso(expires), backup_access=backup_access,
        )
        log.info("Setup script for %s %s issued to %s", kind, host, current_actor())
        await context.audit("setup_script.issue", actor=current_actor(), client=current_client().address,
                            type=kind, host=host)
        return json_response({
            "type": kind,
            "host": host,
            "script": render(params),
            "setupCode": code,
            "setupCodeHeader": SETUP_CODE_HEADER,
            "expiresAt": expires,
            "pulseUrl": pulse_url,
            "tokenName": params.token_name,
            "instructions": f"Copy the script to {host.split('//', 1)[1].rsplit(':', 1)[0]} and run it there as "
                            f"root with bash within {int(CODE_TTL_SECONDS // 60)} minutes; the code works once.",
        })

    @blueprint.post("/api/auto-register")
    async def auto_register() -> Response:
        code = request.headers.get(SETUP_CODE_HEADER, "").strip()
        if not code:
            raise ApiError(401, f"setup code missing: send the {SETUP_CODE_HEADER} header that the setup script sets")
        body = await read_json_object()
        if body.get("checkOnly") is True:
            return json_response(check_code(codes.peek(code), body, context))
        key, pending = codes.claim(code)
        try:
            result = await register_node(context, current_app.extensions["pulse_nodes_lock"], pending, body)
        except Exception:
            codes.release(key, pending)
            raise
        await context.audit(
            "node.auto_register", actor=f"setup-code:{pending.issued_by}", client=current_client().address,
            node=result.node["id"], type=result.node["type"], host=result.node["host"], result=result.action,
        )
        return json_response(result.to_api(context), status=201 if result.action == "created" else 200)

    return blueprint


def openapi_paths() -> dict[str, Any]:
    from pulse_core.web.openapi import BOOLEAN, NUMBER, STRING, obj, operation, ref

    script_body = obj({
        "type": {"type": "string", "enum": list(NODE_TYPES)},
        "host": {"type": "string", "description": "the node's API address, https://host:port or host[:port]"},
        "backupAccess": {"type": "boolean", "description": "PVE only: grant PVEDatastoreAdmin on /storage so "
                                                           "backup files can be listed (default false)"},
        "pulseUrl": {"type": "string", "description": "address the node reaches Pulse at (default: publicUrl, "
                                                      "else the address of this request)"},
    }, required=["type", "host"], additional=False)
    script_response = obj({
        "type": STRING, "host": STRING, "script": {"type": "string", "description": "bash script"},
        "setupCode": STRING, "setupCodeHeader": STRING, "expiresAt": NUMBER, "pulseUrl": STRING,
        "tokenName": STRING, "instructions": STRING,
    })
    register_body = obj({
        "type": {"type": "string", "enum": list(NODE_TYPES)}, "host": STRING, "name": STRING,
        "username": STRING, "tokenId": {"type": "string", "description": "user@realm!name or name"},
        "tokenValue": STRING,
        "fingerprint": {"type": "string", "description": "SHA-256 fingerprint read on the node; empty to pin "
                                                         "the certificate the server presents"},
        "checkOnly": {"type": "boolean", "description": "only check that the setup code is valid for this type "
                                                        "and host, without using it up; send only type and host"},
    }, required=["type", "host"], additional=False)
    register_response = obj({
        "success": BOOLEAN, "action": {"type": "string", "enum": ["created", "updated"]},
        "node": ref("NodeConfig"), "fingerprint": STRING,
        "fingerprintSource": {"type": "string", "enum": ["node", "observed"]}, "message": STRING,
    }, required=[])
    register = operation(
        "Register a node (called by the setup script with its setup code)", "setup", register_response,
        status=201, body=register_body, errors=(400,),
        description="Needs the X-Pulse-Setup-Code header instead of a session or API token. Tests the "
                    "connection, pins the certificate fingerprint and updates an entry of the same host "
                    "or PVE cluster instead of adding a second one. 201 when a node was added, 200 when "
                    "one was updated.")
    register["responses"]["200"] = register["responses"]["201"]
    return {
        "/api/setup-script": {"post": operation(
            "Generate a setup script and one-time setup code for a PVE or PBS node", "setup", script_response,
            body=script_body,
            description="The setup code is valid for 5 minutes and one successful registration. The script "
                        "sends it in the X-Pulse-Setup-Code header.")},
        "/api/auto-register": {"post": register},
    }
