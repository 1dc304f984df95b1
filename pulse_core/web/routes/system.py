"""``/api/config/system``: settings changed from the UI, stored in the "system" settings section.

The effective value of each setting is the saved one if any, else the value
from the YAML configuration (or its default). Saving applies the polling
interval and timeout to running pollers at once.
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import urlsplit

import trio
from pydantic import BaseModel, ConfigDict, Field, field_validator
from quart import Blueprint, Response, current_app

from pulse_core.web.errors import ApiError
from pulse_core.web.jsonio import current_daemon, json_response, parse_model, read_json_object

log = logging.getLogger(__name__)

blueprint = Blueprint("system", __name__)

SYSTEM_SECTION = "system"
DEFAULT_RETENTION_DAYS = 90


def _check_origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{value!r} is not an origin; use scheme://host[:port], e.g. https://pulse.example.com")
    return f"{parts.scheme}://{parts.netloc}"


class SystemSettings(BaseModel):
    """The fields ``POST /api/config/system`` accepts; each one is optional and saved on its own."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    polling_interval: float | None = Field(None, alias="pollingInterval", ge=1, le=3600)
    polling_timeout: float | None = Field(None, alias="pollingTimeout", gt=0, le=300)
    retention_days: int | None = Field(None, alias="retentionDays", ge=1, le=3650)
    public_url: str | None = Field(None, alias="publicUrl", max_length=500)
    allowed_origins: list[str] | None = Field(None, alias="allowedOrigins", max_length=50)
    allow_embedding: bool | None = Field(None, alias="allowEmbedding")
    embedding_origins: list[str] | None = Field(None, alias="embeddingOrigins", max_length=50)
    theme: Literal["system", "light", "dark"] | None = None
    update_channel: Literal["stable", "rc"] | None = Field(None, alias="updateChannel")
    auto_update_check: bool | None = Field(None, alias="autoUpdateCheck")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL; use e.g. https://pulse.example.com")
        return value.rstrip("/")

    @field_validator("allowed_origins", "embedding_origins")
    @classmethod
    def _origins(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        return [_check_origin(value.strip()) for value in values]


def _config_defaults(daemon: Any) -> dict[str, Any]:
    config = daemon.config
    return {
        "polling_interval": config.polling.interval_seconds,
        "polling_timeout": config.polling.timeout_seconds,
        "retention_days": DEFAULT_RETENTION_DAYS,
        "public_url": config.server.public_url,
        "allowed_origins": list(config.server.allowed_origins),
        "allow_embedding": config.server.allow_embedding,
        "embedding_origins": list(config.server.embedding_origins),
        "theme": "system",
        "update_channel": config.updates.channel,
        "auto_update_check": config.updates.enabled,
    }


def effective_system_settings(daemon: Any) -> dict[str, Any]:
    """Return every system setting in API (camelCase) form: saved values over configured defaults."""
    values = _config_defaults(daemon)
    values.update({key: value for key, value in daemon.settings.get(SYSTEM_SECTION, {}).items() if key in values})
    fields = SystemSettings.model_fields
    return {fields[name].alias or name: value for name, value in values.items()}


def apply_polling(daemon: Any) -> None:
    """Give running pollers the effective polling interval and timeout; the next wait uses them."""
    scheduler = getattr(daemon, "scheduler", None)
    if scheduler is None:
        return
    values = effective_system_settings(daemon)
    interval = float(values["pollingInterval"])
    timeout = float(values["pollingTimeout"])
    if timeout >= interval:
        # Only settings saved before the API checked this combination get here.
        log.warning("Saved pollingTimeout %g s is not below pollingInterval %g s; polls use %g s",
                    timeout, interval, interval * 0.95)
        timeout = interval * 0.95
    scheduler.interval = interval
    scheduler.timeout = timeout
    for poller in scheduler.pollers.values():
        poller.interval = interval
        poller.timeout = timeout


def install(app: Any, daemon: Any) -> None:
    """Apply saved polling settings now and after every save of the section (an import saves it too)."""
    apply_polling(daemon)
    try:
        token = trio.lowlevel.current_trio_token()
    except RuntimeError:  # built outside Trio, e.g. for an in-memory test client
        token = None

    def on_saved(section: str, value: Any) -> None:
        # Settings listeners run in the thread that saved; pollers live on the Trio loop.
        if token is not None:
            token.run_sync_soon(apply_polling, daemon)
        else:
            apply_polling(daemon)

    daemon.settings.subscribe(on_saved, SYSTEM_SECTION)


def _check_polling(values: dict[str, Any]) -> None:
    """Reject a poll timeout that is not below the interval, whether each value is saved or configured."""
    interval = float(values["polling_interval"])
    timeout = float(values["polling_timeout"])
    if timeout >= interval:
        raise ApiError(
            400,
            f"pollingTimeout: {timeout:g} s must be below pollingInterval ({interval:g} s); "
            "lower pollingTimeout or raise pollingInterval",
        )


@blueprint.get("/api/config/system")
async def get_system() -> Response:
    return json_response(effective_system_settings(current_daemon()))


@blueprint.post("/api/config/system")
async def update_system() -> Response:
    daemon = current_daemon()
    body = parse_model(SystemSettings, await read_json_object())
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(SystemSettings.model_fields[name].alias or name for name, value in changes.items() if value is None)
    if nulls:
        raise ApiError(400, "; ".join(f"{name}: must not be null; omit the field to keep its value" for name in nulls))
    async with current_app.extensions["pulse_settings_lock"]:
        saved = daemon.settings.get(SYSTEM_SECTION, {})
        saved.update(changes)
        _check_polling({**_config_defaults(daemon), **saved})
        await daemon.settings.set(SYSTEM_SECTION, saved)
    log.info("System settings changed through the API: %s", ", ".join(sorted(changes)) or "nothing")
    return json_response(effective_system_settings(daemon))
