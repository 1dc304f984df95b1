"""Security headers on every response, against a real Hypercorn server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pulse_core.errors import ConfigError
from pulse_core.security.headers import SecurityHeaders

from .conftest import TEST_PASSWORD, TEST_PASSWORD_HASH, TEST_USER, running

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response.headers["Permissions-Policy"]


async def test_headers_on_200_404_500(tmp_path, clock) -> None:
    async with running(tmp_path, clock) as (_, http):
        ok = await http.get("/api/health")
        assert ok.status_code == 200
        assert_security_headers(ok)
        missing = await http.get("/api/no-such-endpoint")
        assert missing.status_code == 404
        assert_security_headers(missing)
        failed = await http.get("/api/test/boom")
        assert failed.status_code == 500
        assert failed.json() == {"error": "internal server error"} or "error" in failed.json()
        assert_security_headers(failed)


async def test_headers_on_401_and_429(tmp_path, clock) -> None:
    async with running(tmp_path, clock, user=TEST_USER, password=TEST_PASSWORD_HASH) as (_, http):
        denied = await http.get("/api/security/tokens")
        assert denied.status_code == 401
        assert_security_headers(denied)
        for _ in range(10):
            await http.post("/api/login", json={"username": "nobody", "password": "x"})
        limited = await http.post("/api/login", json={"username": "nobody", "password": "x"})
        assert limited.status_code == 429
        assert_security_headers(limited)
        assert limited.headers["Retry-After"]


async def test_login_over_http(tmp_path, clock) -> None:
    async with running(tmp_path, clock, user=TEST_USER, password=TEST_PASSWORD_HASH) as (_, http):
        response = await http.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
        assert response.status_code == 200
        assert http.cookies.get("pulse_session")
        csrf = http.cookies["pulse_csrf"]
        assert (await http.get("/api/security/tokens")).status_code == 200
        assert (await http.post("/api/test/settings", json={})).status_code == 403
        ok = await http.post("/api/test/settings", json={}, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200


async def test_loopback_export_without_auth(tmp_path, clock) -> None:
    async with running(tmp_path, clock) as (daemon, http):
        response = await http.post("/api/config/export", json={})
        assert response.status_code not in (401, 403, 429)
        events = await daemon.storage.query_audit()
        assert events[0]["client"] == "127.0.0.1"


def test_embedding_uses_frame_ancestors() -> None:
    headers: dict[str, str] = {}
    SecurityHeaders(True, ["https://dash.example.com"]).apply(headers, https=False, api=False)
    assert "X-Frame-Options" not in headers
    assert "frame-ancestors 'self' https://dash.example.com" in headers["Content-Security-Policy"]


def test_embedding_origin_invalid() -> None:
    with pytest.raises(ConfigError) as caught:
        SecurityHeaders(True, ["dash.example.com; script-src *"])
    assert caught.value.problems[0].startswith("server.embedding_origins.0:")


def leaf_exceptions(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for child in group.exceptions for leaf in leaf_exceptions(child)]
    return [group]


async def websocket_status(client: Any, headers: dict[str, str] | None = None) -> int:
    """Open /ws and return 101 when accepted, else the status the handshake was refused with."""
    from quart.testing.connections import WebsocketResponseError

    try:
        async with client.websocket("/ws", headers=headers) as ws:
            await ws.receive()
    except BaseExceptionGroup as group:
        refused = [leaf for leaf in leaf_exceptions(group) if isinstance(leaf, WebsocketResponseError)]
        if not refused:
            raise
        return int(refused[0].response.status_code)
    except WebsocketResponseError as exc:
        return int(exc.response.status_code)
    return 101


async def test_websocket_needs_auth(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    assert await websocket_status(env.client) == 401
    await env.client.post("/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD})
    assert await websocket_status(env.client) == 101


async def test_websocket_cross_site_origin_rejected(build) -> None:
    env = await build()
    assert await websocket_status(env.client, {"Origin": "https://evil.example"}) == 403
    assert await websocket_status(env.client, {"Origin": "http://localhost"}) == 101
