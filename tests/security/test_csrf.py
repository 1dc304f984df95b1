"""CSRF double submit on state-changing requests that carry a session cookie."""

from __future__ import annotations

from .conftest import ENV_TOKEN, TEST_PASSWORD, TEST_PASSWORD_HASH, TEST_USER


async def logged_in(build):
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH, api_token=ENV_TOKEN)
    response = await env.client.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
    csrf = (await response.get_json())["csrfToken"]
    return env, csrf


async def test_csrf_missing_rejected(build) -> None:
    env, _ = await logged_in(build)
    response = await env.client.post("/api/test/settings", json={})
    assert response.status_code == 403
    assert "CSRF token missing" in (await response.get_json())["error"]


async def test_csrf_wrong_rejected(build) -> None:
    env, _ = await logged_in(build)
    response = await env.client.post("/api/test/settings", json={}, headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403
    assert "CSRF token invalid" in (await response.get_json())["error"]


async def test_csrf_missing_with_token_too(build) -> None:
    env, _ = await logged_in(build)
    response = await env.client.post("/api/test/settings", json={}, headers={"X-API-Token": ENV_TOKEN})
    assert response.status_code == 403


async def test_csrf_wrong_with_token_too(build) -> None:
    env, _ = await logged_in(build)
    response = await env.client.post(
        "/api/test/settings", json={}, headers={"X-API-Token": ENV_TOKEN, "X-CSRF-Token": "forged"}
    )
    assert response.status_code == 403


async def test_csrf_valid_accepted(build) -> None:
    env, csrf = await logged_in(build)
    response = await env.client.post("/api/test/settings", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200


async def test_csrf_other_session_token_rejected(build) -> None:
    # A matching cookie and header pair that was issued to another session does not pass.
    env, _ = await logged_in(build)
    other = env.app.test_client()
    response = await other.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
    other_csrf = (await response.get_json())["csrfToken"]
    env.client.set_cookie("localhost", "pulse_csrf", other_csrf)
    response = await env.client.post("/api/test/settings", json={}, headers={"X-CSRF-Token": other_csrf})
    assert response.status_code == 403
    assert "does not belong to this session" in (await response.get_json())["error"]


async def test_token_only_needs_no_csrf(build) -> None:
    env, _ = await logged_in(build)
    fresh = env.app.test_client()
    for headers in ({"X-API-Token": ENV_TOKEN}, {"Authorization": f"Bearer {ENV_TOKEN}"}):
        response = await fresh.post("/api/test/settings", json={}, headers=headers)
        assert response.status_code == 200, headers


async def test_get_needs_no_csrf(build) -> None:
    env, _ = await logged_in(build)
    assert (await env.client.get("/api/security/tokens")).status_code == 200
