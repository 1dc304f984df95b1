"""Noise control: grouping, cooldown, rate cap, flapping, quiet hours and escalation."""

from __future__ import annotations

from datetime import datetime, timezone

from pulse_core.alerts.noise import NoiseControl, in_quiet_hours
from pulse_core.alerts.settings import NoiseSettings, QuietHours
from pulse_core.model import Alert, AlertLevel

# 2027-01-15 12:00 UTC, a time outside the default quiet hours.
NOON = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc).timestamp()


def make_alert(
    name: str, now: float, *, level: AlertLevel = "warning", metric: str = "cpu", resource: str | None = None,
    resource_type: str = "guest",
) -> Alert:
    resource_id = resource or f"pve1-{name}"
    return Alert(
        id=f"{resource_id}-{metric}-{int(now * 1000)}", type=metric, level=level, resource_id=resource_id,
        resource_name=name, resource_type=resource_type, node="node1", instance="pve1", message=f"{name} {metric}",
        value=90.0, threshold=80.0, start_time=now, last_seen=now, metadata={"key": f"{resource_id}/{metric}"},
    )


def control(**settings: object) -> NoiseControl:
    noise = NoiseControl()
    noise.settings = NoiseSettings.model_validate(settings)
    return noise


def events(notifications: list) -> list[tuple[str, list[str]]]:
    return [(item.event, sorted(alert.resource_name for alert in item.alerts)) for item in notifications]


def test_grouping_window_sends_one_notification() -> None:
    noise = control()
    alerts = [make_alert(name, NOON + offset) for offset, name in enumerate(("a", "b", "c"))]
    for index, alert in enumerate(alerts):
        noise.fired(alert, NOON + index)
    assert noise.due(NOON + 29, alerts) == []
    sent = noise.due(NOON + 30, alerts)
    assert events(sent) == [("alert", ["a", "b", "c"])]
    assert sent[0].grouped is True
    assert sent[0].title == "3 alerts firing"
    assert all(alert.metadata["notified"] for alert in alerts)


def test_fire_and_resolve_inside_window_sends_nothing() -> None:
    noise = control()
    alert = make_alert("a", NOON)
    noise.fired(alert, NOON)
    alert.resolved_time = NOON + 10
    noise.resolved(alert, NOON + 10)
    assert noise.due(NOON + 60, []) == []


def test_resolved_follows_its_firing() -> None:
    noise = control(grouping_window_seconds=0)
    alert = make_alert("a", NOON)
    noise.fired(alert, NOON)
    assert events(noise.due(NOON, [alert])) == [("alert", ["a"])]
    alert.resolved_time = NOON + 60
    noise.resolved(alert, NOON + 60)
    sent = noise.due(NOON + 60, [])
    assert events(sent) == [("resolved", ["a"])]
    assert sent[0].title == "Resolved: a cpu"


def test_acknowledged_before_window_closes_is_dropped() -> None:
    noise = control()
    alert = make_alert("a", NOON)
    noise.fired(alert, NOON)
    alert.acknowledged = True
    assert noise.due(NOON + 30, [alert]) == []
    alert.resolved_time = NOON + 40
    noise.resolved(alert, NOON + 40)
    assert noise.due(NOON + 100, []) == []


def test_cooldown_suppresses_refire() -> None:
    noise = control(grouping_window_seconds=0, flapping={"enabled": False})
    first = make_alert("a", NOON)
    noise.fired(first, NOON)
    noise.due(NOON, [first])
    first.resolved_time = NOON + 60
    noise.resolved(first, NOON + 60)
    assert events(noise.due(NOON + 60, [])) == [("resolved", ["a"])]

    second = make_alert("a", NOON + 120)
    noise.fired(second, NOON + 120)
    assert noise.due(NOON + 120, [second]) == []
    assert second.metadata["suppressed"] == "cooldown"
    second.resolved_time = NOON + 130
    noise.resolved(second, NOON + 130)
    assert noise.due(NOON + 130, []) == []

    third = make_alert("a", NOON + 301)
    noise.fired(third, NOON + 301)
    assert events(noise.due(NOON + 301, [third])) == [("alert", ["a"])]


def test_rate_cap_per_resource_per_hour() -> None:
    noise = control(grouping_window_seconds=0, max_notifications_per_hour=2)
    alerts = [make_alert("a", NOON, metric=metric, resource="pve1-a") for metric in ("cpu", "memory", "disk")]
    for alert in alerts:
        noise.fired(alert, NOON)
    sent = noise.due(NOON, alerts)
    assert [len(item.alerts) for item in sent] == [2]
    assert alerts[2].metadata["suppressed"] == "rate_limit"
    later = make_alert("a", NOON + 3600, metric="disk", resource="pve1-a")
    later.metadata["key"] = "pve1-a/disk-again"
    noise.fired(later, NOON + 3600)
    assert events(noise.due(NOON + 3600, [later])) == [("alert", ["a"])]


def test_flapping_sends_one_notice_then_quiet() -> None:
    noise = control(grouping_window_seconds=0, cooldown_minutes=0)
    now = NOON
    sent = []
    current = None
    for step in range(10):  # fire and resolve alternately every 20 s
        now = NOON + step * 20
        if step % 2 == 0:
            current = make_alert("a", now)
            noise.fired(current, now)
        else:
            current.resolved_time = now
            noise.resolved(current, now)
        sent += noise.due(now, [current] if current.resolved_time is None else [])
    assert [item.event for item in sent] == ["alert", "resolved", "alert", "resolved", "flapping"]
    # The last change left the alert resolved; after the quiet time nothing is left to tell.
    assert noise.due(now + 15 * 60 + 100, []) == []


def test_flapping_quiet_end_sends_current_state() -> None:
    noise = control(grouping_window_seconds=0, cooldown_minutes=0)
    alerts = []
    sent = []
    for step in range(5):
        now = NOON + step * 20
        if step % 2 == 0:
            alerts.append(make_alert("a", now))
            noise.fired(alerts[-1], now)
        else:
            alerts[-1].resolved_time = now
            noise.resolved(alerts[-1], now)
        sent += noise.due(now, [alert for alert in alerts if alert.resolved_time is None])
    assert [item.event for item in sent] == ["alert", "resolved", "alert", "resolved", "flapping"]
    still_firing = alerts[-1]
    assert noise.due(NOON + 15 * 60, [still_firing]) == []
    after = noise.due(NOON + 80 + 15 * 60, [still_firing])
    assert [(item.event, item.alerts[0].id) for item in after] == [("alert", still_firing.id)]


def test_quiet_hours_hold_warnings_until_end() -> None:
    quiet = {"enabled": True, "start": "22:00", "end": "06:00", "timezone": "UTC"}
    noise = control(grouping_window_seconds=0, quiet_hours=quiet)
    night = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc).timestamp()
    warning = make_alert("w", night)
    offline = make_alert("n", night, level="critical", metric="offline", resource_type="node")
    noise.fired(warning, night)
    noise.fired(offline, night)
    assert events(noise.due(night, [warning, offline])) == [("alert", ["n"])]

    morning = datetime(2027, 1, 16, 6, 0, tzinfo=timezone.utc).timestamp()
    assert events(noise.due(morning - 1, [warning, offline])) == []
    assert events(noise.due(morning, [warning, offline])) == [("alert", ["w"])]


def test_quiet_hours_drop_firing_resolved_overnight() -> None:
    quiet = {"enabled": True, "start": "22:00", "end": "06:00", "timezone": "UTC"}
    noise = control(grouping_window_seconds=0, quiet_hours=quiet)
    night = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc).timestamp()
    alert = make_alert("w", night)
    noise.fired(alert, night)
    alert.resolved_time = night + 600
    noise.resolved(alert, night + 600)
    morning = datetime(2027, 1, 16, 6, 0, tzinfo=timezone.utc).timestamp()
    assert noise.due(morning, []) == []


def test_quiet_hours_hold_critical_by_category() -> None:
    quiet = {"enabled": True, "start": "22:00", "end": "06:00", "hold_critical": {"performance": True}}
    noise = control(grouping_window_seconds=0, quiet_hours=quiet)
    night = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc).timestamp()
    cpu = make_alert("c", night, level="critical")
    noise.fired(cpu, night)
    assert noise.due(night, [cpu]) == []


def test_quiet_hours_across_midnight_and_zone() -> None:
    quiet = QuietHours(enabled=True, start="22:00", end="06:00", timezone="Europe/Berlin")
    # 21:30 UTC is 22:30 in Berlin in winter.
    assert in_quiet_hours(quiet, datetime(2027, 1, 15, 21, 30, tzinfo=timezone.utc).timestamp())
    assert not in_quiet_hours(quiet, datetime(2027, 1, 15, 20, 30, tzinfo=timezone.utc).timestamp())
    daytime = QuietHours(enabled=True, start="09:00", end="17:00")
    assert in_quiet_hours(daytime, NOON)
    assert not in_quiet_hours(daytime, NOON + 6 * 3600)


def test_escalation_once_unless_acknowledged() -> None:
    noise = control(grouping_window_seconds=0, escalation={"enabled": True, "after_minutes": 30})
    alert = make_alert("a", NOON)
    acked = make_alert("b", NOON)
    for item in (alert, acked):
        noise.fired(item, NOON)
    noise.due(NOON, [alert, acked])
    acked.acknowledged = True
    assert noise.due(NOON + 29 * 60, [alert, acked]) == []
    sent = noise.due(NOON + 30 * 60, [alert, acked])
    assert [(item.event, item.title) for item in sent] == [("alert", "Escalated: a cpu")]
    assert noise.due(NOON + 90 * 60, [alert, acked]) == []


def test_warning_raised_to_critical_is_notified_again() -> None:
    noise = control(grouping_window_seconds=0)
    alert = make_alert("a", NOON)
    noise.fired(alert, NOON)
    assert events(noise.due(NOON, [alert])) == [("alert", ["a"])]

    alert.level = "critical"
    noise.raised(alert, NOON + 60)  # well inside the default cooldown

    sent = noise.due(NOON + 60, [alert])
    assert events(sent) == [("alert", ["a"])]
    assert sent[0].alerts[0].level == "critical"
    assert alert.metadata["raised"] == NOON + 60


def test_raise_without_extra_notification() -> None:
    noise = control(grouping_window_seconds=30)
    pending = make_alert("p", NOON)
    noise.fired(pending, NOON)
    pending.level = "critical"
    noise.raised(pending, NOON + 5)
    sent = noise.due(NOON + 30, [pending])
    assert events(sent) == [("alert", ["p"])]  # one firing, already at the critical level
    assert sent[0].alerts[0].level == "critical"

    acknowledged = make_alert("k", NOON)
    acknowledged.metadata["notified"] = True
    acknowledged.acknowledged = True
    acknowledged.level = "critical"
    noise.raised(acknowledged, NOON + 40)
    assert noise.due(NOON + 100, [acknowledged]) == []


def test_held_warning_is_released_when_raised_to_critical() -> None:
    quiet = {"enabled": True, "start": "22:00", "end": "06:00", "timezone": "UTC",
             "hold_critical": {"performance": False}}
    noise = control(grouping_window_seconds=0, quiet_hours=quiet)
    night = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc).timestamp()
    alert = make_alert("w", night)
    noise.fired(alert, night)
    assert noise.due(night, [alert]) == []

    alert.level = "critical"
    noise.raised(alert, night + 120)

    assert events(noise.due(night + 120, [alert])) == [("alert", ["w"])]
    morning = datetime(2027, 1, 16, 6, 0, tzinfo=timezone.utc).timestamp()
    assert noise.due(morning, [alert]) == []  # not sent a second time when the quiet hours end
