"""Audit actions of writes that change no setting, against a live daemon."""

from __future__ import annotations

import httpx

from pulse_core.daemon import Daemon
from pulse_core.testing.webhook_receiver import open_webhook_receiver


async def test_tests_and_previews_not_config_changes(client: httpx.AsyncClient, live: Daemon) -> None:
    async with open_webhook_receiver() as receiver:
        response = await client.post("/api/notifications/webhooks/test", json={"url": receiver.url + "/hook"})
        assert response.status_code == 200, response.text
    response = await client.post("/api/notifications/webhook-templates/preview", json={"template": '{"a": 1}'})
    assert response.status_code == 200, response.text

    actions = [event["action"] for event in await live.storage.query_audit()]
    assert "webhook.test" in actions
    assert "config.change" not in actions


async def test_saved_setting_still_config_change(client: httpx.AsyncClient, live: Daemon) -> None:
    async with open_webhook_receiver() as receiver:
        response = await client.post("/api/notifications/webhooks", json={"name": "ops", "url": receiver.url + "/hook"})
    assert response.status_code == 201, response.text

    events = await live.storage.query_audit()
    assert [event["section"] for event in events if event["action"] == "config.change"] == ["notifications/webhooks"]
