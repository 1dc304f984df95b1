"""API tokens: environment token, the primary UI token and named tokens with scopes."""

from __future__ import annotations

from .conftest import ENV_TOKEN, client_scope


async def test_env_token_header_and_bearer(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    assert (await env.client.get("/api/security/tokens")).status_code == 401
    for headers in ({"X-API-Token": ENV_TOKEN}, {"Authorization": f"Bearer {ENV_TOKEN}"}):
        assert (await env.client.get("/api/security/tokens", headers=headers)).status_code == 200


async def test_invalid_token_rejected(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    response = await env.client.get("/api/security/tokens", headers={"X-API-Token": ENV_TOKEN + "x"})
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "invalid API token"


async def test_generate_reveal_delete(build) -> None:
    env = await build()
    status = await (await env.client.get("/api/system/api-token")).get_json()
    assert status == {"hasToken": False}
    generated = await env.client.post("/api/system/api-token/generate", scope_base=client_scope("192.168.1.3"))
    assert generated.status_code == 200
    token = (await generated.get_json())["token"]
    headers = {"X-API-Token": token}

    # Auth is configured now: the token is needed.
    assert (await env.client.get("/api/system/api-token")).status_code == 401
    status = await (await env.client.get("/api/system/api-token", headers=headers)).get_json()
    assert status["hasToken"] is True
    assert "token" not in status
    revealed = await env.client.get("/api/system/api-token", query_string={"reveal": "true"}, headers=headers)
    assert (await revealed.get_json())["token"] == token

    raw_settings = env.daemon.settings.path.read_text()
    assert token not in raw_settings  # encrypted at rest

    deleted = await env.client.delete("/api/system/api-token/delete", headers=headers)
    assert deleted.status_code == 200
    assert (await env.client.get("/api/system/api-token")).status_code == 200
    actions = [event["action"] for event in await env.daemon.storage.query_audit()]
    assert actions[:3] == ["token.deleted", "token.revealed", "token.generated"]


async def test_generate_from_public_without_auth_rejected(build) -> None:
    env = await build()
    response = await env.client.post("/api/system/api-token/generate", scope_base=client_scope("203.0.113.4"))
    assert response.status_code == 403


async def test_reveal_needs_auth_from_public(build) -> None:
    env = await build(api_token=ENV_TOKEN, allow_unprotected_export=True)
    response = await env.client.get("/api/system/api-token", query_string={"reveal": "true"},
                                    scope_base=client_scope("203.0.113.4"))
    assert response.status_code == 401
    assert ENV_TOKEN not in (await response.get_data(as_text=True))


async def test_env_token_cannot_be_deleted(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    response = await env.client.delete("/api/system/api-token/delete", headers={"X-API-Token": ENV_TOKEN})
    assert response.status_code == 409
    assert "API_TOKEN environment variable" in (await response.get_json())["error"]


async def test_named_token_scopes(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    admin = {"X-API-Token": ENV_TOKEN}
    created = await env.client.post("/api/security/tokens", json={"name": "grafana", "scopes": ["monitoring:read"]},
                                    headers=admin)
    assert created.status_code == 201
    reader = {"X-API-Token": (await created.get_json())["token"]}
    writer_response = await env.client.post(
        "/api/security/tokens", json={"name": "automation", "scopes": ["settings:write"]}, headers=admin
    )
    writer = {"X-API-Token": (await writer_response.get_json())["token"]}

    assert (await env.client.get("/api/health", headers=reader)).status_code == 200
    assert (await env.client.get("/api/security/status", headers=reader)).status_code == 200
    denied = await env.client.post("/api/test/settings", json={}, headers=reader)
    assert denied.status_code == 403
    assert "settings:write" in (await denied.get_json())["error"]
    assert (await env.client.post("/api/test/settings", json={}, headers=writer)).status_code == 200
    # Token management needs the full scope.
    assert (await env.client.get("/api/security/tokens", headers=writer)).status_code == 403
    assert (await env.client.post("/api/config/export", json={}, headers=writer)).status_code == 403

    listed = await (await env.client.get("/api/security/tokens", headers=admin)).get_json()
    assert [item["name"] for item in listed["tokens"]] == ["API_TOKEN", "grafana", "automation"]
    assert all("token" not in item for item in listed["tokens"])


async def test_named_token_validation(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    admin = {"X-API-Token": ENV_TOKEN}
    cases = [
        ({"name": "", "scopes": ["*"]}, "name:"),
        ({"name": "x", "scopes": []}, "scopes:"),
        ({"name": "x", "scopes": ["root"]}, "unknown scope 'root'"),
        ({"name": "x" * 65, "scopes": ["*"]}, "too long"),
    ]
    for body, expected in cases:
        response = await env.client.post("/api/security/tokens", json=body, headers=admin)
        assert response.status_code == 400, body
        assert expected in (await response.get_json())["error"], body
    await env.client.post("/api/security/tokens", json={"name": "ci", "scopes": ["*"]}, headers=admin)
    duplicate = await env.client.post("/api/security/tokens", json={"name": "CI", "scopes": ["*"]}, headers=admin)
    assert duplicate.status_code == 409


async def test_named_token_update_reveal_delete(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    admin = {"X-API-Token": ENV_TOKEN}
    created = await (await env.client.post("/api/security/tokens", json={"name": "ci", "scopes": ["*"]},
                                           headers=admin)).get_json()
    token_id = created["id"]
    updated = await env.client.put(f"/api/security/tokens/{token_id}",
                                   json={"scopes": ["monitoring:read"]}, headers=admin)
    assert (await updated.get_json())["scopes"] == ["monitoring:read"]
    revealed = await env.client.get(f"/api/security/tokens/{token_id}", query_string={"reveal": "1"},
                                    headers=admin)
    assert (await revealed.get_json())["token"] == created["token"]
    assert (await env.client.delete(f"/api/security/tokens/{token_id}", headers=admin)).status_code == 200
    public_response = await env.client.get("/api/health", headers={"X-API-Token": created["token"]})
    assert public_response.status_code == 200  # a public path ignores a token that no longer matches
    assert (await env.client.get("/api/security/tokens",
                                 headers={"X-API-Token": created["token"]})).status_code == 401
    missing = await env.client.delete(f"/api/security/tokens/{token_id}", headers=admin)
    assert missing.status_code == 404
