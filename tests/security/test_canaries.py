"""Secrets never show up in logs, API responses or audit entries."""

from __future__ import annotations

import logging
from typing import Any

from .conftest import ENV_TOKEN, TEST_PASSWORD, TEST_USER, client_scope

NODE_PASSWORD = "canary-nodepass-41c9e2"
NODE_TOKEN = "canary-nodetoken-0b77aa91-5e2d"
WEBHOOK_URL = "https://hooks.example.invalid/services/T000/B000/canary-webhookkey-9d1f"
NEW_PASSWORD = "canary-NewPassword-3e8b"
WRONG_TOKEN = "canary-wrongtoken-77aa"

CANARIES = [TEST_PASSWORD, ENV_TOKEN, NODE_PASSWORD, NODE_TOKEN, "canary-webhookkey-9d1f", NEW_PASSWORD,
            WRONG_TOKEN]


async def test_secrets_never_leak(build, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    env = await build(user=TEST_USER, password=TEST_PASSWORD, api_token=ENV_TOKEN)
    await env.daemon.settings.set("nodes", [{
        "id": "pve1", "type": "pve", "name": "pve1", "host": "https://127.0.0.1:1",
        "user": "monitor@pve", "password": NODE_PASSWORD, "token_name": "pulse", "token_value": NODE_TOKEN,
    }])
    await env.daemon.settings.set("notifications", {"webhooks": [{"name": "chat", "url": WEBHOOK_URL}]})
    client = env.client
    bodies: list[str] = []

    async def call(method: str, path: str, **kwargs: Any) -> Any:
        response = await client.open(path, method=method, **kwargs)
        bodies.append(await response.get_data(as_text=True))
        bodies.append(repr([(k, v) for k, v in response.headers.items() if k.lower() != "set-cookie"]))
        return response

    await call("POST", "/api/login", json={"username": TEST_USER, "password": "wrong-" + TEST_PASSWORD})
    await call("POST", "/api/login", json={"username": TEST_PASSWORD, "password": TEST_PASSWORD})
    login = await call("POST", "/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
    csrf = (await login.get_json())["csrfToken"]
    headers = {"X-CSRF-Token": csrf}
    await call("GET", "/api/security/status")
    await call("GET", "/api/system/api-token")
    await call("GET", "/api/security/tokens")
    await call("POST", "/api/test/settings", json={"webhook": WEBHOOK_URL, "password": NODE_PASSWORD},
               headers=headers)
    await call("POST", "/api/config/export", json={}, query_string={"token": WRONG_TOKEN},
               scope_base=client_scope("203.0.113.9"))
    await call("GET", "/api/security/tokens", headers={"X-API-Token": WRONG_TOKEN})
    await call("POST", "/api/security/change-password", headers=headers,
               json={"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD})
    await call("POST", "/api/security/change-password", headers=headers,
               json={"currentPassword": "wrong-" + NEW_PASSWORD, "newPassword": NEW_PASSWORD + "x"})
    await call("GET", "/api/state")
    await call("GET", "/api/security/audit")
    audit_events = await env.daemon.storage.query_audit(limit=1000)
    assert len(audit_events) >= 6

    for canary in CANARIES:
        assert canary not in caplog.text, canary
        for body in bodies:
            assert canary not in body, (canary, body[:200])
        assert canary not in repr(audit_events), canary
    # Secrets in the settings file are encrypted at rest.
    raw_settings = env.daemon.settings.path.read_text()
    for canary in (NODE_PASSWORD, NODE_TOKEN, "canary-webhookkey-9d1f"):
        assert canary not in raw_settings, canary
