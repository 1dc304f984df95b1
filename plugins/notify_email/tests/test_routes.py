"""Email routes: saving with validation, never returning the password, the test email and presets."""

from __future__ import annotations

import pytest

from .conftest import PASSWORD, USER

BASE = {"enabled": True, "server": "127.0.0.1", "from": "pulse@example.test", "to": ["ops@example.test"]}


async def test_tls_and_starttls_both_rejected(client, settings):
    response = await client.post("/api/notifications/email", json={**BASE, "port": 465, "tls": True, "startTLS": True})
    body = await response.get_json()
    assert response.status_code == 400
    assert "TLS and STARTTLS are both switched on; choose one" in body["error"]
    assert body["error"].startswith("security:")
    assert settings.get("notifications_email") is None


async def test_saved_without_password_in_response(client, settings, context):
    response = await client.post("/api/notifications/email", json={**BASE, "security": "starttls", "username": USER, "password": PASSWORD})
    body = await response.get_json()
    assert response.status_code == 200
    assert "password" not in body
    assert body["hasPassword"] is True
    assert body["port"] == 587
    assert context.reloads == [1]
    assert PASSWORD not in settings.path.read_text()
    assert settings.get("notifications_email")["password"] == PASSWORD

    # Saving again without a password keeps the stored one.
    response = await client.post("/api/notifications/email", json={"to": "a@example.test, b@example.test"})
    body = await response.get_json()
    assert body["hasPassword"] is True
    assert body["to"] == ["a@example.test", "b@example.test"]
    fetched = await (await client.get("/api/notifications/email")).get_data(as_text=True)
    assert PASSWORD not in fetched


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"security": "ssl"}, "security: must be one of starttls, tls, none"),
        ({"port": 70000}, "port: must be a number from 1 to 65535"),
        ({"from": "not-an-address"}, "from: 'not-an-address' is not an email address"),
        ({"to": ["ok@example.test", "bad"]}, "to: 'bad' is not an email address"),
        ({"to": []}, "to: missing; add at least one recipient"),
        ({"server": "smtp://host:25"}, "server: 'smtp://host:25' is not a host name"),
        ({"username": "u"}, "password: missing; a username needs a password"),
        ({"replyTo": "x"}, "replyTo: 'x' is not an email address"),
        ({"caFile": "/nonexistent/ca.pem"}, "caFile: /nonexistent/ca.pem is not a readable file"),
    ],
)
async def test_invalid_settings_name_field(client, fields, message):
    response = await client.post("/api/notifications/email", json={**BASE, **fields})
    assert response.status_code == 400
    assert message in (await response.get_json())["error"]


async def test_test_email_reports_server_reply(client, relay_server):
    payload = {**BASE, "port": relay_server.port, "security": "none"}
    response = await client.post("/api/notifications/email/test", json=payload)
    body = await response.get_json()
    assert response.status_code == 200
    assert body["success"] is True
    assert body["status"] == 250
    assert body["response"] == "250 Message accepted for delivery"
    assert len(relay_server.handler.messages) == 1


async def test_test_email_failure_shows_code_and_text(client, starttls_server):
    payload = {**BASE, "port": starttls_server.port, "security": "starttls", "username": USER, "password": "nope",
               "caFile": starttls_server.ca_file}
    response = await client.post("/api/notifications/email/test", json=payload)
    body = await response.get_json()
    assert response.status_code == 502
    assert body["success"] is False
    assert body["status"] == 535
    assert body["response"].startswith("535 ")
    assert "535" in body["error"]
    assert "nope" not in body["error"]


async def test_relay_on_port_25_without_credentials(client, relay_server):
    saved = await client.post("/api/notifications/email", json={**BASE, "security": "none"})
    assert (await saved.get_json())["port"] == 25
    response = await client.post("/api/notifications/email/test", json={"port": relay_server.port})
    assert response.status_code == 200
    [received] = relay_server.handler.messages
    assert not received.authenticated


async def test_providers_list(client):
    providers = await (await client.get("/api/notifications/email-providers")).get_json()
    names = " ".join(item["name"] for item in providers)
    for expected in ("Gmail", "Microsoft 365", "SendGrid", "Mailgun", "Amazon SES", "Postmark", "Brevo",
                     "Fastmail", "Zoho", "SMTP2GO", "Custom"):
        assert expected in names
    assert all(item["security"] in ("starttls", "tls", "none") for item in providers)


async def test_test_email_without_body_uses_saved(client, relay_server):
    await client.post("/api/notifications/email", json={**BASE, "security": "none", "port": relay_server.port})
    response = await client.post("/api/notifications/email/test")
    assert response.status_code == 200
    assert len(relay_server.handler.messages) == 1
