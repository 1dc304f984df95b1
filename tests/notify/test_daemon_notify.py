"""End to end in a running daemon: notifier plugins, routes, the queue on SQLite and restarts."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
import trio

from pulse_core.model import Notification
from pulse_core.notify.templates import sample_alert
from pulse_core.testing.fixtures import start_daemon
from pulse_core.testing.webhook_receiver import open_webhook_receiver


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_daemon(nursery: trio.Nursery, data_dir: Path):
    data_dir.mkdir(exist_ok=True)
    return await start_daemon(nursery, data_dir, overrides={"server.port": free_port()})


async def test_webhook_via_api_then_queue_survives_restart(tmp_path: Path):
    pytest.importorskip("pulse_storage_sqlite")
    data_dir = tmp_path / "pulse-data"
    async with open_webhook_receiver() as receiver:
        receiver.reply(503, "maintenance", headers={"Retry-After": "3600"})
        async with trio.open_nursery() as nursery:
            daemon = await run_daemon(nursery, data_dir)
            async with httpx.AsyncClient(base_url=daemon.bound_urls[0]) as http:
                response = await http.post("/api/notifications/webhooks", json={
                    "name": "ops", "url": receiver.url + "/hook?token=SECRETTOKEN0000", "service": "generic"})
                assert response.status_code == 201, response.text
                webhook_id = response.json()["id"]
                assert f"webhook:{webhook_id}" in daemon.dispatcher.channels

                notification = Notification("a1:alert:1", "alert", [sample_alert(id="a1")], "Warning", daemon.clock())
                await daemon.dispatcher.send_notification(notification)
                await receiver.wait_for_requests(1)

                async def first_attempt_stored() -> bool:
                    snapshot = (await http.get("/api/notifications/queue")).json()
                    return bool(snapshot["pending"]) and snapshot["pending"][0]["attempts"] == 1

                while not await first_attempt_stored():
                    await trio.sleep(0.02)
                snapshot = (await http.get("/api/notifications/queue")).json()
                assert snapshot["pending"][0]["lastError"].startswith("webhook ops")
                assert "SECRETTOKEN0000" not in str(snapshot)
            daemon.request_shutdown()

        # A new daemon on the same data directory finds the pending delivery in SQLite.
        async with trio.open_nursery() as nursery:
            daemon = await run_daemon(nursery, data_dir)
            [pending] = await daemon.storage.list_deliveries("pending")
            assert pending.attempts == 1
            pending.next_attempt = 0.0
            await daemon.storage.update_delivery(pending)
            daemon.dispatcher.wake()
            await receiver.wait_for_requests(2)
            while (await daemon.storage.list_deliveries("delivered")) == []:
                await trio.sleep(0.02)
            daemon.request_shutdown()
    assert [request.headers["x-pulse-event-id"] for request in receiver.requests] == ["a1:alert:1", "a1:alert:1"]
    assert receiver.requests[1].query == {"token": "SECRETTOKEN0000"}


async def test_settings_change_rebuilds_channels(tmp_path: Path):
    async with trio.open_nursery() as nursery:
        daemon = await run_daemon(nursery, tmp_path / "pulse-data")
        assert not any(channel.startswith("webhook:") for channel in daemon.dispatcher.channels)
        # A write that bypasses the routes (an import, for example) still reaches the dispatcher.
        await daemon.settings.set("notifications_webhooks", [
            {"id": "imported", "name": "imported", "url": "http://127.0.0.1:9/x", "service": "generic"}])
        while "webhook:imported" not in daemon.dispatcher.channels:
            await trio.sleep(0.01)
        daemon.request_shutdown()


async def test_dead_letter_routes(tmp_path: Path):
    async with trio.open_nursery() as nursery:
        daemon = await run_daemon(nursery, tmp_path / "pulse-data")
        async with httpx.AsyncClient(base_url=daemon.bound_urls[0]) as http:
            response = await http.get("/api/notifications/dead-letters")
            assert response.status_code == 200
            assert response.json() == []
            response = await http.post("/api/notifications/dead-letters/nope/retry")
            assert response.status_code == 404
            assert response.json() == {"error": "dead letter 'nope' not found"}
        daemon.request_shutdown()
