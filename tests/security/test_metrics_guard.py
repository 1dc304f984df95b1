"""/metrics needs a principal when auth is configured: a session works as well as a token."""

from __future__ import annotations

from .conftest import ENV_TOKEN, TEST_PASSWORD_HASH, TEST_USER
from .test_login import login


async def test_metrics_with_session(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    assert (await env.client.get("/metrics")).status_code == 401

    assert (await login(env.client)).status_code == 200
    response = await env.client.get("/metrics")

    assert response.status_code == 200
    assert "pulse_polls_total" in await response.get_data(as_text=True)


async def test_metrics_with_read_scope_token(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    created = await env.client.post("/api/security/tokens", json={"name": "prometheus", "scopes": ["monitoring:read"]},
                                    headers={"X-API-Token": ENV_TOKEN})
    token = (await created.get_json())["token"]

    response = await env.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


async def test_metrics_open_without_auth(build) -> None:
    env = await build()
    assert (await env.client.get("/metrics")).status_code == 200
