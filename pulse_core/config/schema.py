"""The typed configuration model, validated once at startup.

Every key here is documented in ``config.example.yaml``; a test fails when one
is missing there. Plugin sections are validated by the plugin's own model (see
the ``pulse_config_sections`` hook) and kept in ``PulseConfig.plugin_sections``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError


class _Section(BaseModel):
    # Unknown keys are errors, so a typo is reported instead of silently ignored.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ServerConfig(_Section):
    bind: str = "0.0.0.0"
    # 0 picks a free port (tests and the demo use it).
    port: int = Field(7655, ge=0, le=65535)
    public_url: str = ""
    allowed_origins: list[str] = Field(default_factory=list)
    trusted_proxies: list[str] = Field(default_factory=list)
    allow_embedding: bool = False
    embedding_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    shutdown_grace_seconds: float = Field(10.0, gt=0)


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class AuthConfig(_Section):
    user: str = ""
    # Plain text (hashed at start) or a bcrypt hash ($2a$/$2b$/$2y$).
    password: str = ""
    api_token: str = ""
    allow_unprotected_export: bool = False
    private_network_export: bool = True
    session_hours: float = Field(24.0, gt=0)
    min_password_length: int = Field(12, ge=8)
    proxy_auth_header: str = ""


class PollingConfig(_Section):
    interval_seconds: float = Field(10.0, ge=1)
    timeout_seconds: float = Field(8.0, gt=0)
    max_concurrency: int = Field(8, ge=1, le=64)
    detail_interval_seconds: float = Field(60.0, ge=5)
    slow_interval_seconds: float = Field(300.0, ge=10)

    @model_validator(mode="before")
    @classmethod
    def _default_timeout_below_interval(cls, data: Any) -> Any:
        # An unset timeout keeps its 8 s default only when that is below the
        # interval, so a short interval alone (such as 5 s) is still valid.
        if not isinstance(data, dict) or "timeout_seconds" in data:
            return data
        try:
            interval = float(data.get("interval_seconds", 10.0))
        except (TypeError, ValueError):
            return data  # the field validator reports the bad interval
        return {**data, "timeout_seconds": min(8.0, interval * 0.95)} if interval <= 8.0 else data

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> PollingConfig:
        if self.timeout_seconds >= self.interval_seconds:
            raise PydanticCustomError(
                "timeout_not_below_interval",
                f"timeout_seconds ({self.timeout_seconds:g} s) must be below interval_seconds "
                f"({self.interval_seconds:g} s); lower timeout_seconds or raise interval_seconds",
            )
        return self


class StorageConfig(_Section):
    backend: str = "sqlite"


class PluginsConfig(_Section):
    blocked: list[str] = Field(default_factory=list)


class UpdatesConfig(_Section):
    enabled: bool = False
    channel: Literal["stable", "rc"] = "stable"
    feed_url: str = "https://api.github.com/repos/pulse-monitor/pulse/releases"
    check_interval_hours: float = Field(24.0, gt=0)


class NodeConfig(_Section):
    """A connection given in the YAML file; used to seed the settings store on first start."""

    type: str
    name: str
    host: str
    user: str | None = None
    password: str | None = None
    token_name: str | None = None
    token_value: str | None = None
    verify_ssl: bool = True
    fingerprint: str | None = None
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


class PulseConfig(_Section):
    data_dir: str = ""
    server: ServerConfig = Field(default_factory=ServerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    polling: PollingConfig = Field(default_factory=PollingConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    updates: UpdatesConfig = Field(default_factory=UpdatesConfig)
    nodes: list[NodeConfig] = Field(default_factory=list)
    # Sections owned by plugins and core services, validated by their own models.
    plugin_sections: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def section(self, name: str) -> Any:
        return self.plugin_sections.get(name)
