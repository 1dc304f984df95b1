"""The alert REST routes through the Quart test client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from quart_trio import QuartTrio

from pulse_core.alerts import AlertEngine
from pulse_core.alerts.routes import create_blueprint
from pulse_core.config import SettingsStore
from pulse_core.model import guest_id
from pulse_core.state import State

from .helpers import INSTANCE, FakeClock, MemoryStorage, apply_poll, make_engine, make_guest


class DaemonDouble:
    """The parts of the daemon the alert routes use."""

    def __init__(self, data_dir: Path, clock: FakeClock) -> None:
        self.clock = clock
        self.settings = SettingsStore(data_dir)
        self.storage = MemoryStorage()
        self.state = State(clock=clock)
        self.alerts: AlertEngine = make_engine(data_dir, clock, self.storage, settings=self.settings)
        self.poll_listeners = [self._count_push]
        self.pushes = 0
        self.audits: list[tuple[str, dict[str, Any]]] = []

    def _count_push(self) -> None:
        self.pushes += 1

    async def audit(self, action: str, **fields: Any) -> None:
        self.audits.append((action, fields))

    async def poll(self, *guests: Any) -> None:
        self.clock.advance(10)
        apply_poll(self.state, self.clock, guests=list(guests))
        await self.alerts.evaluate(self.state)


@pytest.fixture
def daemon(tmp_path: Path) -> DaemonDouble:
    return DaemonDouble(tmp_path, FakeClock())


@pytest.fixture
def client(daemon: DaemonDouble) -> Any:
    app = QuartTrio(__name__)
    app.register_blueprint(create_blueprint(daemon))
    return app.test_client()


async def fire_cpu(daemon: DaemonDouble, *vmids: int) -> list[str]:
    guests = [make_guest(vmid, cpu=99.0) for vmid in vmids]
    await daemon.poll(*guests)
    await daemon.poll(*guests)
    return sorted(daemon.alerts.active)


async def test_thresholds_defaults(client: Any) -> None:
    response = await client.get("/api/notifications/thresholds")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["guest"]["cpu"] == {"trigger": 80.0, "clear": 75.0, "critical": None, "delaySeconds": None}
    assert body["storage"]["usage"]["trigger"] == 85.0
    assert body["node"]["offline"]["polls"] == 3
    assert body["guest"]["poweredOff"]["enabled"] is False
    assert body["guest"]["backupAge"] == {"enabled": False, "warningDays": 7.0, "criticalDays": 14.0,
                                          "delaySeconds": None}
    assert body["noise"]["cooldownMinutes"] == 5.0
    assert body["noise"]["flapping"] == {"enabled": True, "changes": 5, "windowMinutes": 5.0, "quietMinutes": 15.0}
    assert body["defaultDelaySeconds"] == 5.0
    assert body["historyDays"] == 30.0
    assert "overrides" not in body


async def test_thresholds_partial_update(client: Any, daemon: DaemonDouble) -> None:
    response = await client.post("/api/notifications/thresholds", json={"guest": {"cpu": {"trigger": 90, "clear": 85}},
                                                                         "noise": {"cooldown_minutes": 10}})
    assert response.status_code == 200
    body = await response.get_json()
    assert body["guest"]["cpu"]["trigger"] == 90.0
    assert body["guest"]["memory"]["trigger"] == 85.0
    assert body["noise"]["cooldownMinutes"] == 10.0
    assert daemon.settings.get("alerts")["guest"]["cpu"]["trigger"] == 90.0
    assert daemon.alerts.config.guest.cpu.trigger == 90.0
    assert daemon.audits[-1][0] == "alerts.thresholds.update"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"guest": {"cpu": {"trigger": 70, "clear": 80}}}, "guest.cpu: clear (80.0) must not exceed trigger (70.0)"),
        ({"guest": {"cpu": {"trigger": "high"}}}, "guest.cpu.trigger:"),
        ({"guest": {"cpux": {}}}, "guest.cpux: unknown field"),
        ({"noise": {"quietHours": {"timezone": "Mars/Olympus"}}}, "unknown time zone 'Mars/Olympus'"),
        ({"noise": {"quietHours": {"start": "25:00"}}}, "noise.quietHours.start:"),
        ({"defaultDelaySeconds": -1}, "defaultDelaySeconds:"),
        ({"overrides": {}}, "overrides: not part of the thresholds; POST them to /api/notifications/thresholds/overrides"),
    ],
)
async def test_thresholds_rejects_bad_input(client: Any, daemon: DaemonDouble, body: dict, expected: str) -> None:
    response = await client.post("/api/notifications/thresholds", json=body)
    assert response.status_code == 400
    assert expected in (await response.get_json())["error"]
    assert daemon.settings.get("alerts") is None


async def test_thresholds_rejects_non_object(client: Any) -> None:
    response = await client.post("/api/notifications/thresholds", data="[1]", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "request body: expected a JSON object"


async def test_overrides_round_trip(client: Any) -> None:
    overrides = {"pve1-101": {"metrics": {"cpu": {"trigger": 95}, "poweredOff": {"enabled": True}}},
                 "tag:batch": {"disabled": True}}
    response = await client.post("/api/notifications/thresholds/overrides", json={"overrides": overrides})
    assert response.status_code == 200
    body = await (await client.get("/api/notifications/thresholds/overrides")).get_json()
    assert body["overrides"]["pve1-101"]["metrics"]["cpu"]["trigger"] == 95.0
    assert body["overrides"]["pve1-101"]["metrics"]["cpu"] == {"trigger": 95.0}
    assert body["overrides"]["pve1-101"]["metrics"]["poweredOff"] == {"enabled": True}
    assert body["overrides"]["tag:batch"]["disabled"] is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "overrides: expected an object"),
        ({"overrides": {"pve1-101": {"metrics": {"fan": {}}}}}, "pve1-101.metrics.fan: unknown metric"),
        ({"overrides": {"pve1-101": {"metrics": {"offline": {"trigger": 5}}}}},
         "overrides.pve1-101.metrics.offline.trigger: does not apply to this metric"),
        ({"overrides": {"tag:": {}}}, "an override key must be a resource id or 'tag:<name>'"),
        ({"overrides": {"pve1-101": {"metrics": {"cpu": {"trigger": 101}}}}}, "trigger:"),
    ],
)
async def test_overrides_reject_bad_input(client: Any, body: dict, expected: str) -> None:
    response = await client.post("/api/notifications/thresholds/overrides", json=body)
    assert response.status_code == 400
    assert expected in (await response.get_json())["error"]


async def test_alerts_lists_active_and_history(client: Any, daemon: DaemonDouble) -> None:
    await fire_cpu(daemon, 101, 102)
    await daemon.poll(make_guest(101, cpu=99.0), make_guest(102, cpu=5.0))
    await daemon.poll(make_guest(101, cpu=99.0), make_guest(102, cpu=5.0))
    body = await (await client.get("/api/notifications/alerts")).get_json()
    assert [alert["resourceId"] for alert in body["active"]] == [guest_id(INSTANCE, 101)]
    assert [alert["resourceId"] for alert in body["history"]] == [guest_id(INSTANCE, 102)]
    assert body["history"][0]["resolvedTime"] is not None

    response = await client.post("/api/notifications/alerts/clear")
    assert response.status_code == 200
    body = await (await client.get("/api/notifications/alerts")).get_json()
    assert body["history"] == []
    assert len(body["active"]) == 1


async def test_alerts_rejects_bad_limit(client: Any) -> None:
    response = await client.get("/api/notifications/alerts?limit=lots")
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "limit: expected an integer, got 'lots'"
    response = await client.get("/api/notifications/alerts?limit=0")
    assert response.status_code == 400


async def test_bulk_acknowledge_and_unacknowledge(client: Any, daemon: DaemonDouble) -> None:
    ids = await fire_cpu(daemon, 101, 102, 103)
    response = await client.post("/api/notifications/alerts/acknowledge", json={"ids": ids[:2] + ["gone"]})
    assert response.status_code == 200
    assert await response.get_json() == {"acknowledged": ids[:2], "notFound": ["gone"]}
    assert [daemon.alerts.active[alert_id].acknowledged for alert_id in ids] == [True, True, False]
    assert [alert.acknowledged for alert in daemon.state.active_alerts if alert.id in ids[:2]] == [True, True]
    assert daemon.pushes == 1
    assert daemon.storage.active and all(a.acknowledged for a in daemon.storage.active if a.id in ids[:2])

    response = await client.post("/api/notifications/alerts/unacknowledge", json={"ids": ids[:1]})
    assert await response.get_json() == {"unacknowledged": ids[:1], "notFound": []}
    assert daemon.alerts.active[ids[0]].acknowledged is False
    assert daemon.alerts.active[ids[0]].ack_user is None


async def test_single_acknowledge(client: Any, daemon: DaemonDouble) -> None:
    [alert_id] = await fire_cpu(daemon, 101)
    response = await client.post(f"/api/notifications/alerts/{alert_id}/acknowledge")
    assert response.status_code == 200
    assert (await response.get_json())["acknowledged"] is True
    response = await client.post(f"/api/notifications/alerts/{alert_id}/unacknowledge")
    assert (await response.get_json())["acknowledged"] is False
    response = await client.post("/api/notifications/alerts/nope/acknowledge")
    assert response.status_code == 404
    assert "no active alert with id 'nope'" in (await response.get_json())["error"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "ids: expected a non-empty list"),
        ({"ids": []}, "ids: expected a non-empty list"),
        ({"ids": [1]}, "ids.0: expected a non-empty string"),
    ],
)
async def test_bulk_acknowledge_rejects_bad_ids(client: Any, body: dict, expected: str) -> None:
    response = await client.post("/api/notifications/alerts/acknowledge", json=body)
    assert response.status_code == 400
    assert (await response.get_json())["error"].startswith(expected)


async def test_bulk_acknowledge_all_unknown_is_404(client: Any) -> None:
    response = await client.post("/api/notifications/alerts/acknowledge", json={"ids": ["a", "b"]})
    assert response.status_code == 404


async def test_saving_thresholds_keeps_ack_and_alerts(client: Any, daemon: DaemonDouble) -> None:
    ids = await fire_cpu(daemon, 101, 102, 103)
    await client.post(f"/api/notifications/alerts/{ids[1]}/acknowledge")
    response = await client.post("/api/notifications/thresholds", json={"noise": {"groupingWindowSeconds": 5}})
    assert response.status_code == 200
    response = await client.post("/api/notifications/thresholds/overrides", json={"overrides": {"tag:x": {}}})
    assert response.status_code == 200
    before = len(daemon.storage.history)
    await daemon.poll(*(make_guest(vmid, cpu=99.0) for vmid in (101, 102, 103)))
    assert sorted(daemon.alerts.active) == ids
    assert daemon.alerts.active[ids[1]].acknowledged is True
    assert len(daemon.storage.history) == before
