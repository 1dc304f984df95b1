"""Access to export and import by address class, auth configuration and forwarding headers."""

from __future__ import annotations

import pytest

from .conftest import ENV_TOKEN, TEST_PASSWORD_HASH, TEST_USER, client_scope

PRIVATE = ["127.0.0.1", "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.255", "192.168.1.20",
           "::1", "fc00::1", "fd12:3456:789a::1", "fe80::1"]


def passed_gate(response) -> bool:
    """True when the access rule let the request through (the endpoint itself may still reject the body)."""
    return response.status_code not in (401, 403, 429)


PUBLIC = ["172.32.0.1", "203.0.113.50", "8.8.8.8", "2001:db8::1", "2a00:1450::1"]


@pytest.mark.parametrize("address", PRIVATE)
async def test_export_without_auth_private_allowed(build, address: str) -> None:
    env = await build()
    for path in ("/api/config/export", "/api/config/import"):
        response = await env.client.post(path, json={}, scope_base=client_scope(address))
        assert passed_gate(response), (path, address)


@pytest.mark.parametrize("address", PUBLIC)
async def test_export_without_auth_public_rejected(build, address: str) -> None:
    env = await build()
    response = await env.client.post("/api/config/export", json={}, scope_base=client_scope(address))
    assert response.status_code == 403
    body = await response.get_json()
    assert "ALLOW_UNPROTECTED_EXPORT" in body["error"]


@pytest.mark.parametrize("address", PUBLIC)
async def test_export_public_with_allow_unprotected(build, address: str) -> None:
    env = await build(allow_unprotected_export=True)
    response = await env.client.post("/api/config/export", json={}, scope_base=client_scope(address))
    assert passed_gate(response)


@pytest.mark.parametrize("address", PUBLIC)
async def test_import_public_never_without_auth(build, address: str) -> None:
    env = await build(allow_unprotected_export=True)
    response = await env.client.post("/api/config/import", json={}, scope_base=client_scope(address))
    assert response.status_code == 403


@pytest.mark.parametrize("address", PRIVATE + PUBLIC)
async def test_export_with_password_needs_auth(build, address: str) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH, allow_unprotected_export=True)
    for path in ("/api/config/export", "/api/config/import"):
        response = await env.client.post(path, json={}, scope_base=client_scope(address))
        assert response.status_code == 401, (path, address)


@pytest.mark.parametrize("address", PRIVATE + PUBLIC)
async def test_export_with_token_configured_needs_auth(build, address: str) -> None:
    env = await build(api_token=ENV_TOKEN)
    response = await env.client.post("/api/config/export", json={}, scope_base=client_scope(address))
    assert response.status_code == 401
    allowed = await env.client.post(
        "/api/config/export", json={}, headers={"X-API-Token": ENV_TOKEN}, scope_base=client_scope(address)
    )
    assert passed_gate(allowed)


async def test_export_query_token_allowed(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    response = await env.client.post(
        "/api/config/export", json={}, query_string={"token": ENV_TOKEN}, scope_base=client_scope("203.0.113.5")
    )
    assert passed_gate(response)


async def test_query_token_rejected_elsewhere(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    response = await env.client.get("/api/security/tokens", query_string={"token": ENV_TOKEN})
    assert response.status_code == 401


async def test_public_peer_forwarding_private_needs_auth(build) -> None:
    env = await build()
    response = await env.client.post(
        "/api/config/export", json={}, headers={"X-Forwarded-For": "192.168.1.20"},
        scope_base=client_scope("203.0.113.50"),
    )
    assert response.status_code == 403


async def test_untrusted_private_hop_not_private(build) -> None:
    # A private peer that is not a trusted proxy but forwards for someone: the origin is unknown.
    env = await build()
    response = await env.client.post(
        "/api/config/export", json={}, headers={"X-Forwarded-For": "203.0.113.8"},
        scope_base=client_scope("192.168.1.2"),
    )
    assert response.status_code == 403


async def test_trusted_proxy_public_client_rejected(build) -> None:
    env = await build(server={"trusted_proxies": ["10.0.0.2"]})
    response = await env.client.post(
        "/api/config/export", json={}, headers={"X-Forwarded-For": "192.168.1.20, 203.0.113.50"},
        scope_base=client_scope("10.0.0.2"),
    )
    assert response.status_code == 403
    events = await env.daemon.storage.query_audit()
    assert events[0]["action"] == "config.export"
    assert events[0]["client"] == "203.0.113.50"
    assert events[0]["status"] == 403


async def test_trusted_proxy_private_client_allowed(build) -> None:
    env = await build(server={"trusted_proxies": ["10.0.0.2"]})
    response = await env.client.post(
        "/api/config/export", json={}, headers={"X-Forwarded-For": "192.168.1.20"},
        scope_base=client_scope("10.0.0.2"),
    )
    assert passed_gate(response)


async def test_private_exemption_switched_off(build) -> None:
    env = await build(private_network_export=False)
    response = await env.client.post("/api/config/export", json={}, scope_base=client_scope("192.168.1.20"))
    assert response.status_code == 403
    body = await response.get_json()
    assert "private_network_export" in body["error"]


async def test_export_audited_with_client(build) -> None:
    env = await build()
    await env.client.post("/api/config/export", json={}, scope_base=client_scope("192.168.1.20"))
    await env.client.post("/api/config/import", json={}, scope_base=client_scope("10.0.0.9"))
    events = await env.daemon.storage.query_audit()
    assert [e["action"] for e in events] == ["config.import", "config.export"]
    assert events[0]["client"] == "10.0.0.9"
    assert events[1]["client"] == "192.168.1.20"
    assert events[1]["actor"] == "anonymous"
