"""Write routes reject unknown fields with a 400 that names the field and lists the known ones.

Each test runs against a real daemon serving on 127.0.0.1; no request leaves the machine
because every body is rejected before anything is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from pulse_core.daemon import Daemon

WEBHOOK_KNOWN = ("customFields, enabled, hasSigningSecret, headers, hmacSecret, id, method, name, "
                 "rateLimitPerMinute, service, template, url")
EMAIL_KNOWN = ("caFile, enabled, from, hasPassword, password, port, provider, replyTo, security, server, startTLS, "
               "starttls, tls, to, username")
APPRISE_KNOWN = "enabled, id, name, url"


@pytest.fixture
async def http(live_factory: Callable[..., Awaitable[Daemon]]) -> AsyncIterator[httpx.AsyncClient]:
    daemon = await live_factory()
    async with httpx.AsyncClient(base_url=daemon.bound_urls[0], timeout=30) as client:
        yield client


def error_of(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    return response.json()["error"]


async def test_webhook_create_rejects_unknown_field(http: httpx.AsyncClient) -> None:
    body = {"name": "ops", "url": "http://127.0.0.1:9/hook", "colour": "red"}

    response = await http.post("/api/notifications/webhooks", json=body)

    assert error_of(response) == f"colour: unknown field (known fields: {WEBHOOK_KNOWN})"
    assert (await http.get("/api/notifications/webhooks")).json() == []


async def test_webhook_update_rejects_unknown_field(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/notifications/webhooks", json={"name": "ops", "url": "http://127.0.0.1:9/hook"})
    assert created.status_code == 201, created.text
    document = created.json()

    response = await http.put(f"/api/notifications/webhooks/{document['id']}", json={"name": "new", "colour": "red"})
    assert error_of(response) == f"colour: unknown field (known fields: {WEBHOOK_KNOWN})"
    [stored] = (await http.get("/api/notifications/webhooks")).json()
    assert stored["name"] == "ops"

    # The document the API returned goes back unchanged: its response-only fields are known.
    response = await http.put(f"/api/notifications/webhooks/{document['id']}", json={**document, "name": "renamed"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "renamed"


async def test_webhook_test_and_preview_reject_unknown_field(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/notifications/webhooks/test",
                               json={"url": "http://127.0.0.1:9/hook", "colour": "red"})
    assert error_of(response) == f"colour: unknown field (known fields: {WEBHOOK_KNOWN})"

    response = await http.post("/api/notifications/webhook-templates/preview",
                               json={"template": '{"text": "{{.Message}}"}', "colour": "red"})
    assert error_of(response) == "colour: unknown field (known fields: template)"


async def test_email_routes_reject_unknown_field(http: httpx.AsyncClient) -> None:
    before = (await http.get("/api/notifications/email")).json()

    response = await http.post("/api/notifications/email",
                               json={"server": "127.0.0.1", "from": "pulse@localhost", "to": ["ops@localhost"],
                                     "smtpHost": "127.0.0.1"})
    assert error_of(response) == f"smtpHost: unknown field (known fields: {EMAIL_KNOWN})"
    assert (await http.get("/api/notifications/email")).json() == before

    response = await http.post("/api/notifications/email/test", json={"smtpHost": "127.0.0.1"})
    assert error_of(response) == f"smtpHost: unknown field (known fields: {EMAIL_KNOWN})"


async def test_email_save_accepts_loaded_document(http: httpx.AsyncClient) -> None:
    document = (await http.get("/api/notifications/email")).json()

    response = await http.post("/api/notifications/email", json={**document, "server": "127.0.0.1"})

    assert response.status_code == 200, response.text
    assert response.json()["server"] == "127.0.0.1"


async def test_apprise_routes_reject_unknown_field(http: httpx.AsyncClient) -> None:
    body = {"name": "local", "url": "json://127.0.0.1:9/hook"}
    response = await http.post("/api/notifications/apprise", json={**body, "colour": "red"})
    assert error_of(response) == f"colour: unknown field (known fields: {APPRISE_KNOWN})"
    assert (await http.get("/api/notifications/apprise")).json() == []

    created = await http.post("/api/notifications/apprise", json=body)
    assert created.status_code == 201, created.text
    target_id = created.json()["id"]
    response = await http.put(f"/api/notifications/apprise/{target_id}", json={"colour": "red"})
    assert error_of(response) == f"colour: unknown field (known fields: {APPRISE_KNOWN})"

    response = await http.post("/api/notifications/apprise/test", json={**body, "colour": "red"})
    assert error_of(response) == f"colour: unknown field (known fields: {APPRISE_KNOWN})"


async def test_thresholds_unknown_field_lists_known(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/notifications/thresholds", json={"colour": "red"})
    message = error_of(response)
    assert message.startswith("colour: unknown field (known fields: ")
    assert "defaultDelaySeconds" in message
    assert "guest" in message

    response = await http.post("/api/notifications/thresholds", json={"guest": {"cpu": {"colour": "red"}}})
    assert error_of(response) == "guest.cpu.colour: unknown field (known fields: clear, critical, delaySeconds, trigger)"


async def test_overrides_unknown_field_lists_known(http: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {"overrides": {"pve:100": {"disabled": True, "colour": "red"}}}

    response = await http.post("/api/notifications/thresholds/overrides", json=body)

    assert error_of(response) == "overrides.pve:100.colour: unknown field (known fields: disabled, metrics, note)"
