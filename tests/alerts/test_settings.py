"""Alert settings: defaults, effective rules with overrides, validation messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse_core.alerts.settings import AlertSettings, RuleResolver, load_settings, validation_problems


def resolver(**document: object) -> RuleResolver:
    return RuleResolver(load_settings(document))


def test_default_thresholds() -> None:
    rules = resolver()
    expected = {
        ("guest", "cpu"): (80, 75), ("guest", "memory"): (85, 80), ("guest", "disk"): (90, 85),
        ("node", "cpu"): (80, 75), ("node", "memory"): (85, 80), ("node", "disk"): (90, 85),
        ("storage", "usage"): (85, 80), ("datastore", "usage"): (85, 80),
    }
    for (kind, metric), (trigger, clear) in expected.items():
        rule = rules.rule(kind, metric, "x")
        assert (rule.trigger, rule.clear) == (trigger, clear), (kind, metric)
        assert rule.critical == min(trigger + 10, 100), (kind, metric)
        assert rule.delay == 5.0, (kind, metric)
        assert rule.enabled, (kind, metric)


def test_default_conditions() -> None:
    rules = resolver()
    assert rules.rule("node", "offline", "n").polls == 3
    assert rules.rule("pbs", "offline", "p").polls == 3
    assert rules.rule("storage", "unavailable", "s").polls == 2
    assert rules.rule("guest", "powered_off", "g").enabled is False
    assert rules.rule("guest", "backup_age", "g").enabled is False
    assert rules.rule("guest", "snapshot_age", "g").enabled is False
    assert rules.rule("guest", "backup_failed", "g").enabled is True
    assert rules.rule("datastore", "gc_failed", "d").enabled is True


def test_backup_age_days() -> None:
    rule = resolver(guest={"backup_age": {"enabled": True}}).rule("guest", "backup_age", "g")
    assert (rule.trigger, rule.critical) == (7, 14)
    assert rule.level_for(8) == "warning"
    assert rule.level_for(14) == "critical"


def test_critical_capped_unless_set() -> None:
    assert resolver(guest={"cpu": {"trigger": 95, "clear": 90}}).rule("guest", "cpu", "g").critical == 100
    explicit = resolver(guest={"cpu": {"trigger": 70, "clear": 60, "critical": 75}}).rule("guest", "cpu", "g")
    assert explicit.critical == 75


def test_override_trigger_keeps_gap() -> None:
    rule = resolver(overrides={"g": {"metrics": {"cpu": {"trigger": 60}}}}).rule("guest", "cpu", "g")
    assert (rule.trigger, rule.clear, rule.critical) == (60, 55, 70)


def test_id_override_beats_tag_override() -> None:
    rules = resolver(overrides={
        "tag:web": {"metrics": {"cpu": {"trigger": 50, "delay_seconds": 60}}},
        "g1": {"metrics": {"cpu": {"trigger": 70}}},
    })
    tagged = rules.rule("guest", "cpu", "g1", ["web"])
    assert tagged.trigger == 70
    assert tagged.delay == 60
    assert rules.rule("guest", "cpu", "g2", ["WEB"]).trigger == 50
    assert rules.rule("guest", "cpu", "g3").trigger == 80


def test_disabled_resource_and_global_switch() -> None:
    assert resolver(overrides={"tag:lab": {"disabled": True}}).rule("guest", "cpu", "g", ["lab"]).enabled is False
    assert resolver(enabled=False).rule("node", "offline", "n").enabled is False
    per_metric = resolver(overrides={"n": {"metrics": {"offline": {"enabled": False}}}})
    assert per_metric.rule("node", "offline", "n").enabled is False
    assert per_metric.rule("node", "cpu", "n").enabled is True


def test_trigger_zero_disables() -> None:
    assert resolver(storage={"usage": {"trigger": 0, "clear": 0}}).rule("storage", "usage", "s").enabled is False
    override = resolver(overrides={"s": {"metrics": {"usage": {"trigger": -1}}}})
    assert override.rule("storage", "usage", "s").enabled is False


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"guest": {"backup_age": {"warning_days": 10, "critical_days": 5}}},
         "guest.backup_age: critical_days (5.0) must not be below warning_days (10.0)"),
        ({"guest": {"cpu": {"trigger": 80, "clear": 70, "critical": 75}}},
         "guest.cpu: critical (75.0) must not be below trigger (80.0)"),
        ({"noise": {"quiet_hours": {"start": "07:00", "end": "07:00"}}},
         "noise.quiet_hours: start and end must differ (both are 07:00)"),
        ({"noise": {"max_notifications_per_hour": 0}}, "noise.max_notifications_per_hour:"),
        ({"overrides": {"g": {"metrics": {"cpu": {"level": "critical"}}}}},
         "overrides.g.metrics.cpu.level: does not apply to this metric"),
    ],
)
def test_invalid_settings_named(document: dict, expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AlertSettings.model_validate(document)
    assert any(line.startswith(expected) for line in validation_problems(caught.value)), validation_problems(caught.value)
