"""The ``storage_sqlite`` configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_RETENTION_DAYS = 365.0
_HOUR = 3600.0
_DAY = 86400.0


class SqliteStorageSettings(BaseModel):
    """Retention, file and maintenance settings of the SQLite backend.

    The rollups are computed from the raw and 1-minute tiers, so those two
    have a minimum retention (see ``tiers.required_retention``).
    """

    model_config = ConfigDict(extra="forbid")

    # Database file name inside the data directory.
    file: str = Field("pulse.db", min_length=1)
    # Raw samples (one per poll), in hours.
    raw_retention_hours: float = Field(2.0, gt=0, le=MAX_RETENTION_DAYS * 24)
    # One-minute rollups (min/avg/max), in hours.
    minute_retention_hours: float = Field(48.0, gt=0, le=MAX_RETENTION_DAYS * 24)
    # 15-minute rollups, in days.
    quarter_hour_retention_days: float = Field(30.0, gt=0, le=MAX_RETENTION_DAYS)
    # One-hour rollups, in days.
    hour_retention_days: float = Field(90.0, gt=0, le=MAX_RETENTION_DAYS)
    # Seconds between retention pruning passes.
    prune_interval_seconds: float = Field(3600.0, ge=60, le=_DAY)
    # Resolved alerts kept in the history, in days.
    alert_history_days: float = Field(30.0, gt=0, le=MAX_RETENTION_DAYS)
    # Audit log entries kept, in days.
    audit_retention_days: float = Field(90.0, gt=0, le=MAX_RETENTION_DAYS)
    # Delivered and dead notification deliveries kept for inspection, in days.
    delivery_retention_days: float = Field(7.0, gt=0, le=MAX_RETENTION_DAYS)
    # Seconds a sample may arrive after its raw block closed and still be kept.
    late_sample_grace_seconds: float = Field(60.0, ge=0, le=600)
    # Connections used for queries, so reads never queue behind the writer.
    read_connections: int = Field(4, ge=1, le=32)
    # Milliseconds a connection waits for a lock held by another process.
    busy_timeout_ms: int = Field(5000, ge=0, le=600_000)

    @model_validator(mode="after")
    def _check_tier_coverage(self) -> SqliteStorageSettings:
        # Imported here because tiers.py imports this module for its defaults.
        from pulse_storage_sqlite.tiers import retention_problems

        problems = retention_problems(self.retentions())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def retentions(self) -> tuple[float, float, float, float]:
        """Return the retention of each tier (raw, 1 min, 15 min, 1 h) in seconds."""
        return (
            self.raw_retention_hours * _HOUR,
            self.minute_retention_hours * _HOUR,
            self.quarter_hour_retention_days * _DAY,
            self.hour_retention_days * _DAY,
        )
