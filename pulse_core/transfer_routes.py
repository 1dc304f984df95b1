"""``POST /api/config/export`` and ``POST /api/config/import``.

Who may call them, and their rate limit (5 per minute), is decided by the
request guard, which also writes the access audit event. These routes add an
audit event saying what was exported or imported.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import Any

from quart import Blueprint, Response, current_app

from pulse_core import transfer
from pulse_core.errors import TransferError
from pulse_core.security.context import current_actor, current_client
from pulse_core.web.errors import ApiError
from pulse_core.web.jsonio import json_response, read_json_object

log = logging.getLogger(__name__)

# Locks other routes hold while they change these sections; an import takes all of them.
_SECTION_LOCKS = ("pulse_nodes_lock", "pulse_settings_lock")


def kdf_iterations(context: Any) -> int:
    """Return the PBKDF2 iteration count for new bundles and the minimum accepted on import.

    Only tests set ``transfer_kdf_iterations`` on the daemon, to keep key derivation fast.
    """
    return int(getattr(context, "transfer_kdf_iterations", transfer.KDF_ITERATIONS))


async def apply_plan(context: Any, plan: transfer.ImportPlan) -> None:
    """Write every section of a validated bundle in one atomic save; listeners apply them."""
    async with AsyncExitStack() as stack:
        for name in _SECTION_LOCKS:
            lock = current_app.extensions.get(name)
            if lock is not None:
                await stack.enter_async_context(lock)
        await context.settings.replace(plan.sections)
    # The dispatcher also reloads on its settings listener; calling it here makes the
    # channels current before the response is sent.
    context.reload_channels()


def create_blueprint(context: Any) -> Blueprint:
    blueprint = Blueprint("pulse_transfer", __name__)

    @blueprint.before_app_serving
    async def _audit_initial_import() -> None:
        # The daemon imports PULSE_INIT_CONFIG_FILE while it is built, before storage is open.
        plan = getattr(context, "initial_import", None)
        if plan is not None:
            await context.audit("config.import.bootstrap", actor="PULSE_INIT_CONFIG_FILE", client="",
                                sections=plan.summary["sections"],
                                nodes=[node["id"] for node in plan.summary.get("nodes", [])])

    @blueprint.post("/api/config/export")
    async def export_config() -> Response:
        body = await read_json_object()
        passphrase = body.get("passphrase")
        try:
            data, summary = await transfer.export_bundle(context.settings, passphrase,
                                                         iterations=kdf_iterations(context))
        except TransferError as exc:
            raise ApiError(400, str(exc)) from None
        log.info("Configuration exported to %s (%s)", current_client().address, ", ".join(summary["sections"]))
        await context.audit("config.export.sections", actor=current_actor(), client=current_client().address,
                            sections=summary["sections"])
        return json_response({"data": data, "format": transfer.CONTENT_FORMAT, "version": transfer.FORMAT_VERSION,
                              **summary})

    @blueprint.post("/api/config/import")
    async def import_config() -> Response:
        body = await read_json_object()
        unknown = sorted(set(body) - {"data", "passphrase"})
        if unknown:
            raise ApiError(400, "; ".join(f"{name}: unknown field (known fields: data, passphrase)" for name in unknown))
        try:
            plan = await transfer.plan_import(body.get("data"), body.get("passphrase"), context,
                                              min_iterations=kdf_iterations(context))
        except TransferError as exc:
            log.info("Configuration import from %s rejected: %s", current_client().address, exc)
            raise ApiError(400, str(exc)) from None
        await apply_plan(context, plan)
        node_ids = [node["id"] for node in plan.summary.get("nodes", [])]
        log.info("Configuration imported from %s: sections %s", current_client().address,
                 ", ".join(plan.summary["sections"]))
        await context.audit("config.import.sections", actor=current_actor(), client=current_client().address,
                            sections=plan.summary["sections"], nodes=node_ids)
        return json_response({
            "success": True,
            "imported": plan.summary,
            "exportedAt": plan.exported_at,
            "exportedBy": plan.pulse_version,
        })

    return blueprint


def openapi_paths() -> dict[str, Any]:
    from pulse_core.web.openapi import (
        BOOLEAN,
        INTEGER,
        NUMBER,
        STRING,
        STRINGS,
        array,
        nullable,
        obj,
        operation,
    )

    summary = {
        "sections": STRINGS,
        "nodes": array(obj({"id": STRING, "type": STRING, "name": STRING})),
        "alertOverrides": INTEGER, "webhooks": INTEGER, "emailConfigured": BOOLEAN,
        "systemSettings": STRINGS, "guestMetadata": INTEGER,
    }
    export_response = obj({
        "data": {"type": "string", "description": "the encrypted bundle, base64"},
        "format": STRING, "version": INTEGER, "exportedAt": NUMBER, **summary,
    }, required=["data", "format", "version", "sections", "exportedAt"])
    import_response = obj({
        "success": BOOLEAN, "imported": obj(summary, required=["sections"]),
        "exportedAt": nullable("number"), "exportedBy": nullable("string"),
    })
    return {
        "/api/config/export": {"post": operation(
            "Export the configuration, encrypted with a passphrase", "transfer", export_response,
            body=obj({"passphrase": {"type": "string", "minLength": transfer.MIN_PASSPHRASE_LENGTH}}),
            description="The bundle contains every node with its credentials, alert thresholds and overrides, "
                        "notification settings (webhooks, email), system settings and guest metadata. "
                        "Key: PBKDF2-HMAC-SHA256 with 600,000 iterations and a random 32-byte salt; "
                        "cipher: AES-256-GCM with a random 12-byte nonce.")},
        "/api/config/import": {"post": operation(
            "Import an exported configuration; all or nothing, applied without a restart", "transfer",
            import_response, body=obj({"data": STRING, "passphrase": STRING}),
            description="A wrong passphrase, corrupted or truncated data, an unknown format version or "
                        "invalid content returns 400 and changes nothing. Sections in the bundle replace "
                        "the current ones; sections it does not hold stay as they are.")},
    }
