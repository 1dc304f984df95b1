"""Alert engine behaviour over real State objects: the handed cases, polls, overrides, restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from pulse_core.alerts import AlertEngine
from pulse_core.alerts.engine import AlertEvent
from pulse_core.config import SettingsStore
from pulse_core.model import (
    ConnectionHealth,
    BackupTask,
    Datastore,
    DeliveryResult,
    Notification,
    PBSInstance,
    PBSJob,
    guest_id,
    node_id,
    storage_id,
)
from pulse_core.notify.dispatcher import NotificationDispatcher
from pulse_core.state import State

from .helpers import (
    INSTANCE,
    FakeClock,
    MemoryStorage,
    RecordingDispatcher,
    apply_poll,
    fail_poll,
    make_engine,
    make_guest,
    make_node,
    make_storage,
)

POLL = 10.0
VM = guest_id(INSTANCE, 101)


async def poll(engine: AlertEngine, state: State, clock: FakeClock, advance: float = POLL, **lists: Any) -> list[AlertEvent]:
    clock.advance(advance)
    apply_poll(state, clock, **lists)
    return await engine.evaluate(state)


def kinds(events: list[AlertEvent]) -> list[tuple[str, str]]:
    return [(event.event, event.alert.type) for event in events]


# --- handed cases ---------------------------------------------------------------------------------


async def test_settings_save_keeps_alerts_and_ack(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    guests = [make_guest(vmid, cpu=95.0) for vmid in (101, 102, 103)]
    await poll(engine, state, clock, guests=guests)
    events = await poll(engine, state, clock, guests=guests)
    assert kinds(events) == [("alert", "cpu")] * 3
    acked_id = next(iter(engine.active))
    assert await engine.acknowledge([acked_id], user="admin") == []

    settings = engine.settings.get("alerts", {})
    settings["noise"] = {"grouping_window_seconds": 10}
    settings["node"] = {"cpu": {"trigger": 70, "clear": 60}}
    await engine.settings.set("alerts", settings)
    events = await poll(engine, state, clock, guests=guests)
    events += await poll(engine, state, clock, guests=guests)

    assert events == []
    assert len(engine.active) == 3
    assert engine.active[acked_id].acknowledged is True
    assert engine.active[acked_id].ack_user == "admin"


async def test_cpu_resolves_after_delay(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    fired: list[AlertEvent] = []
    for _ in range(61):  # ten minutes of polls every ten seconds
        fired += await poll(engine, state, clock, guests=[make_guest(cpu=95.0)])
    assert kinds(fired) == [("alert", "cpu")]

    first_low = await poll(engine, state, clock, guests=[make_guest(cpu=20.0)])
    assert first_low == []
    assert len(engine.active) == 1

    resolved = await poll(engine, state, clock, advance=5.0, guests=[make_guest(cpu=20.0)])
    assert kinds(resolved) == [("resolved", "cpu")]
    assert engine.active == {}


class RecordingChannel:
    def __init__(self, channel_id: str) -> None:
        self.id = channel_id
        self.received: list[Notification] = []

    async def send(self, notification: Notification) -> DeliveryResult:
        self.received.append(notification)
        return DeliveryResult(ok=True, status_code=200)


class TwoChannels:
    name = "recording"

    def __init__(self) -> None:
        self.built = [RecordingChannel("first"), RecordingChannel("second")]

    def channels(self, settings: Any) -> list[RecordingChannel]:
        return self.built


async def test_powered_off_resolved_to_every_channel(tmp_path: Path, clock: FakeClock, state: State) -> None:
    storage = MemoryStorage()
    notifier = TwoChannels()
    daemon = type("DaemonDouble", (), {})()
    daemon.plugins = type("Plugins", (), {"notifier_types": staticmethod(lambda: {"recording": notifier})})()
    settings = SettingsStore(tmp_path)
    dispatcher = NotificationDispatcher(storage, settings, daemon, clock=clock)
    engine = make_engine(tmp_path, clock, storage, dispatcher, settings)
    await settings.set("alerts", {"guest": {"powered_off": {"enabled": True}}, "noise": {"grouping_window_seconds": 0}})

    await poll(engine, state, clock, guests=[make_guest(status="stopped")])
    fired = await poll(engine, state, clock, guests=[make_guest(status="stopped")])
    assert kinds(fired) == [("alert", "powered_off")]
    await dispatcher.process_due()

    await poll(engine, state, clock, guests=[make_guest(status="running")])
    resolved = await poll(engine, state, clock, guests=[make_guest(status="running")])
    assert kinds(resolved) == [("resolved", "powered_off")]
    await dispatcher.process_due()

    for channel in notifier.built:
        assert [item.event for item in channel.received] == ["alert", "resolved"], channel.id
        assert channel.received[1].alerts[0].id == fired[0].alert.id


async def test_unknown_memory_neither_fires_nor_resolves(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    for _ in range(5):
        assert await poll(engine, state, clock, guests=[make_guest(memory=None)]) == []
    assert engine.active == {}

    await poll(engine, state, clock, guests=[make_guest(memory=95.0)])
    fired = await poll(engine, state, clock, guests=[make_guest(memory=95.0)])
    assert kinds(fired) == [("alert", "memory")]
    for _ in range(30):
        assert await poll(engine, state, clock, guests=[make_guest(memory=None)]) == []
    assert [alert.type for alert in engine.active.values()] == ["memory"]
    assert next(iter(engine.active.values())).value == 95.0


# --- delays, hysteresis, polls ------------------------------------------------------------------


async def test_hysteresis_holds_between_clear_and_trigger(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=85.0)])
    assert kinds(await poll(engine, state, clock, guests=[make_guest(cpu=85.0)])) == [("alert", "cpu")]
    for value in (78.0, 76.0, 75.0, 79.9):
        assert await poll(engine, state, clock, guests=[make_guest(cpu=value)]) == [], value
    assert await poll(engine, state, clock, guests=[make_guest(cpu=74.0)]) == []  # below clear: delay starts
    assert kinds(await poll(engine, state, clock, guests=[make_guest(cpu=74.0)])) == [("resolved", "cpu")]


async def test_per_metric_delay(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await engine.settings.set("alerts", {"guest": {"cpu": {"trigger": 80, "clear": 75, "delay_seconds": 60}}})
    events = []
    for _ in range(6):
        events += await poll(engine, state, clock, guests=[make_guest(cpu=90.0)])
    assert events == []  # 50 s of high CPU so far
    assert kinds(await poll(engine, state, clock, guests=[make_guest(cpu=90.0)])) == [("alert", "cpu")]


async def test_short_spike_does_not_fire(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    await poll(engine, state, clock, advance=2.0, guests=[make_guest(cpu=10.0)])
    assert await poll(engine, state, clock, advance=2.0, guests=[make_guest(cpu=99.0)]) == []
    assert engine.active == {}


async def test_critical_level_above_trigger_plus_ten(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=85.0)])
    fired = await poll(engine, state, clock, guests=[make_guest(cpu=85.0)])
    assert fired[0].alert.level == "warning"
    assert await poll(engine, state, clock, guests=[make_guest(cpu=91.0)]) == []
    assert fired[0].alert.level == "critical"


async def test_rise_to_critical_is_notified_once(engine: AlertEngine, state: State, clock: FakeClock,
                                                dispatcher: RecordingDispatcher) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=85.0)])
    fired = await poll(engine, state, clock, guests=[make_guest(cpu=85.0)])
    clock.advance(60)
    await engine.tick()
    assert dispatcher.events() == [("alert", [fired[0].alert.id])]
    first_title = dispatcher.sent[0].title

    for _ in range(3):  # critical, then back to warning, then critical again: one rise per episode
        await poll(engine, state, clock, guests=[make_guest(cpu=95.0)])
        await poll(engine, state, clock, guests=[make_guest(cpu=85.0)])
    clock.advance(60)
    await engine.tick()

    assert dispatcher.events() == [("alert", [fired[0].alert.id])] * 2
    assert dispatcher.sent[1].alerts[0].level == "critical"
    assert dispatcher.sent[1].title != first_title


async def test_node_offline_after_three_failed_polls(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, nodes=[make_node()])
    events: list[AlertEvent] = []
    for attempt in (1, 2):
        clock.advance(POLL)
        fail_poll(state, clock, failures=attempt)
        events += await engine.evaluate(state)
    assert events == []
    clock.advance(POLL)
    fail_poll(state, clock, failures=3)
    events = await engine.evaluate(state)
    assert kinds(events) == [("alert", "offline")]
    assert events[0].alert.resource_id == node_id(INSTANCE, "node1")
    assert events[0].alert.level == "critical"

    await poll(engine, state, clock, nodes=[make_node()])
    resolved = await poll(engine, state, clock, nodes=[make_node()])
    assert kinds(resolved) == [("resolved", "offline")]


async def test_evaluations_without_new_poll_do_not_count(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, nodes=[make_node(status="offline")])
    for _ in range(5):  # other connections' polls evaluate the same, unchanged data
        clock.advance(POLL)
        assert await engine.evaluate(state) == []
    await poll(engine, state, clock, nodes=[make_node(status="offline")])
    assert kinds(await poll(engine, state, clock, nodes=[make_node(status="offline")])) == [("alert", "offline")]


async def test_storage_unavailable_after_two_polls(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    assert await poll(engine, state, clock, storage=[make_storage(active=False)]) == []
    events = await poll(engine, state, clock, storage=[make_storage(active=False)])
    assert kinds(events) == [("alert", "unavailable")]
    assert events[0].alert.resource_id == storage_id(INSTANCE, "node1", "local")


async def test_offline_node_unknown_guests_keep_alerts(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=95.0)])
    await poll(engine, state, clock, guests=[make_guest(cpu=95.0)])
    assert len(engine.active) == 1
    unknown = make_guest(cpu=None, memory=None, disk=None, status="unknown")
    for _ in range(10):
        assert await poll(engine, state, clock, guests=[unknown]) == []
    assert len(engine.active) == 1


# --- overrides ------------------------------------------------------------------------------------


async def test_override_by_id_survives_migration(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await engine.settings.set("alerts", {"overrides": {VM: {"metrics": {"cpu": {"trigger": 95}}}}})
    for node in ("node1", "node2", "node3"):
        assert await poll(engine, state, clock, guests=[make_guest(cpu=90.0, node=node)]) == []
    await poll(engine, state, clock, guests=[make_guest(cpu=97.0, node="node1")])
    fired = await poll(engine, state, clock, guests=[make_guest(cpu=97.0, node="node2")])
    assert kinds(fired) == [("alert", "cpu")]
    assert fired[0].alert.threshold == 95.0
    assert fired[0].alert.node == "node2"
    # Migrating while firing keeps the same alert.
    assert await poll(engine, state, clock, guests=[make_guest(cpu=97.0, node="node3")]) == []
    assert [alert.node for alert in engine.active.values()] == ["node3"]


async def test_override_by_tag(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await engine.settings.set("alerts", {"overrides": {"tag:batch": {"metrics": {"cpu": {"enabled": False}}}}})
    guests = [make_guest(101, cpu=99.0, tags=["Batch"]), make_guest(102, cpu=99.0)]
    await poll(engine, state, clock, guests=guests)
    fired = await poll(engine, state, clock, guests=guests)
    assert [event.alert.resource_id for event in fired] == [guest_id(INSTANCE, 102)]


async def test_disabling_resource_resolves_its_alert(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    await engine.settings.set("alerts", {"overrides": {VM: {"disabled": True}}})
    resolved = await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    assert kinds(resolved) == [("resolved", "cpu")]
    assert resolved[0].alert.metadata["resolvedReason"] == "disabled"


async def test_zero_threshold_disables_metric(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await engine.settings.set("alerts", {"guest": {"memory": {"trigger": 0, "clear": 0}}})
    for _ in range(3):
        assert await poll(engine, state, clock, guests=[make_guest(memory=100.0)]) == []


# --- other rules ----------------------------------------------------------------------------------


async def test_failed_backup_task_fires_and_clears(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    def task(upid: str, status: str, start: float) -> BackupTask:
        return BackupTask(id=upid, upid=upid, node="node1", instance=INSTANCE, vmid=101, status=status,
                          start_time=int(start), end_time=int(start) + 60)

    failed = [task("a", "job errors", clock() - 3600)]
    await poll(engine, state, clock, guests=[make_guest()], backup_tasks=failed)
    fired = await poll(engine, state, clock, guests=[make_guest()], backup_tasks=failed)
    assert kinds(fired) == [("alert", "backup_failed")]
    fixed = failed + [task("b", "OK", clock() - 600)]
    await poll(engine, state, clock, guests=[make_guest()], backup_tasks=fixed)
    assert kinds(await poll(engine, state, clock, guests=[make_guest()], backup_tasks=fixed)) == [
        ("resolved", "backup_failed")
    ]


async def test_backup_age_levels(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await engine.settings.set("alerts", {"guest": {"backup_age": {"enabled": True}}})
    ok = BackupTask(id="t", upid="t", node="node1", instance=INSTANCE, vmid=101, status="OK",
                    start_time=int(clock() - 10 * 86400), end_time=int(clock() - 10 * 86400 + 60))
    await poll(engine, state, clock, guests=[make_guest()], backup_tasks=[ok])
    fired = await poll(engine, state, clock, guests=[make_guest()], backup_tasks=[ok])
    assert kinds(fired) == [("alert", "backup_age")]
    assert fired[0].alert.level == "warning"
    clock.advance(5 * 86400)
    await poll(engine, state, clock, guests=[make_guest()], backup_tasks=[ok])
    assert fired[0].alert.level == "critical"


async def test_pbs_verify_job_failed(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    store = Datastore(id="pbs1-store1", name="store1", instance="pbs1", status="available")
    job = PBSJob(id="v-1", kind="verify", store="store1", last_run=int(clock()), last_result="TASK ERROR: failed")
    pbs = PBSInstance(id="pbs1", name="pbs1", host="127.0.0.1", status="online", datastores=[store], jobs=[job])
    clock.advance(POLL)
    apply_poll(state, clock, instance="pbs1", pbs=[pbs])
    await engine.evaluate(state)
    clock.advance(POLL)
    apply_poll(state, clock, instance="pbs1", pbs=[pbs])
    events = await engine.evaluate(state)
    assert kinds(events) == [("alert", "verify_failed")]
    assert events[0].alert.resource_id == "pbs1-store1"


async def test_removed_guest_resolves(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    resolved = await poll(engine, state, clock, guests=[])
    assert kinds(resolved) == [("resolved", "cpu")]
    assert resolved[0].alert.metadata["resolvedReason"] == "resource removed"


# --- persistence ----------------------------------------------------------------------------------


async def test_restart_keeps_active_alerts(tmp_path: Path, clock: FakeClock, state: State) -> None:
    storage = MemoryStorage()
    first = make_engine(tmp_path, clock, storage)
    await poll(first, state, clock, guests=[make_guest(cpu=99.0)])
    await poll(first, state, clock, guests=[make_guest(cpu=99.0)])
    [alert_id] = first.active
    await first.acknowledge([alert_id], user="admin")

    second = make_engine(tmp_path, clock, storage)
    await second.start()
    assert list(second.active) == [alert_id]
    assert second.active[alert_id].acknowledged is True
    assert await poll(second, state, clock, guests=[make_guest(cpu=99.0)]) == []
    await poll(second, state, clock, guests=[make_guest(cpu=10.0)])
    resolved = await poll(second, state, clock, guests=[make_guest(cpu=10.0)])
    assert [(event.event, event.alert.id) for event in resolved] == [("resolved", alert_id)]
    assert [alert.id for alert in storage.history] == [alert_id]
    assert storage.active == []


async def test_history_keeps_resolved_alerts(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
    await poll(engine, state, clock, guests=[make_guest(cpu=10.0)])
    await poll(engine, state, clock, guests=[make_guest(cpu=10.0)])
    history = await engine.history()
    assert [alert.type for alert in history] == ["cpu"]
    clock.advance(31 * 86400)
    assert await engine.history() == []


async def test_restart_with_sqlite_storage(tmp_path: Path, clock: FakeClock, state: State) -> None:
    sqlite_plugin = pytest.importorskip("pulse_storage_sqlite", reason="the SQLite storage plugin is not installed")
    dispatcher = RecordingDispatcher()
    storage = sqlite_plugin.SqliteStorageType().create(str(tmp_path), {})
    await storage.open()
    try:
        first = make_engine(tmp_path, clock, storage, dispatcher)
        await poll(first, state, clock, guests=[make_guest(cpu=99.0), make_guest(102, memory=99.0)])
        await poll(first, state, clock, guests=[make_guest(cpu=99.0), make_guest(102, memory=99.0)])
        ids = sorted(first.active)
        await first.acknowledge(ids[:1], user="admin")
        clock.advance(60)
        await first.tick()  # the grouping window closes and the firing goes out
        assert [item.event for item in dispatcher.sent] == ["alert"]
    finally:
        await storage.aclose()

    storage = sqlite_plugin.SqliteStorageType().create(str(tmp_path), {})
    await storage.open()
    try:
        second = make_engine(tmp_path, clock, storage, dispatcher)
        await second.start()
        assert sorted(second.active) == ids
        assert second.active[ids[0]].acknowledged is True
        assert second.active[ids[0]].ack_user == "admin"
        assert second.active[ids[1]].metadata["notified"] is True

        await poll(second, state, clock, guests=[make_guest(cpu=5.0), make_guest(102, memory=5.0)])
        resolved = await poll(second, state, clock, guests=[make_guest(cpu=5.0), make_guest(102, memory=5.0)])
        assert sorted(event.alert.id for event in resolved) == ids
        clock.advance(60)
        await second.tick()
        # The acknowledged alert was never notified, so only the other one is resolved to receivers.
        assert [(item.event, [alert.id for alert in item.alerts]) for item in dispatcher.sent[1:]] == [
            ("resolved", [ids[1]])
        ]
        assert sorted(alert.id for alert in await second.history()) == ids
        assert await storage.load_active_alerts() == []
    finally:
        await storage.aclose()


async def test_shutdown_sends_open_window(engine: AlertEngine, state: State, clock: FakeClock,
                                          dispatcher: RecordingDispatcher) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
        await poll(engine, state, clock, guests=[make_guest(cpu=99.0)])
        assert dispatcher.sent == []  # still inside the 30 s grouping window
        nursery.cancel_scope.cancel()
    assert [item.event for item in dispatcher.sent] == ["alert"]
    assert [alert.metadata["notified"] for alert in engine.active.values()] == [True]


async def test_pbs_offline_on_timeouts_not_auth(engine: AlertEngine, state: State, clock: FakeClock) -> None:
    pbs = PBSInstance(id="pbs1", name="pbs1", host="127.0.0.1", status="online")
    clock.advance(POLL)
    apply_poll(state, clock, instance="pbs1", pbs=[pbs])
    await engine.evaluate(state)

    for attempt in range(1, 6):
        clock.advance(POLL)
        state.mark_instance_failed("pbs1")
        state.set_health(ConnectionHealth(instance="pbs1", healthy=False, status="auth", last_error=clock(),
                                          consecutive_failures=attempt))
        assert await engine.evaluate(state) == []

    events: list[AlertEvent] = []
    for attempt in range(1, 4):
        clock.advance(POLL)
        state.set_health(ConnectionHealth(instance="pbs1", healthy=False, status="timeout", last_error=clock(),
                                          consecutive_failures=attempt))
        events += await engine.evaluate(state)
    assert kinds(events) == [("alert", "offline")]
    assert events[0].alert.resource_type == "pbs"


@asynccontextmanager
async def engine_on_sqlite(
    path: Path, clock: FakeClock, dispatcher: RecordingDispatcher, settings: SettingsStore
) -> AsyncIterator[AlertEngine]:
    """Run one daemon lifetime of the engine: open the SQLite file, start, close."""
    sqlite_plugin = pytest.importorskip("pulse_storage_sqlite", reason="the SQLite storage plugin is not installed")
    storage = sqlite_plugin.SqliteStorageType().create(str(path), {})
    await storage.open()
    try:
        engine = make_engine(path, clock, storage, dispatcher, settings)
        await engine.start()
        yield engine
    finally:
        await storage.aclose()


async def test_held_notification_survives_restart(tmp_path: Path, clock: FakeClock, state: State) -> None:
    # The fake clock starts at 08:00 UTC, inside these quiet hours.
    quiet = {"enabled": True, "start": "07:00", "end": "09:00", "timezone": "UTC"}
    settings = SettingsStore(tmp_path)
    await settings.set("alerts", {"noise": {"grouping_window_seconds": 0, "quiet_hours": quiet}})
    dispatcher = RecordingDispatcher()
    async with engine_on_sqlite(tmp_path, clock, dispatcher, settings) as first:
        await poll(first, state, clock, guests=[make_guest(cpu=85.0)])
        fired = await poll(first, state, clock, guests=[make_guest(cpu=85.0)])
        await first.tick()
        assert dispatcher.sent == []  # a warning in quiet hours is held

    async with engine_on_sqlite(tmp_path, clock, dispatcher, settings) as second:
        clock.advance(3600)  # 09:00: the quiet hours end
        await poll(second, state, clock, guests=[make_guest(cpu=85.0)])
        await second.tick()
        assert dispatcher.events() == [("alert", [fired[0].alert.id])]
        assert second.active[fired[0].alert.id].metadata["notified"] is True


async def test_cooldown_survives_restart(tmp_path: Path, clock: FakeClock, state: State) -> None:
    settings = SettingsStore(tmp_path)
    await settings.set("alerts", {"noise": {"grouping_window_seconds": 0, "cooldown_minutes": 30}})
    dispatcher = RecordingDispatcher()
    async with engine_on_sqlite(tmp_path, clock, dispatcher, settings) as first:
        for cpu in (99.0, 99.0, 5.0, 5.0):
            await poll(first, state, clock, guests=[make_guest(cpu=cpu)])
            await first.tick()
        assert [item.event for item in dispatcher.sent] == ["alert", "resolved"]

    async with engine_on_sqlite(tmp_path, clock, dispatcher, settings) as second:
        await poll(second, state, clock, guests=[make_guest(cpu=99.0)])
        refired = await poll(second, state, clock, guests=[make_guest(cpu=99.0)])
        await second.tick()
        assert [event.event for event in refired] == ["alert"]
        assert [item.event for item in dispatcher.sent] == ["alert", "resolved"]  # within the cooldown
        assert refired[0].alert.metadata["suppressed"] == "cooldown"


async def test_unreadable_noise_state_is_ignored(engine: AlertEngine, storage: MemoryStorage,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    await storage.set_value("alerts.noise", {"version": 1, "held": [{"event": "alert"}]})
    await engine.start()
    assert engine.noise.statistics()["held"] == 0
    assert "Ignoring stored alert notification timings" in caplog.text
