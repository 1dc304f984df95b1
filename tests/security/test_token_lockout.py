"""Tokens without a password: no change may leave only tokens that cannot set one.

Against a real daemon on 127.0.0.1, which counts as a private address, so the
first token can be created without signing in.
"""

from __future__ import annotations

import httpx

from .conftest import TEST_PASSWORD, TEST_USER, running

READ_ONLY = ["monitoring:read"]
FIX_HINT = "set a password in Settings → Security first"


async def assert_read_only_rejected(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> None:
    for scopes in (READ_ONLY, ["settings:write"], ["monitoring:read", "settings:write"]):
        response = await http.post("/api/security/tokens", headers=headers,
                                   json={"name": "grafana", "scopes": scopes})
        assert response.status_code == 409, scopes
        error = response.json()["error"]
        assert error.startswith("scopes: no password is set"), error
        assert FIX_HINT in error


async def test_read_only_first_token_rejected(tmp_path, clock) -> None:
    async with running(tmp_path, clock) as (daemon, http):
        await assert_read_only_rejected(http)
        assert daemon.settings.get("api_tokens", {}).get("tokens", []) == []
        status = (await http.get("/api/security/status")).json()
        assert status["authConfigured"] is False

        # Once a password is set, read-only tokens work as before.
        changed = await http.post("/api/security/change-password",
                                  json={"username": TEST_USER, "newPassword": TEST_PASSWORD})
        assert changed.status_code == 200
        login = await http.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
        assert login.status_code == 200
        csrf = {"X-CSRF-Token": login.json()["csrfToken"]}
        created = await http.post("/api/security/tokens", headers=csrf,
                                  json={"name": "grafana", "scopes": READ_ONLY})
        assert created.status_code == 201
        assert created.json()["scopes"] == READ_ONLY

        reader = {"X-API-Token": created.json()["token"]}
        http.cookies.clear()
        assert (await http.get("/api/state", headers=reader)).status_code == 200
        assert (await http.get("/api/security/tokens", headers=reader)).status_code == 403


async def test_admin_token_is_way_back_in(tmp_path, clock) -> None:
    async with running(tmp_path, clock) as (_, http):
        await assert_read_only_rejected(http)
        created = await http.post("/api/security/tokens", json={"name": "admin-script", "scopes": ["*"]})
        assert created.status_code == 201
        admin = {"X-API-Token": created.json()["token"]}
        assert (await http.get("/api/security/tokens")).status_code == 401
        login = await http.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
        assert login.status_code == 400
        assert "POST /api/security/change-password with an API token" in login.json()["error"]

        # Next to a * token, a read-only one leaves a way in.
        reader = await http.post("/api/security/tokens", headers=admin,
                                 json={"name": "grafana", "scopes": READ_ONLY})
        assert reader.status_code == 201
        assert (await http.get("/api/state", headers={"X-API-Token": reader.json()["token"]})).status_code == 200

        # The * token sets the first password, and login works after that.
        changed = await http.post("/api/security/change-password", headers=admin,
                                  json={"username": TEST_USER, "newPassword": TEST_PASSWORD})
        assert changed.status_code == 200
        login = await http.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
        assert login.status_code == 200


async def test_last_admin_token_kept(tmp_path, clock) -> None:
    async with running(tmp_path, clock) as (_, http):
        await assert_read_only_rejected(http)
        # The Generate button's endpoint creates a * token, so it stays allowed without a password.
        generated = await http.post("/api/system/api-token/generate")
        assert generated.status_code == 200
        assert generated.json()["scopes"] == ["*"]
        admin = {"X-API-Token": generated.json()["token"]}
        await http.post("/api/security/tokens", headers=admin, json={"name": "grafana", "scopes": READ_ONLY})

        narrowed = await http.put("/api/security/tokens/primary", headers=admin, json={"scopes": READ_ONLY})
        assert narrowed.status_code == 409
        assert FIX_HINT in narrowed.json()["error"]
        for path in ("/api/security/tokens/primary", "/api/system/api-token/delete"):
            deleted = await http.delete(path, headers=admin)
            assert deleted.status_code == 409, path
            assert "deleting this token leaves only tokens without the * scope" in deleted.json()["error"]

        listed = (await http.get("/api/security/tokens", headers=admin)).json()["tokens"]
        assert {token["name"]: token["scopes"] for token in listed} == {"API token": ["*"], "grafana": READ_ONLY}
