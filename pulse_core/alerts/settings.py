"""Alert settings: thresholds, conditions, overrides and noise control, validated with pydantic.

The whole document lives in the settings store section ``alerts`` in snake_case.
The REST API reads and writes the same models in camelCase (both spellings are
accepted on input).

Three kinds of metric exist:

* threshold metrics compare a percentage with ``trigger``/``clear``/``critical``;
* condition metrics (offline, unavailable, powered off, failed task or job,
  failed disk, Ceph health, failing replication) are
  either bad or good, and some need several consecutive bad polls;
* age metrics compare an age in days with ``warning_days``/``critical_days``.

Effective settings for one resource are the defaults, then every matching tag
override (in tag-name order), then the override for the resource's stable id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel, to_snake

from pulse_core.model import AlertLevel

SETTINGS_SECTION = "alerts"
TAG_PREFIX = "tag:"
# Critical defaults to trigger + 10 points, capped at 100 for percentages.
CRITICAL_OFFSET = 10.0
PERCENT_CAP = 100.0

MetricKind = Literal["threshold", "condition", "age"]
Category = Literal["performance", "storage", "offline", "backup"]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, validate_assignment=True,
    )


class ThresholdSettings(_Model):
    """A percentage metric: fires at ``trigger``, stays active until the value drops below ``clear``."""

    # A trigger of 0 or less disables the metric.
    trigger: float = Field(le=PERCENT_CAP)
    clear: float = Field(le=PERCENT_CAP)
    # None means trigger + 10, capped at 100.
    critical: float | None = Field(default=None, le=PERCENT_CAP)
    # None means the top-level ``default_delay_seconds``.
    delay_seconds: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check_order(self) -> ThresholdSettings:
        if self.trigger > 0 and self.clear > self.trigger:
            raise ValueError(f"clear ({self.clear}) must not exceed trigger ({self.trigger})")
        if self.critical is not None and self.trigger > 0 and self.critical < self.trigger:
            raise ValueError(f"critical ({self.critical}) must not be below trigger ({self.trigger})")
        return self


class ConditionSettings(_Model):
    """A bad/good condition such as "node offline"."""

    enabled: bool = True
    level: AlertLevel = "critical"
    # Consecutive polls that must report the condition before the alert can fire.
    polls: int = Field(default=1, ge=1, le=100)
    delay_seconds: float | None = Field(default=None, ge=0)


class AgeSettings(_Model):
    """An age in days (time since the last good backup, age of the oldest snapshot)."""

    enabled: bool = False
    # A warning age of 0 or less disables the metric.
    warning_days: float = 7.0
    critical_days: float = 14.0
    delay_seconds: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check_order(self) -> AgeSettings:
        if self.warning_days > 0 and self.critical_days < self.warning_days:
            raise ValueError(
                f"critical_days ({self.critical_days}) must not be below warning_days ({self.warning_days})"
            )
        return self


def _threshold(trigger: float, clear: float) -> Any:
    return Field(default_factory=lambda: ThresholdSettings(trigger=trigger, clear=clear))


def _condition(**values: Any) -> Any:
    return Field(default_factory=lambda: ConditionSettings(**values))


class GuestThresholds(_Model):
    cpu: ThresholdSettings = _threshold(80, 75)
    memory: ThresholdSettings = _threshold(85, 80)
    disk: ThresholdSettings = _threshold(90, 85)
    powered_off: ConditionSettings = _condition(enabled=False, level="warning")
    backup_failed: ConditionSettings = _condition(level="warning")
    backup_age: AgeSettings = Field(default_factory=AgeSettings)
    # NOTE: 30/60 days are this project's choice; no upstream default was given for snapshot age.
    snapshot_age: AgeSettings = Field(default_factory=lambda: AgeSettings(warning_days=30, critical_days=60))


class NodeThresholds(_Model):
    cpu: ThresholdSettings = _threshold(80, 75)
    memory: ThresholdSettings = _threshold(85, 80)
    disk: ThresholdSettings = _threshold(90, 85)
    offline: ConditionSettings = _condition(polls=3)


class StorageThresholds(_Model):
    usage: ThresholdSettings = _threshold(85, 80)
    unavailable: ConditionSettings = _condition(polls=2)


class DatastoreThresholds(_Model):
    usage: ThresholdSettings = _threshold(85, 80)
    verify_failed: ConditionSettings = _condition(level="warning")
    sync_failed: ConditionSettings = _condition(level="warning")
    prune_failed: ConditionSettings = _condition(level="warning")
    gc_failed: ConditionSettings = _condition(level="warning")


class PBSThresholds(_Model):
    offline: ConditionSettings = _condition(polls=3)


class PhysicalDiskThresholds(_Model):
    # SMART health FAILED (or another failure text) on a node's disk.
    failed: ConditionSettings = _condition()


class CephThresholds(_Model):
    # HEALTH_WARN and HEALTH_ERR fire separately, so each can have its own level and be turned off.
    health_warn: ConditionSettings = _condition(level="warning")
    health_err: ConditionSettings = _condition()


class ReplicationThresholds(_Model):
    # A replication job whose fail count is above 0; PVE keeps retrying it.
    failed: ConditionSettings = _condition(level="warning")


class FlappingSettings(_Model):
    enabled: bool = True
    # This many state changes (fired or resolved) inside the window mean "flapping".
    changes: int = Field(default=5, ge=2, le=100)
    window_minutes: float = Field(default=5.0, gt=0)
    # After the flapping notice, the alert sends nothing for this long.
    quiet_minutes: float = Field(default=15.0, ge=0)


class CriticalHold(_Model):
    """Per category: whether critical alerts are also held during quiet hours (warnings always are)."""

    performance: bool = True
    storage: bool = False
    offline: bool = False
    backup: bool = True


class QuietHours(_Model):
    enabled: bool = False
    # Local times "HH:MM"; a start after the end spans midnight.
    start: str = Field(default="22:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # IANA time zone name, e.g. "Europe/Berlin".
    timezone: str = "UTC"
    hold_critical: CriticalHold = Field(default_factory=CriticalHold)

    @model_validator(mode="after")
    def _check_times(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(f"start and end must differ (both are {self.start})")
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}; use an IANA name such as 'Europe/Berlin'") from None
        return self


class EscalationSettings(_Model):
    """Re-notify once when an alert is still firing and unacknowledged after ``after_minutes``."""

    enabled: bool = False
    after_minutes: float = Field(default=60.0, gt=0)


class NoiseSettings(_Model):
    cooldown_minutes: float = Field(default=5.0, ge=0)
    # NOTE: 10 per hour is this project's choice of default.
    max_notifications_per_hour: int = Field(default=10, ge=1, le=10_000)
    flapping: FlappingSettings = Field(default_factory=FlappingSettings)
    # Alerts that fire within this many seconds of the first are sent as one notification; 0 sends at once.
    grouping_window_seconds: float = Field(default=30.0, ge=0, le=3600)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)


class MetricOverride(_Model):
    """Per-resource changes to one metric; unset fields keep the inherited value."""

    enabled: bool | None = None
    trigger: float | None = Field(default=None, le=PERCENT_CAP)
    clear: float | None = Field(default=None, le=PERCENT_CAP)
    critical: float | None = Field(default=None, le=PERCENT_CAP)
    delay_seconds: float | None = Field(default=None, ge=0)
    level: AlertLevel | None = None
    polls: int | None = Field(default=None, ge=1, le=100)
    warning_days: float | None = None
    critical_days: float | None = None


class ResourceOverride(_Model):
    """An override for one resource id or, with a ``tag:`` key, for every guest with that Proxmox tag."""

    # Disables every alert of the resource.
    disabled: bool = False
    metrics: dict[str, MetricOverride] = Field(default_factory=dict)
    note: str = Field(default="", max_length=500)

    @field_validator("metrics", mode="before")
    @classmethod
    def _snake_case_names(cls, value: Any) -> Any:
        # The API speaks camelCase ("poweredOff"), the catalogue snake_case ("powered_off").
        if isinstance(value, dict):
            return {to_snake(str(name)): item for name, item in value.items()}
        return value


class ThresholdDocument(_Model):
    """Everything except the overrides: what ``/api/notifications/thresholds`` reads and writes."""

    enabled: bool = True
    default_delay_seconds: float = Field(default=5.0, ge=0, le=86_400)
    guest: GuestThresholds = Field(default_factory=GuestThresholds)
    node: NodeThresholds = Field(default_factory=NodeThresholds)
    storage: StorageThresholds = Field(default_factory=StorageThresholds)
    datastore: DatastoreThresholds = Field(default_factory=DatastoreThresholds)
    pbs: PBSThresholds = Field(default_factory=PBSThresholds)
    physical_disk: PhysicalDiskThresholds = Field(default_factory=PhysicalDiskThresholds)
    ceph: CephThresholds = Field(default_factory=CephThresholds)
    replication: ReplicationThresholds = Field(default_factory=ReplicationThresholds)
    noise: NoiseSettings = Field(default_factory=NoiseSettings)
    history_days: float = Field(default=30.0, gt=0, le=3650)


class AlertSettings(ThresholdDocument):
    """The stored ``alerts`` section."""

    overrides: dict[str, ResourceOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_overrides(self) -> AlertSettings:
        problems = override_problems(self.overrides)
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --- metric catalogue ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricSpec:
    resource_type: str
    name: str
    kind: MetricKind
    category: Category
    label: str


METRICS: dict[tuple[str, str], MetricSpec] = {
    (spec.resource_type, spec.name): spec
    for spec in (
        MetricSpec("guest", "cpu", "threshold", "performance", "CPU"),
        MetricSpec("guest", "memory", "threshold", "performance", "memory"),
        MetricSpec("guest", "disk", "threshold", "performance", "disk"),
        MetricSpec("guest", "powered_off", "condition", "offline", "powered off"),
        MetricSpec("guest", "backup_failed", "condition", "backup", "backup task failed"),
        MetricSpec("guest", "backup_age", "age", "backup", "last backup age"),
        MetricSpec("guest", "snapshot_age", "age", "backup", "oldest snapshot age"),
        MetricSpec("node", "cpu", "threshold", "performance", "CPU"),
        MetricSpec("node", "memory", "threshold", "performance", "memory"),
        MetricSpec("node", "disk", "threshold", "performance", "disk"),
        MetricSpec("node", "offline", "condition", "offline", "offline"),
        MetricSpec("storage", "usage", "threshold", "storage", "usage"),
        MetricSpec("storage", "unavailable", "condition", "storage", "unavailable"),
        MetricSpec("datastore", "usage", "threshold", "storage", "usage"),
        MetricSpec("datastore", "verify_failed", "condition", "backup", "verify job failed"),
        MetricSpec("datastore", "sync_failed", "condition", "backup", "sync job failed"),
        MetricSpec("datastore", "prune_failed", "condition", "backup", "prune job failed"),
        MetricSpec("datastore", "gc_failed", "condition", "backup", "garbage collection failed"),
        MetricSpec("pbs", "offline", "condition", "offline", "offline"),
        MetricSpec("physical_disk", "failed", "condition", "storage", "SMART health failed"),
        MetricSpec("ceph", "health_warn", "condition", "storage", "health warning (HEALTH_WARN)"),
        MetricSpec("ceph", "health_err", "condition", "storage", "health error (HEALTH_ERR)"),
        MetricSpec("replication", "failed", "condition", "backup", "replication failing"),
    )
}
METRIC_NAMES = frozenset(name for _, name in METRICS)
_FIELDS_BY_KIND: dict[MetricKind, frozenset[str]] = {
    "threshold": frozenset({"enabled", "trigger", "clear", "critical", "delay_seconds"}),
    "condition": frozenset({"enabled", "level", "polls", "delay_seconds"}),
    "age": frozenset({"enabled", "warning_days", "critical_days", "delay_seconds"}),
}


def override_problems(overrides: Mapping[str, ResourceOverride]) -> list[str]:
    """Return one "key.metrics.name: reason" line per override that cannot apply."""
    problems: list[str] = []
    for key, override in overrides.items():
        if not key.strip() or key.strip() == TAG_PREFIX:
            problems.append(f"overrides.{key!r}: an override key must be a resource id or 'tag:<name>'")
            continue
        for metric, change in override.metrics.items():
            kinds = {spec.kind for (_, name), spec in METRICS.items() if name == metric}
            if not kinds:
                problems.append(
                    f"overrides.{key}.metrics.{metric}: unknown metric (known: {', '.join(sorted(METRIC_NAMES))})"
                )
                continue
            allowed = frozenset().union(*(_FIELDS_BY_KIND[kind] for kind in kinds))
            given = {name for name in change.model_fields_set if getattr(change, name) is not None}
            for field_name in sorted(given - allowed):
                problems.append(f"overrides.{key}.metrics.{metric}.{to_camel(field_name)}: does not apply to this metric")
    return problems


# --- effective rules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """The effective settings of one metric for one resource, as the state machine uses them.

    Conditions use trigger = clear = 1 on a value that is 1 (bad) or 0 (good).
    """

    enabled: bool
    trigger: float
    clear: float
    critical: float | None
    delay: float
    polls: int = 1
    # A fixed level for conditions; None derives the level from ``critical``.
    level: AlertLevel | None = None

    def level_for(self, value: float) -> AlertLevel:
        if self.level is not None:
            return self.level
        if self.critical is not None and value >= self.critical:
            return "critical"
        return "warning"


DISABLED_RULE = Rule(enabled=False, trigger=0.0, clear=0.0, critical=None, delay=0.0)


def load_settings(raw: Any) -> AlertSettings:
    """Validate a stored or posted ``alerts`` document; raises ``pydantic.ValidationError``."""
    return AlertSettings.model_validate(raw or {})


def validation_problems(exc: ValidationError) -> list[str]:
    """Turn a pydantic error into "field.path: reason" lines with camelCase paths."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        # Errors of the whole document already start with their own field path.
        lines.append(f"{path}: {message}" if path else message)
    return lines


class RuleResolver:
    """Compute effective rules per resource and metric from one settings snapshot.

    Rules are cached by metric and the set of matching overrides, because most
    resources share the defaults and computing a rule dumps pydantic models.
    """

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self._tag_overrides = sorted(
            (key[len(TAG_PREFIX):].strip().lower(), key)
            for key in settings.overrides
            if key.startswith(TAG_PREFIX)
        )
        self._cache: dict[tuple[str, str, tuple[str, ...]], Rule] = {}

    def matching_override_keys(self, resource_id: str, tags: Iterable[str]) -> tuple[str, ...]:
        """Return the keys of the overrides that apply, tag overrides first, in the order they apply."""
        found: list[str] = []
        if self._tag_overrides:
            wanted = {tag.strip().lower() for tag in tags}
            found = [key for tag, key in self._tag_overrides if tag in wanted]
        if resource_id in self.settings.overrides:
            found.append(resource_id)
        return tuple(found)

    def rule(self, resource_type: str, metric: str, resource_id: str, tags: Iterable[str] = ()) -> Rule:
        keys = self.matching_override_keys(resource_id, tags)
        cache_key = (resource_type, metric, keys)
        cached = self._cache.get(cache_key)
        if cached is None:
            cached = self._cache[cache_key] = self._compute(resource_type, metric, keys)
        return cached

    def _compute(self, resource_type: str, metric: str, override_keys: tuple[str, ...]) -> Rule:
        spec = METRICS[(resource_type, metric)]
        if not self.settings.enabled:
            return DISABLED_RULE
        base = getattr(getattr(self.settings, resource_type), metric)
        overrides = [self.settings.overrides[key] for key in override_keys]
        if any(override.disabled for override in overrides):
            return DISABLED_RULE
        values: dict[str, Any] = base.model_dump()
        explicit: set[str] = set()
        for override in overrides:
            change = override.metrics.get(metric)
            if change is None:
                continue
            for field_name in change.model_fields_set:
                value = getattr(change, field_name)
                if value is not None:
                    values[field_name] = value
                    explicit.add(field_name)
        delay = values.get("delay_seconds")
        delay = self.settings.default_delay_seconds if delay is None else float(delay)
        if spec.kind == "threshold":
            return _threshold_rule(base, values, explicit, delay)
        if spec.kind == "condition":
            enabled = bool(values.get("enabled", True))
            return Rule(enabled, 1.0, 1.0, None, delay, int(values["polls"]), values["level"])
        enabled = bool(values["enabled"]) and values["warning_days"] > 0
        critical = max(float(values["critical_days"]), float(values["warning_days"]))
        return Rule(enabled, float(values["warning_days"]), float(values["warning_days"]), critical, delay)


def _threshold_rule(base: ThresholdSettings, values: dict[str, Any], explicit: set[str], delay: float) -> Rule:
    trigger = float(values["trigger"])
    enabled = bool(values.get("enabled", True)) and trigger > 0
    if "trigger" in explicit and "clear" not in explicit:
        # An override that only moves the trigger keeps the default gap to clear.
        clear = trigger - (base.trigger - base.clear)
    else:
        clear = float(values["clear"])
    clear = min(clear, trigger)
    critical = values.get("critical")
    if critical is None or ("trigger" in explicit and "critical" not in explicit):
        critical = min(trigger + CRITICAL_OFFSET, PERCENT_CAP)
    critical = max(float(critical), trigger)
    return Rule(enabled, trigger, clear, critical, delay)
