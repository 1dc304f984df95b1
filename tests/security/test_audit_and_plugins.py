"""The audit endpoint, config-change events, proxy header auth and third-party authenticators."""

from __future__ import annotations

from typing import Any

from pulse_core import Principal, hookimpl

from .conftest import ENV_TOKEN, TEST_PASSWORD, TEST_PASSWORD_HASH, TEST_USER, client_scope


async def test_audit_endpoint_lists_newest_first(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH, api_token=ENV_TOKEN)
    await env.client.post("/api/login", json={"username": TEST_USER, "password": "bad"},
                          scope_base=client_scope("192.168.1.30"))
    await env.client.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD},
                          scope_base=client_scope("192.168.1.30"))
    headers = {"X-API-Token": ENV_TOKEN}
    response = await env.client.get("/api/security/audit", headers=headers)
    events = (await response.get_json())["events"]
    assert [e["action"] for e in events[:2]] == ["login.success", "login.failure"]
    assert events[0]["client"] == "192.168.1.30"
    assert events[0]["actor"] == TEST_USER
    limited = await (await env.client.get("/api/security/audit", query_string={"limit": "1"},
                                          headers=headers)).get_json()
    assert len(limited["events"]) == 1


async def test_audit_endpoint_bad_limit(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    headers = {"X-API-Token": ENV_TOKEN}
    for value, expected in (("many", "not a whole number"), ("0", "out of range"), ("5000", "out of range")):
        response = await env.client.get("/api/security/audit", query_string={"limit": value}, headers=headers)
        assert response.status_code == 400, value
        assert expected in (await response.get_json())["error"], value
    response = await env.client.get("/api/security/audit", query_string={"before": "yesterday"}, headers=headers)
    assert response.status_code == 400
    assert (await response.get_json())["error"].startswith("before:")


async def test_audit_needs_auth_when_configured(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    assert (await env.client.get("/api/security/audit")).status_code == 401


async def test_config_change_audited(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    await env.client.post("/api/test/settings", json={"url": "https://x.invalid/key"},
                          headers={"X-API-Token": ENV_TOKEN}, scope_base=client_scope("10.1.1.1"))
    event = (await env.daemon.storage.query_audit())[0]
    assert event["action"] == "config.change"
    assert event["section"] == "test/settings"
    assert event["actor"] == "token:API_TOKEN"
    assert event["client"] == "10.1.1.1"
    assert event["method"] == "POST"


async def test_failed_write_not_audited(build) -> None:
    env = await build(api_token=ENV_TOKEN)
    await env.client.post("/api/test/settings", json={})
    assert await env.daemon.storage.query_audit() == []


async def test_proxy_header_auth_from_trusted_proxy(build) -> None:
    env = await build(proxy_auth_header="X-Remote-User", server={"trusted_proxies": ["10.0.0.2"]})
    trusted = await env.client.get("/api/security/tokens", headers={"X-Remote-User": "alice"},
                                   scope_base=client_scope("10.0.0.2"))
    assert trusted.status_code == 200
    assert "pulse_csrf=" in trusted.headers.get("Set-Cookie", "")
    spoofed = await env.client.get("/api/security/tokens", headers={"X-Remote-User": "alice"},
                                   scope_base=client_scope("203.0.113.2"))
    assert spoofed.status_code == 401


async def test_proxy_auth_write_needs_csrf(build) -> None:
    env = await build(proxy_auth_header="X-Remote-User", server={"trusted_proxies": ["10.0.0.2"]})
    response = await env.client.post("/api/test/settings", json={}, headers={"X-Remote-User": "alice"},
                                     scope_base=client_scope("10.0.0.2"))
    assert response.status_code == 403


class HeaderKeyPlugin:
    """A third-party authenticator, registered through the same hook as the built-in ones."""

    @hookimpl
    def pulse_authenticators(self, context: Any) -> list[Any]:
        return [BrokenAuthenticator(), HeaderKeyAuthenticator()]


class BrokenAuthenticator:
    name = "broken"

    async def authenticate(self, request: Any) -> Principal | None:
        raise RuntimeError("plugin bug")


class HeaderKeyAuthenticator:
    name = "header-key"

    async def authenticate(self, request: Any) -> Principal | None:
        if request.headers.get("X-Plugin-Key") == "plugin-key-1":
            return Principal(name="plugin-user", method="plugin", scopes=frozenset({"monitoring:read"}))
        return None


async def test_plugin_authenticator_used(build, tmp_path) -> None:
    from pulse_core.web.app import create_app

    from .conftest import make_daemon

    daemon = make_daemon(tmp_path / "plugin", api_token=ENV_TOKEN)
    daemon.plugins.register_module(HeaderKeyPlugin(), "header-key-auth", distribution="pulse-tests")
    await daemon.storage.open()
    client = create_app(daemon).test_client()
    ok = await client.get("/api/security/status", headers={"X-Plugin-Key": "plugin-key-1"})
    status = await ok.get_json()
    assert status["authenticated"] is True
    assert status["username"] == "plugin-user"
    # Scopes from the plugin's principal apply.
    assert (await client.get("/api/security/tokens", headers={"X-Plugin-Key": "plugin-key-1"})).status_code == 403
    # The broken authenticator is skipped and does not turn requests into 500s.
    assert (await client.get("/api/security/tokens")).status_code == 401
