"""The apprise notifier against apprise's generic JSON target pointed at a loopback receiver."""

from __future__ import annotations

import logging

from pulse_core.model import Notification
from pulse_core.notify.templates import sample_alert
from pulse_notify_apprise.channel import AppriseNotifier, AppriseNotifierType
from pulse_notify_apprise.config import AppriseTarget


def notification(event="alert", level="critical"):
    alert = sample_alert(level=level, resolved_time=1_700_000_600.0 if event == "resolved" else None)
    return Notification("n1", event, [alert], "Critical: web-01 cpu", 1_700_000_300.0)


async def test_json_target_receives_alert(receiver):
    target = AppriseTarget(id="t1", name="json", url=f"json://127.0.0.1:{receiver.url.rsplit(':', 1)[1]}/pulse/hook")
    result = await AppriseNotifier(target).send(notification())
    assert result.ok
    [request] = receiver.requests
    assert request.path == "/pulse/hook"
    body = request.json()
    assert body["title"] == "Critical: web-01 cpu"
    assert body["type"] == "failure"
    assert "[CRITICAL] web-01 (pve1): VM web-01 CPU at 92%" in body["message"]


async def test_resolved_maps_to_success(receiver):
    target = AppriseTarget(id="t1", name="json", url=f"json://127.0.0.1:{receiver.url.rsplit(':', 1)[1]}/x")
    await AppriseNotifier(target).send(notification("resolved"))
    assert receiver.requests[0].json()["type"] == "success"


async def test_failure_reports_status_without_secret(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.reply(500, "server exploded")
    port = receiver.url.rsplit(":", 1)[1]
    target = AppriseTarget(id="t1", name="json", url=f"json://user:SECRETPW0000@127.0.0.1:{port}/hook/SECRETPATH0000")
    result = await AppriseNotifier(target).send(notification())
    assert not result.ok
    assert result.retryable
    assert "500" in result.error
    assert receiver.requests[0].path == "/hook/SECRETPATH0000"
    for text in (result.error, result.response, caplog.text):
        assert "SECRETPW0000" not in text
        assert "SECRETPATH0000" not in text


def test_channels_only_enabled_targets(settings):
    settings.set_sync("notifications_apprise", [
        {"id": "a", "name": "on", "url": "json://127.0.0.1:9/x", "enabled": True},
        {"id": "b", "name": "off", "url": "json://127.0.0.1:9/y", "enabled": False},
    ])
    assert [channel.id for channel in AppriseNotifierType().channels(settings)] == ["apprise:a"]


async def test_api_create_test_and_redact(client, receiver, settings):
    port = receiver.url.rsplit(":", 1)[1]
    url = f"json://user:SECRETPW0000@127.0.0.1:{port}/hook"
    response = await client.post("/api/notifications/apprise", json={"name": "hook", "url": url})
    created = await response.get_json()
    assert response.status_code == 201
    assert "SECRETPW0000" not in created["url"]
    assert "SECRETPW0000" not in settings.path.read_text()

    response = await client.post("/api/notifications/apprise/test", json={"id": created["id"]})
    assert response.status_code == 200
    assert receiver.requests[-1].headers["authorization"].startswith("Basic ")

    # Sending back the private URL keeps the stored one.
    response = await client.put(f"/api/notifications/apprise/{created['id']}", json={**created, "name": "renamed"})
    assert response.status_code == 200
    assert settings.get("notifications_apprise")[0]["url"] == url


async def test_api_rejects_unknown_scheme(client):
    response = await client.post("/api/notifications/apprise", json={"name": "x", "url": "nosuchservice://abc"})
    assert response.status_code == 400
    assert "url: apprise cannot use this URL (scheme 'nosuchservice')" in (await response.get_json())["error"]
    response = await client.post("/api/notifications/apprise", json={"url": "json://127.0.0.1/x"})
    assert "name: missing" in (await response.get_json())["error"]
