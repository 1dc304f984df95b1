from __future__ import annotations

import pytest
from pulse_core import Alert, StorageError
from pulse_core.protocols import QueuedDelivery

DAY = 86400.0


def make_alert(alert_id: str, start: float, resolved: float | None = None) -> Alert:
    return Alert(
        id=alert_id,
        type="cpu",
        level="warning",
        resource_id="pve-100",
        resource_name="web",
        resource_type="guest",
        node="pve1",
        instance="pve",
        message="CPU above 90 %",
        value=95.0,
        threshold=90.0,
        start_time=start,
        last_seen=start + 60,
        resolved_time=resolved,
        metadata={"rule": "default"},
    )


def delivery(delivery_id: str, next_attempt: float, status: str = "pending", created: float = 0.0) -> QueuedDelivery:
    return QueuedDelivery(
        id=delivery_id,
        channel_id="webhook-1",
        payload={"title": "CPU", "alerts": [delivery_id]},
        attempts=0,
        next_attempt=next_attempt,
        status=status,
        created=created,
    )


async def test_active_alerts_survive_reopen(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    await storage.save_active_alerts([make_alert("a1", clock.now), make_alert("a2", clock.now)])
    await storage.save_active_alerts([make_alert("a2", clock.now), make_alert("a3", clock.now)])
    await storage.aclose()

    reopened = storage_factory()
    await reopened.open()
    loaded = await reopened.load_active_alerts()
    assert [alert.id for alert in loaded] == ["a2", "a3"]
    assert loaded[0] == make_alert("a2", clock.now)
    await reopened.aclose()


async def test_alert_history_query_and_clear(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    now = clock.now
    await storage.append_alert_history(make_alert("old", now - 10 * DAY, resolved=now - 9 * DAY))
    await storage.append_alert_history(make_alert("new", now - DAY, resolved=now - DAY + 600))
    await storage.append_alert_history(make_alert("new", now - DAY, resolved=now - DAY + 900))
    recent = await storage.query_alert_history(since=now - 2 * DAY)
    assert [alert.id for alert in recent] == ["new"]
    assert recent[0].resolved_time == now - DAY + 900
    assert [a.id for a in await storage.query_alert_history()] == ["new", "old"]
    assert [a.id for a in await storage.query_alert_history(limit=1)] == ["new"]
    await storage.clear_alert_history()
    assert await storage.query_alert_history() == []
    await storage.aclose()


async def test_alert_history_pruned_after_retention(storage_factory, clock) -> None:
    storage = storage_factory(alert_history_days=30)
    await storage.open()
    await storage.append_alert_history(make_alert("expired", clock.now - 40 * DAY, resolved=clock.now - 31 * DAY))
    await storage.append_alert_history(make_alert("kept", clock.now - 40 * DAY, resolved=clock.now - 29 * DAY))
    await storage.prune()
    assert [a.id for a in await storage.query_alert_history()] == ["kept"]
    await storage.aclose()


async def test_delivery_queue_survives_reopen(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    now = clock.now
    await storage.enqueue_delivery(delivery("late", now + 60, created=now))
    await storage.enqueue_delivery(delivery("due2", now - 5, created=now - 5))
    await storage.enqueue_delivery(delivery("due1", now - 30, created=now - 30))
    done = delivery("done", now - 60, created=now - 60)
    await storage.enqueue_delivery(done)
    done.status = "delivered"
    done.attempts = 1
    await storage.update_delivery(done)
    await storage.aclose()

    reopened = storage_factory()
    await reopened.open()
    due = await reopened.due_deliveries(now)
    assert [d.id for d in due] == ["due1", "due2"]
    assert due[0].payload == {"title": "CPU", "alerts": ["due1"]}
    assert [d.id for d in await reopened.due_deliveries(now + 120, limit=10)] == ["due1", "due2", "late"]
    assert [d.id for d in await reopened.list_deliveries("delivered")] == ["done"]
    assert [d.id for d in await reopened.list_deliveries()] == ["late", "due2", "due1", "done"]
    await reopened.aclose()


async def test_update_unknown_delivery_raises(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    with pytest.raises(StorageError, match="delivery 'ghost' not found"):
        await storage.update_delivery(delivery("ghost", clock.now))
    await storage.aclose()


async def test_finished_deliveries_pruned(storage_factory, clock) -> None:
    storage = storage_factory(delivery_retention_days=7)
    await storage.open()
    now = clock.now
    await storage.enqueue_delivery(delivery("old-dead", now, status="dead", created=now - 8 * DAY))
    await storage.enqueue_delivery(delivery("old-pending", now, created=now - 8 * DAY))
    await storage.enqueue_delivery(delivery("new-dead", now, status="dead", created=now - DAY))
    await storage.prune()
    assert sorted(d.id for d in await storage.list_deliveries()) == ["new-dead", "old-pending"]
    await storage.aclose()


async def test_sessions_survive_and_expire(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    await storage.save_session("hash-a", {"user": "admin", "csrf": "x"}, clock.now + 3600)
    await storage.save_session("hash-b", {"user": "admin"}, clock.now + 7200)
    await storage.save_session("hash-c", {"user": "admin"}, clock.now + 7200)
    await storage.aclose()

    reopened = storage_factory()
    await reopened.open()
    assert await reopened.load_session("hash-a") == {"user": "admin", "csrf": "x"}
    clock.now += 3601
    assert await reopened.load_session("hash-a") is None
    await reopened.delete_session("hash-b")
    assert await reopened.load_session("hash-b") is None
    await reopened.save_session("hash-d", {"user": "admin"}, clock.now + 60)
    await reopened.delete_sessions(except_key="hash-d")
    assert await reopened.load_session("hash-c") is None
    assert await reopened.load_session("hash-d") == {"user": "admin"}
    await reopened.delete_sessions()
    assert await reopened.load_session("hash-d") is None
    await reopened.aclose()


async def test_audit_log_pages_backwards(storage_factory, clock) -> None:
    storage = storage_factory(audit_retention_days=30)
    await storage.open()
    for i in range(5):
        await storage.append_audit({"ts": clock.now - 100 + i, "action": f"step-{i}", "user": "admin"})
    await storage.append_audit({"action": "no-ts"})
    latest = await storage.query_audit(limit=2)
    assert [event["action"] for event in latest] == ["no-ts", "step-4"]
    older = await storage.query_audit(limit=10, before=latest[-1]["ts"])
    assert [event["action"] for event in older] == ["step-3", "step-2", "step-1", "step-0"]
    with pytest.raises(StorageError, match="audit event ts must be epoch seconds"):
        await storage.append_audit({"ts": "yesterday", "action": "x"})
    clock.now += 31 * DAY
    await storage.prune()
    assert await storage.query_audit() == []
    await storage.aclose()


async def test_key_values_roundtrip(storage_factory) -> None:
    storage = storage_factory()
    await storage.open()
    await storage.set_value("update.status", {"latest": "1.2.0", "checked": 1.5})
    await storage.set_value("lockout", [1, 2])
    await storage.aclose()
    reopened = storage_factory()
    await reopened.open()
    assert await reopened.get_value("update.status") == {"latest": "1.2.0", "checked": 1.5}
    await reopened.set_value("lockout", None)
    assert await reopened.get_value("lockout") is None
    assert await reopened.get_value("missing") is None
    with pytest.raises(StorageError, match="cannot store value 'bad': it is not JSON-serializable"):
        await reopened.set_value("bad", object())
    await reopened.aclose()


async def test_calls_before_open_raise(storage_factory) -> None:
    storage = storage_factory()
    with pytest.raises(StorageError, match="storage is not open; call open"):
        await storage.get_value("x")
    with pytest.raises(StorageError, match="storage is not open; call open"):
        await storage.set_value("x", 1)


async def test_background_task_prunes_on_schedule(storage_factory, clock, tmp_path, autojump_clock) -> None:
    import sqlite3

    import trio

    storage = storage_factory(prune_interval_seconds=600)
    await storage.open()
    await storage.save_session("hash-old", {"user": "admin"}, clock.now - 1)
    async with trio.open_nursery() as nursery:
        await nursery.start(storage.run)
        await trio.sleep(601)
        nursery.cancel_scope.cancel()
    await storage.aclose()
    with sqlite3.connect(tmp_path / "pulse.db") as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
